// Refreshes README.md's pictures from the real product: installs the VSIX into the e2e harness's isolated
// code-server, drives the workbench in Debian's chromium with ../shared/models/stories260K.gguf (read in
// place), and writes the PNGs into media/. Each picture is taken only once the state it shows is there
// (the command in the palette, the finished summary, the levels with their layer counts, the panel's runs).
//
//   npm run screenshots [-- --vsix <file>] [--out <dir>] [--keep]
//     --vsix   use this VSIX instead of running `npm run package`
//     --out    write the PNGs here instead of media/
//     --keep   keep the temp folder (code-server's user data and logs) and print where it is
import {randomUUID} from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import {parseArgs} from "node:util";
import type {Browser, Page} from "playwright-core";
import {launchChromium} from "./harness/browser.js";
import {packageVsix, runSetup} from "./harness/build-vsix.js";
import {CodeServer, REPO_ROOT} from "./harness/code-server.js";
import {killGroupsOnExit, reapMarkedProcesses} from "./harness/process-group.js";
import {SPEED_ITEM_SELECTOR} from "./harness/probe-server.js";
import {Workbench} from "./harness/workbench.js";
import {showCommandInPalette} from "./scenarios/command-palette.js";
import {closeSummaryEditors, COMMANDS, speedItem, STORY_FILE, STORY_TEXT, summarizeStory, waitForSpeedItemText} from "./scenarios/layer-dial-ui.js";

/** The pictures README.md shows, in the order they are taken. */
export const SCREENSHOTS = {
    panelFirstRun: "speed-panel-first-run.png",
    summarizeCommand: "summarize-1-command.png",
    summarizeResult: "summarize-2-summary.png",
    statusBarMenu: "status-bar-menu.png",
    speedPanel: "speed-panel.png"
} as const;

const MODEL_PATH = path.resolve(REPO_ROOT, "../shared/models/stories260K.gguf");
const OUTPUT_DIR = path.join(REPO_ROOT, "test/.output/screenshots");
/** Small enough for a Marketplace page and a few hundred KB of PNGs, large enough to read the UI. */
const VIEWPORT = {width: 1120, height: 700};

const USER_SETTINGS: Record<string, unknown> = {
    "layerDial.model": MODEL_PATH,
    "layerDial.speedLevel": "Quality",
    "layerDial.maxTokens": 96,
    // greedy: the same story gives the same summary on every refresh
    "layerDial.temperature": 0,
    "layerDial.completion.enabled": false,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.enableExperiments": false,
    "workbench.editor.enablePreview": false,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "workbench.activityBar.location": "hidden",
    "workbench.sideBar.location": "left",
    "workbench.layoutControl.enabled": false,
    "window.commandCenter": false,
    "breadcrumbs.enabled": false,
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "extensions.ignoreRecommendations": true,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "git.enabled": false,
    "chat.commandCenter.enabled": false,
    "editor.minimap.enabled": false,
    "editor.wordWrap": "on",
    "editor.fontSize": 13
};

const QUICK_INPUT = ".quick-input-widget";

function log(message: string): void {
    console.log(`screenshots: ${message}`);
}

async function save(page: Page, dir: string, name: string): Promise<string> {
    const file = path.join(dir, name);
    // finished animations only (a toast sliding in); the palette and the panel are already waited for
    await page.evaluate(
        "Promise.all(document.getAnimations().filter((a) => a.effect?.getComputedTiming().endTime !== Infinity).map((a) => a.finished.catch(() => undefined)))"
    );
    await page.screenshot({path: file});
    log(`${path.relative(REPO_ROOT, file)} (${Math.round(fs.statSync(file).size / 1024)} KB)`);
    return file;
}

