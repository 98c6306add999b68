// Layer Dial end to end, offline: packages the VSIX, installs it into an isolated code-server 4.100.3,
// runs the mocha suite inside the extension host (development mode, through the workbench URL's
// payload), then the UI scenarios through the real workbench in chromium, and stops everything it
// started. Ends with `e2e: N passed, N failed`; exits non-zero when anything failed.
//
//   npm run test:e2e [-- --vsix <file>] [--only <text>] [--no-suite] [--no-ui] [--keep]
//     --vsix   use this VSIX instead of running `npm run package`
//     --only   run only the scenarios / suite files whose name contains <text>
//     --keep   keep the temp folder (code-server's user data and logs) and print where it is
import {randomUUID} from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import {parseArgs} from "node:util";
import type {Browser} from "playwright-core";
import {launchChromium} from "./harness/browser.js";
import {buildSuite, SUITE_ENTRY} from "./harness/build-suite.js";
import {packageVsix, runSetup} from "./harness/build-vsix.js";
import {CodeServer, REPO_ROOT} from "./harness/code-server.js";
import {runExtensionTests} from "./harness/extension-tests.js";
import {LeftoverProcessesError} from "./harness/errors.js";
import {findMarkedProcesses, killGroupsOnExit, reapMarkedProcesses} from "./harness/process-group.js";
import {ProbeServer, SPEED_ITEM_SELECTOR} from "./harness/probe-server.js";
import {Workbench} from "./harness/workbench.js";
import {generateAtCursor} from "./scenarios/generate-at-cursor.js";
import {inlineCompletion} from "./scenarios/inline-completion.js";
import {commandPalette} from "./scenarios/command-palette.js";
import {closeSummaryEditors, COMPLETION_FILE, STORY_FILE, STORY_TEXT} from "./scenarios/layer-dial-ui.js";
import {engineCrash} from "./scenarios/engine-crash.js";
import {enableCudaMirror} from "./scenarios/enable-cuda-mirror.js";
import {firstRunWalkthrough} from "./scenarios/first-run-walkthrough.js";
import {markdownSummary} from "./scenarios/markdown-summary.js";
import {missingModel} from "./scenarios/missing-model.js";
import type {Scenario} from "./scenarios/scenario.js";
import {speedLevelStatusBar} from "./scenarios/speed-level-status-bar.js";
import {summarizeSelection} from "./scenarios/summarize-selection.js";
import {PROBE_URL_VARIABLE} from "./suite/probe-protocol.js";
import {parseResultLine, SUITE_FILTER_VARIABLE} from "./suite/result-line.js";

/**
 * In this order: the palette check comes first, while nothing runs; the level change expects Quality first; the
 * missing model and the first-run walkthrough (which empties the setting and picks the model again) come last
 * because they change the setting. Inline completion loads the model itself, so it also runs alone. Enable CUDA
 * comes last: it installs a CUDA backend (removed again) that an engine load would otherwise check.
 */
const SCENARIOS: readonly Scenario[] = [
    commandPalette,
    summarizeSelection,
    speedLevelStatusBar,
    generateAtCursor,
    inlineCompletion,
    engineCrash,
    missingModel,
    firstRunWalkthrough,
    markdownSummary,
    enableCudaMirror
];

const OUTPUT_DIR = path.join(REPO_ROOT, "test/.output/e2e");
const MODEL_PATH = path.resolve(REPO_ROOT, "../shared/models/stories260K.gguf");
const VIEWPORT = {width: 1440, height: 900};

/** The settings every run starts from: the tiny model, and a workbench that does not reach for the network or pop up tips. */
const USER_SETTINGS: Record<string, unknown> = {
    "layerDial.model": MODEL_PATH,
    "layerDial.speedLevel": "Quality",
    // enough for a few sentences; keeps the run short
    "layerDial.maxTokens": 160,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.enableExperiments": false,
    "workbench.editor.enablePreview": false,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "extensions.ignoreRecommendations": true,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "git.enabled": false,
    "chat.commandCenter.enabled": false,
    "editor.minimap.enabled": false
};

type Outcome = {name: string; state: "passed" | "failed" | "skipped"; durationMs: number; error?: string; screenshots: string[]};

const outcomes: Outcome[] = [];

function log(message: string): void {
    console.log(`e2e: ${message}`);
}

