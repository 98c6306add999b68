// What a UI scenario gets from the runner, and what it is.
import type {CodeServer} from "../harness/code-server.js";
import type {Workbench} from "../harness/workbench.js";

export type ScenarioContext = {
    workbench: Workbench;
    server: CodeServer;
    /** Absolute path of ../shared/models/stories260K.gguf, the model layerDial.model is set to. */
    modelPath: string;
    /** The running server's user settings.json (the Settings editor writes it). */
    userSettingsFile: string;
    /** The run's LAYER_DIAL_E2E_RUN marker: findMarkedProcesses(runMarker) lists what this run started (engine hosts, extension host). */
    runMarker: string;
    /** Saves test/.output/e2e/<scenario>[-<suffix>].png and records it for the report. */
    screenshot: (suffix?: string) => Promise<string>;
};

export type Scenario = {
    /** A file-name-safe name; it also names the screenshots. */
    name: string;
    /** One line for the report. */
    description: string;
    run: (context: ScenarioContext) => Promise<void>;
};