async function takeScreenshots(workbench: Workbench, dir: string): Promise<string[]> {
    const page = workbench.page;
    const files: string[] = [];

    // 0. the speed panel before any model is loaded: the configured model, each level's preview from the
    // file, and the Load button
    await workbench.runCommand("Layer Dial: Open Speed Panel");
    const firstRun = page.frameLocator("iframe.webview").frameLocator("#active-frame");
    await firstRun.locator("#model-name", {hasText: path.basename(MODEL_PATH, ".gguf")}).waitFor({timeout: 30_000});
    await firstRun.locator("#action-loadModel").waitFor({timeout: 30_000});
    await firstRun.locator("#level-preview .level-preview-row").last().waitFor({timeout: 30_000});
    files.push(await save(page, dir, SCREENSHOTS.panelFirstRun));
    await workbench.runCommand("View: Close All Editors");
    await page.locator("iframe.webview").waitFor({state: "detached"});

    // 1. the story selected, and Summarize Selection in the palette
    await workbench.openFile(STORY_FILE);
    await workbench.focusActiveEditor();
    await page.keyboard.press("Control+A");
    await showCommandInPalette(workbench, COMMANDS.summarize);
    files.push(await save(page, dir, SCREENSHOTS.summarizeCommand));
    await page.keyboard.press("Escape");
    await page.locator(QUICK_INPUT).waitFor({state: "hidden"});

    // 2. the finished summary beside the story (this run loads the model)
    await summarizeStory(workbench);
    files.push(await save(page, dir, SCREENSHOTS.summarizeResult));
    await closeSummaryEditors(workbench);

    // 3. the status bar item's menu: each level with the layers it keeps on the loaded model
    await speedItem(workbench).click();
    await workbench.waitForQuickPickLabels();
    const fast = await workbench.quickPickDescription("Fast");
    if (!/\d+\/\d+ layers/.test(fast)) throw new Error(`the Fast row does not show its layers, so the model is not loaded: "${fast}"`);
    files.push(await save(page, dir, SCREENSHOTS.statusBarMenu));
    await workbench.pickQuickPickItem("Fast");
    await waitForSpeedItemText(workbench, (text) => text === "1.5x");

    // a second run, at Fast, so the panel has a target-against-achieved history of two
    await summarizeStory(workbench);
    await closeSummaryEditors(workbench);

    // 4. the speed panel beside the story: the model, the dial, the layer strip and the runs
    await workbench.runCommand("Layer Dial: Open Speed Panel");
    const panel = page.frameLocator("iframe.webview").frameLocator("#active-frame");
    await panel.locator("#model-name", {hasText: path.basename(MODEL_PATH, ".gguf")}).waitFor({timeout: 30_000});
    await panel.locator(".history-row:not(.empty)").nth(1).waitFor({timeout: 30_000});
    files.push(await save(page, dir, SCREENSHOTS.speedPanel));
    return files;
}

async function main(): Promise<void> {
    const {values} = parseArgs({options: {vsix: {type: "string"}, out: {type: "string"}, keep: {type: "boolean", default: false}}});
    const outDir = path.resolve(values.out ?? path.join(REPO_ROOT, "media"));
    killGroupsOnExit();
    await fsp.mkdir(OUTPUT_DIR, {recursive: true});
    await fsp.mkdir(outDir, {recursive: true});
    if (!fs.existsSync(MODEL_PATH)) throw new Error(`the model is missing: ${MODEL_PATH}`);
    await runSetup(path.join(OUTPUT_DIR, "setup.log"));
    const vsix = values.vsix !== undefined ? path.resolve(values.vsix) : await packageVsix(path.join(OUTPUT_DIR, "package.log"));
    log(`installing ${path.relative(REPO_ROOT, vsix)}`);

    const marker = randomUUID();
    const server = await CodeServer.create(marker, {userSettings: USER_SETTINGS, logFile: path.join(OUTPUT_DIR, "code-server.log")});
    let browser: Browser | undefined;
    try {
        await fsp.writeFile(path.join(server.workspaceDir, STORY_FILE), STORY_TEXT);
        await server.installExtension(vsix);
        await server.start();
        browser = await launchChromium(marker, path.join(server.root, "chromium"));
        const page = await browser.newPage({viewport: VIEWPORT});
        const workbench = new Workbench(page, OUTPUT_DIR);
        await workbench.open(server.workbenchUrl(server.workspaceDir));
        await workbench.statusBarItem(SPEED_ITEM_SELECTOR).waitFor({timeout: 60_000});
        try {
            await takeScreenshots(workbench, outDir);
        } catch (error) {
            await workbench.screenshot("failure").catch(() => undefined);
            throw error;
        }
    } finally {
        await browser?.close().catch(() => undefined);
        await server.stop();
        const left = await reapMarkedProcesses(marker);
        if (left.length > 0) log(`stopped ${left.length} leftover processes`);
        if (values.keep) log(`kept ${server.root}`);
        else await server.remove();
    }
}

try {
    await main();
} catch (error) {
    console.error(`screenshots: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    console.error(`screenshots: the workbench at the failure: ${path.relative(REPO_ROOT, path.join(OUTPUT_DIR, "failure.png"))}`);
    process.exitCode = 1;
}
