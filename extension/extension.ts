// Layer Dial's entry point. activate() only wires: it creates the log, the session (which starts no
// process and loads no model until a command needs one), the status bar and the commands. Everything
// it creates is owned by context.subscriptions.
import path from "node:path";
import * as vscode from "vscode";
import {calibrateModel} from "./commands/calibrate-command.js";
import {CompletionStatusBar, loadModel, pickCompletionSpeedLevel, toggleCompletion} from "./completion/completion-status.js";
import {enableCuda, vscodeEnableCudaUi} from "./commands/enable-cuda-command.js";
import {EngineSession} from "./engine-session.js";
import {GenerateAtCursorCommand} from "./commands/generate-command.js";
import {COMPLETION_SELECTOR, InlineCompletions} from "./completion/inline-completion.js";
import {downloadRecommendedModel, selectModel} from "./models/model-commands.js";
import {reportError} from "./report-error.js";
import {SerialQueue} from "./serial-queue.js";
import {SPEED_PANEL_VIEW_TYPE, SpeedPanelManager} from "./panel/speed-panel.js";
import {pickSpeedLevel, SpeedStatusBar} from "./status-bar.js";
import {SummarizeCommand} from "./commands/summarize-command.js";
import {openSummarizeSample} from "./commands/summarize-sample.js";

let session: EngineSession | undefined;

export function activate(context: vscode.ExtensionContext): void {
    const started = performance.now();
    const log = vscode.window.createOutputChannel("Layer Dial", {log: true});
    const modelsDirectory = path.join(context.globalStorageUri.fsPath, "models");
    const backendsDirectory = path.join(context.globalStorageUri.fsPath, "backends");
    const engine = new EngineSession({
        extensionPath: context.extensionPath,
        modelsDirectory,
        calibrationDirectory: path.join(context.globalStorageUri.fsPath, "calibration"),
        backendsDirectory,
        log
    });
    session = engine;
    const queue = new SerialQueue();
    const panels = new SpeedPanelManager(context.extensionUri, engine, log, modelsDirectory);
    const summarize = new SummarizeCommand(engine, queue, log);
    const generate = new GenerateAtCursorCommand(engine, queue, log);
    const completions = new InlineCompletions(engine, log);

    /** every command reports its own failures; none throws into VS Code's generic error toast */
    const command = (id: string, title: string, run: (...args: unknown[]) => Promise<unknown> | unknown) =>
        vscode.commands.registerCommand(id, async (...args: unknown[]) => {
            try {
                await run(...args);
            } catch (error) {
                reportError(error, log, title);
            }
        });

    context.subscriptions.push(
        log,
        engine,
        panels,
        new SpeedStatusBar(engine),
        completions,
        new CompletionStatusBar(engine, completions),
        vscode.languages.registerInlineCompletionItemProvider(COMPLETION_SELECTOR, completions),
        vscode.window.registerWebviewPanelSerializer(SPEED_PANEL_VIEW_TYPE, panels),
        command("layerDial.summarizeSelection", "Summarize Selection", () => summarize.run()),
        // the walkthrough's sample to summarize; not in the palette (the manifest does not declare it)
        command("layerDial.openSummarizeSample", "Open a Sample", () => openSummarizeSample(context.extensionUri)),
        command("layerDial.generateAtCursor", "Generate at Cursor", () => generate.run()),
        command("layerDial.setSpeedLevel", "Set Speed Level", () => pickSpeedLevel(engine)),
        command("layerDial.openSpeedPanel", "Open Speed Panel", () => panels.createOrShow()),
        command("layerDial.selectModel", "Select Model", () => selectModel(modelsDirectory, log)),
        // a URI argument is checked there, and never skips the confirmation of size and source
        command("layerDial.downloadRecommendedModel", "Download Model", (uri) => downloadRecommendedModel({modelsDirectory, log, session: engine}, uri)),
        command("layerDial.stopGeneration", "Stop Generation", () => {
            if (engine.stopAll() === 0) void vscode.window.setStatusBarMessage("Layer Dial: nothing is running", 3000);
        }),
        command("layerDial.calibrateModel", "Calibrate Model", () => calibrateModel(engine, queue)),
        command("layerDial.loadModel", "Load Model", () => loadModel(engine)),
        command("layerDial.toggleCompletion", "Toggle Inline Completion", () => toggleCompletion(completions)),
        command("layerDial.setCompletionSpeedLevel", "Set Inline Completion Speed Level", () => pickCompletionSpeedLevel(completions)),
        command("layerDial.restartEngine", "Restart Engine", () => engine.restart()),
        // takes no arguments: nothing lets a caller skip its confirmation
        command("layerDial.enableCuda", "Enable CUDA", () =>
            enableCuda({
                extensionPath: context.extensionPath,
                backendsDirectory,
                ui: vscodeEnableCudaUi(vscode),
                log,
                checkCuda: () => engine.checkCuda()
            })
        )
    );
    log.info(`Layer Dial activated in ${(performance.now() - started).toFixed(1)} ms (no model loaded, no engine started)`);
}

/** Stops the engine host; VS Code waits for the returned promise. */
export async function deactivate(): Promise<void> {
    const current = session;
    session = undefined;
    await current?.stop();
}