function seconds(ms: number): string {
    return `${(ms / 1000).toFixed(1)} s`;
}

function record(outcome: Outcome): void {
    outcomes.push(outcome);
    const mark = outcome.state === "passed" ? "✔" : outcome.state === "failed" ? "✖" : "-";
    console.log(`  ${mark} ${outcome.name} (${seconds(outcome.durationMs)})${outcome.state === "skipped" ? " skipped" : ""}`);
    if (outcome.error !== undefined)
        console.log(
            outcome.error
                .split("\n")
                .map((line) => `      ${line}`)
                .join("\n")
        );
    for (const file of outcome.screenshots) console.log(`      screenshot: ${path.relative(REPO_ROOT, file)}`);
}

function errorText(error: unknown): string {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

async function timed<T>(what: string, step: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const result = await step();
    log(`${what} (${seconds(Date.now() - started)})`);
    return result;
}

async function runSuite(server: CodeServer, browser: Browser, probe: ProbeServer): Promise<void> {
    const started = Date.now();
    const logFile = path.join(OUTPUT_DIR, "extension-tests.log");
    try {
        const {exitCode, log: lines} = await runExtensionTests({
            server,
            browser,
            extensionDevelopmentPath: REPO_ROOT,
            extensionTestsPath: SUITE_ENTRY,
            onPage: (page) => probe.attach(page)
        });
        await fsp.writeFile(logFile, lines.join("\n"));
        const result = lines.map(parseResultLine).find((parsed) => parsed !== undefined);
        if (result === undefined) throw new Error(`the suite printed no result (exit code ${exitCode}); see ${path.relative(REPO_ROOT, logFile)}`);
        for (const test of result.tests) {
            record({name: `extension host: ${test.title}`, state: test.state, durationMs: test.durationMs, error: test.error, screenshots: []});
        }
        if (exitCode !== 0 && result.tests.every((test) => test.state !== "failed"))
            record({
                name: "extension host: suite exit code",
                state: "failed",
                durationMs: Date.now() - started,
                error: `exit code ${exitCode}`,
                screenshots: []
            });
        log(`extension-host suite (${seconds(Date.now() - started)}); its log: ${path.relative(REPO_ROOT, logFile)}`);
    } catch (error) {
        record({name: "extension host: mocha suite", state: "failed", durationMs: Date.now() - started, error: errorText(error), screenshots: []});
    } finally {
        probe.attach(undefined);
    }
}

async function runScenarios(server: CodeServer, browser: Browser, scenarios: readonly Scenario[], marker: string): Promise<void> {
    const page = await browser.newPage({viewport: VIEWPORT});
    const workbench = new Workbench(page, OUTPUT_DIR);
    try {
        await timed("workbench open, Layer Dial active", async () => {
            await workbench.open(server.workbenchUrl(server.workspaceDir));
            // activated on startup; its status bar item is the sign, and makes the palette flake rarer
            await workbench.statusBarItem(SPEED_ITEM_SELECTOR).waitFor({timeout: 60_000});
        });
        for (const scenario of scenarios) {
            const screenshots: string[] = [];
            const started = Date.now();
            const screenshot = async (suffix?: string): Promise<string> => {
                const file = await workbench.screenshot(suffix === undefined ? scenario.name : `${scenario.name}-${suffix}`);
                screenshots.push(file);
                return file;
            };
            try {
                await scenario.run({
                    workbench,
                    server,
                    modelPath: MODEL_PATH,
                    userSettingsFile: path.join(server.userDataDir, "User/settings.json"),
                    runMarker: marker,
                    screenshot
                });
                record({name: `ui: ${scenario.name}`, state: "passed", durationMs: Date.now() - started, screenshots});
            } catch (error) {
                await screenshot("failure").catch(() => undefined);
                record({name: `ui: ${scenario.name}`, state: "failed", durationMs: Date.now() - started, error: errorText(error), screenshots});
                // a failed scenario can leave a quick input or its summary open; the next one starts from a clean slate
                await page.keyboard.press("Escape").catch(() => undefined);
                await closeSummaryEditors(workbench).catch(() => undefined);
            }
        }
        // the shutdown check below is only worth something if there was an engine host to leave behind
        const engineHosts = findMarkedProcesses(marker).filter((process) => /engine\/host/.test(process.commandLine));
        log(`engine host processes running before shutdown: ${engineHosts.length}`);
        log(
            `palette reopened (a command not listed at first, or the input closed before it was typed in): ${workbench.paletteRetries.length === 0 ? "never" : workbench.paletteRetries.join(", ")}`
        );
    } catch (error) {
        record({
            name: "ui: workbench",
            state: "failed",
            durationMs: 0,
            error: errorText(error),
            screenshots: [await workbench.screenshot("workbench-failure").catch(() => "")].filter(Boolean)
        });
    } finally {
        await page.close();
    }
}

async function main(): Promise<number> {
    const started = Date.now();
    const {values} = parseArgs({
        options: {
            vsix: {type: "string"},
            only: {type: "string"},
            "no-suite": {type: "boolean", default: false},
            "no-ui": {type: "boolean", default: false},
            keep: {type: "boolean", default: false}
        }
    });
    killGroupsOnExit();
    await fsp.rm(OUTPUT_DIR, {recursive: true, force: true});
    await fsp.mkdir(OUTPUT_DIR, {recursive: true});
    const marker = randomUUID();

    await timed("setup (code-server, chromium, apt packages)", () => runSetup(path.join(OUTPUT_DIR, "setup.log")));
    const vsix =
        values.vsix !== undefined ? path.resolve(values.vsix) : await timed("npm run package", () => packageVsix(path.join(OUTPUT_DIR, "package.log")));
    if (!fs.existsSync(MODEL_PATH)) throw new Error(`the test model is missing: ${MODEL_PATH}`);
    await timed("extension-host suite built", () => buildSuite());

    const probe = await ProbeServer.start(OUTPUT_DIR);
    const server = await CodeServer.create(marker, {
        userSettings: USER_SETTINGS,
        env: {[PROBE_URL_VARIABLE]: probe.url, ...(values.only === undefined ? {} : {[SUITE_FILTER_VARIABLE]: values.only})},
        logFile: path.join(OUTPUT_DIR, "code-server.log")
    });
    let browser: Browser | undefined;
    try {
        await fsp.writeFile(path.join(server.workspaceDir, STORY_FILE), STORY_TEXT);
        await fsp.writeFile(path.join(server.workspaceDir, COMPLETION_FILE), "");
        await timed(`installed ${path.relative(REPO_ROOT, vsix)}`, () => server.installExtension(vsix));
        await timed("code-server started", () => server.start());
        browser = await launchChromium(marker, path.join(server.root, "chromium"));
        const only = values.only;
        if (!values["no-suite"]) await runSuite(server, browser, probe);
        const scenarios = SCENARIOS.filter((scenario) => only === undefined || scenario.name.includes(only));
        if (!values["no-ui"] && scenarios.length > 0) await runScenarios(server, browser, scenarios, marker);
    } finally {
        const stopping = Date.now();
        await browser?.close().catch(() => undefined);
        await server.stop();
        await probe.stop();
        const left = await reapMarkedProcesses(marker);
        record({
            name: "cleanup: no process left running (code-server, extension hosts, engine hosts, chromium)",
            state: left.length === 0 ? "passed" : "failed",
            durationMs: Date.now() - stopping,
            error: left.length === 0 ? undefined : new LeftoverProcessesError(left.map((p) => `${p.pid} ${p.commandLine}`)).message,
            screenshots: []
        });
        await fsp.cp(path.join(server.userDataDir, "logs"), path.join(OUTPUT_DIR, "logs"), {recursive: true}).catch(() => undefined);
        if (values.keep) log(`kept ${server.root}`);
        else await server.remove();
    }
    log(`total ${seconds(Date.now() - started)}`);
    return outcomes.some((outcome) => outcome.state === "failed") ? 1 : 0;
}

let exitCode = 1;
try {
    exitCode = await main();
} catch (error) {
    record({name: "harness", state: "failed", durationMs: 0, error: errorText(error), screenshots: []});
}
const passed = outcomes.filter((outcome) => outcome.state === "passed").length;
const failed = outcomes.filter((outcome) => outcome.state === "failed").length;
const skipped = outcomes.filter((outcome) => outcome.state === "skipped").length;
if (skipped > 0) log(`${skipped} skipped`);
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : exitCode;
