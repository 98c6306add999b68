// The speed panel in a real Chromium, driven like VS Code drives it: messages in through
// window.postMessage, messages out through the stub acquireVsCodeApi (see panel-page.ts).
import {test, describe, before, after} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import type {Browser, Page} from "playwright-core";
import type {SpeedStep, ToWebview} from "../../common/panel-messages.js";
import {evenKeptLayers, fixtureModel, fixtureRun, predictedSpeedup} from "./panel-fixtures.js";
import {
    buildPanelBundle,
    cspViolations,
    launchChromium,
    openPanel,
    postedMessages,
    sendToPanel,
    startPanelServer,
    text,
    type PanelServer
} from "./panel-page.js";

const SCREENSHOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.output/webview/panel.png");
const TIMEOUT = {timeout: 60_000};

const model = fixtureModel();
const stateAt = (depth: number): ToWebview => ({type: "state", model, depth, activeRequestId: null});
const speedupOf = (depth: number): number => predictedSpeedup(32, depth, 4);
/** The slider's stops as the panel orders them: by speedup, 1x first. */
const sortedSteps: readonly SpeedStep[] = [...model.steps].sort((a, b) => a.predictedSpeedup - b.predictedSpeedup);
const maxSpeedup = sortedSteps[sortedSteps.length - 1].predictedSpeedup;

/** The depth whose speedup is nearest to the ratio at a track position, computed independently of the panel. */
function depthNearestTo(fraction: number): number {
    const ratio = 1 + fraction * (maxSpeedup - 1);
    return sortedSteps.reduce((best, step) => (Math.abs(step.predictedSpeedup - ratio) < Math.abs(best.predictedSpeedup - ratio) ? step : best)).depth;
}

async function setLevels(page: Page): Promise<unknown[]> {
    return (await postedMessages(page)).filter(
        (message) => typeof message === "object" && message !== null && "type" in message && message.type === "setLevel"
    );
}

async function layerClasses(page: Page): Promise<{readonly run: number[]; readonly skipped: number[]}> {
    const cells = await page.$$eval("#layer-strip .layer-cell", (elements) =>
        elements.map((element) => ({
            layer: Number(element.getAttribute("data-layer")),
            run: element.classList.contains("run"),
            skipped: element.classList.contains("skipped")
        }))
    );
    return {run: cells.filter((cell) => cell.run).map((cell) => cell.layer), skipped: cells.filter((cell) => cell.skipped).map((cell) => cell.layer)};
}

async function boxOf(page: Page, selector: string): Promise<{x: number; y: number; width: number; height: number}> {
    const box = await page.locator(selector).boundingBox();
    assert.ok(box, `${selector} has no box`);
    return box;
}

describe("speed panel webview", () => {
    let outRoot = "";
    let server: PanelServer;
    let browser: Browser;

    before(async () => {
        outRoot = await fs.mkdtemp(path.join(os.tmpdir(), "layer-dial-webview-"));
        await buildPanelBundle(outRoot);
        server = await startPanelServer(outRoot);
        browser = await launchChromium();
    }, TIMEOUT);

    after(async () => {
        await browser?.close();
        await server?.close();
        if (outRoot) await fs.rm(outRoot, {recursive: true, force: true});
    });

    async function withPanel(body: (page: Page, warnings: string[]) => Promise<void>): Promise<void> {
        const {page, warnings} = await openPanel(browser, server);
        try {
            await body(page, warnings);
            assert.deepEqual(await cspViolations(page), [], "the panel ran into its own CSP");
        } finally {
            await page.context().close();
        }
    }

    test("before any model: says so, sends ready once, and the slider is disabled", TIMEOUT, () =>
        withPanel(async (page, warnings) => {
            assert.equal(await text(page, "#model-name"), "No model configured");
            assert.equal(await page.getAttribute("#speed-slider", "aria-disabled"), "true");
            assert.deepEqual(await postedMessages(page), [{type: "ready"}]);
            assert.deepEqual(warnings, []);
        })
    );

    test("renders the model, the level's prediction and its layer mask", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(page, stateAt(20));
            assert.equal(await text(page, "#model-name"), model.name);
            assert.equal(await text(page, "#model-gpu"), model.gpu);
            assert.equal(await text(page, "#model-build"), model.build);
            assert.equal(await text(page, "#layer-order"), "calibrated");
            assert.equal(await text(page, "#predicted-speedup"), `${speedupOf(20).toFixed(2)}x`);
            assert.equal(await text(page, "#kept-layers"), "20 / 32");
            assert.match(await text(page, "#quality-cost"), /^\d+\.\d%$/);
            assert.equal(await page.getAttribute("#speed-slider", "aria-valuenow"), String(speedupOf(20)));
            assert.equal(await page.getAttribute("#speed-slider", "aria-valuetext"), `${speedupOf(20).toFixed(2)}x, 20 of 32 layers run`);
            const cells = await layerClasses(page);
            assert.deepEqual(cells.run, evenKeptLayers(32, 20));
            assert.equal(cells.skipped.length, 12);
            assert.ok(cells.run.includes(0) && cells.run.includes(31), "first and last layers run");
            assert.equal(await page.getAttribute("#layer-strip", "aria-label"), "20 of 32 layers run, 12 skipped");
        })
    );

    test("keyboard: Tab reaches the slider; arrows, Home and End post setLevel with the snapped ratio", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(page, stateAt(20));
            await page.keyboard.press("Tab");
            assert.equal(await page.evaluate("document.activeElement.id"), "speed-slider");
            await page.keyboard.press("ArrowRight");
            await page.keyboard.press("ArrowLeft");
            await page.keyboard.press("Home");
            await page.keyboard.press("ArrowLeft"); // already at Quality: nothing to post
            await page.keyboard.press("End");
            await page.keyboard.press("ArrowUp"); // already at the fastest step
            await page.keyboard.press("ArrowDown");
            assert.deepEqual(await setLevels(page), [
                {type: "setLevel", depth: 19, speedup: speedupOf(19)},
                {type: "setLevel", depth: 20, speedup: speedupOf(20)},
                {type: "setLevel", depth: 32, speedup: 1},
                {type: "setLevel", depth: 12, speedup: speedupOf(12)},
                {type: "setLevel", depth: 13, speedup: speedupOf(13)}
            ]);
            assert.equal(await text(page, "#kept-layers"), "13 / 32");
            assert.equal((await layerClasses(page)).run.length, 13);
        })
    );

    test("mouse: a click snaps to the nearest achievable depth; a drag previews and commits once on release", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(page, stateAt(32));
            const box = await boxOf(page, "#speed-slider");
            const at = (fraction: number): [number, number] => [box.x + fraction * box.width, box.y + box.height / 2];

            await page.mouse.click(...at(0.5));
            const clicked = depthNearestTo(0.5);
            assert.deepEqual(await setLevels(page), [{type: "setLevel", depth: clicked, speedup: speedupOf(clicked)}]);

            await page.mouse.move(...at(0.1));
            await page.mouse.down();
            await page.mouse.move(...at(0.9), {steps: 6});
            const dragged = depthNearestTo(0.9);
            assert.equal(await text(page, "#kept-layers"), `${dragged} / 32`, "the readout follows the drag");
            assert.equal((await setLevels(page)).length, 1, "nothing is posted until the pointer is released");
            await page.mouse.up();
            assert.deepEqual((await setLevels(page)).slice(1), [{type: "setLevel", depth: dragged, speedup: speedupOf(dragged)}]);
            assert.equal(await page.evaluate("document.activeElement.id"), "speed-slider", "a click focuses the slider for the keyboard");
        })
    );

    test("a level from the extension moves the slider without echoing setLevel back", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(page, stateAt(32), {type: "level", depth: 16});
            assert.equal(await page.getAttribute("#speed-slider", "aria-valuenow"), String(speedupOf(16)));
            assert.equal(await text(page, "#kept-layers"), "16 / 32");
            assert.deepEqual(await setLevels(page), []);
        })
    );

    test("Lossless: the button posts setLossless; at the level it is pressed and shows the drafter, and the slider leaves it", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(page, stateAt(20));
            assert.equal(await page.getAttribute("#lossless-toggle", "aria-pressed"), "false");
            assert.equal(await text(page, "#lossless-note"), "");
            await page.click("#lossless-toggle");
            const posted = async () => (await postedMessages(page)).filter((message) => (message as {type?: string}).type === "setLossless");
            assert.deepEqual(await posted(), [{type: "setLossless"}]);

            const lossless = {mode: "draft" as const, draftDepth: 24, draftLength: 3, acceptanceRate: 0.74, predictedSpeedup: 1.21};
            await sendToPanel(page, {type: "state", model, depth: 32, activeRequestId: null, lossless});
            assert.equal(await page.getAttribute("#lossless-toggle", "aria-pressed"), "true");
            assert.equal(await text(page, "#predicted-speedup"), "1.21x");
            assert.equal(await text(page, "#kept-layers"), "32 / 32");
            assert.equal(await text(page, "#quality-cost"), "100.0%");
            assert.match(await text(page, "#lossless-note"), /exact output\. Drafts 3 tokens with 24\/32 layers, 74\.0% accepted/);
            // pressing it again at the level asks for nothing
            await page.click("#lossless-toggle");
            assert.equal((await posted()).length, 1);

            await sendToPanel(page, {
                type: "runStats",
                run: fixtureRun({requestId: "l", depth: 32, lossless: {acceptanceRate: 0.7, meanTokensPerVerify: 2.4, draftDepth: 24}})
            });
            assert.match(await text(page, "#last-run-note"), /^128 tokens Lossless, 70\.0% of drafts accepted, /);

            // a slider key leaves Lossless at once and asks for that level
            await page.focus("#speed-slider");
            await page.keyboard.press("ArrowRight");
            assert.equal(await page.getAttribute("#lossless-toggle", "aria-pressed"), "false");
            assert.equal(await text(page, "#lossless-note"), "");
            assert.equal((await setLevels(page)).length, 1);

            const plain = {mode: "plain" as const, draftDepth: null, draftLength: null, acceptanceRate: null, predictedSpeedup: 1};
            await sendToPanel(page, {type: "state", model, depth: 32, activeRequestId: null, lossless: plain});
            assert.match(await text(page, "#lossless-note"), /Drafting does not pay here, so it decodes like Quality/);
        })
    );

    test("the prediction at the last request's context shows for the current level only", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(page, {type: "state", model, depth: 20, activeRequestId: null, atContext: {contextTokens: 1480, predictedSpeedup: 1.734}});
            assert.equal(await text(page, "#context-prediction"), "1.73x at 1,480 tokens of context (the last request's)");
            // a level the user moves to has no such prediction yet
            await page.focus("#speed-slider");
            await page.keyboard.press("ArrowRight");
            assert.equal(await text(page, "#context-prediction"), "");
            await sendToPanel(page, stateAt(20));
            assert.equal(await text(page, "#context-prediction"), "");
        })
    );

    test("run stats show tokens/s and achieved against target, newest first in the history", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(
                page,
                stateAt(20),
                {type: "runStats", run: fixtureRun({requestId: "a", depth: 32, targetSpeedup: 1, tokensPerSecond: 29.1, achievedSpeedup: 1})},
                {type: "runStats", run: fixtureRun({requestId: "b", depth: 24, targetSpeedup: speedupOf(24), tokensPerSecond: 34.7, achievedSpeedup: 1.19})},
                {type: "runStats", run: fixtureRun({requestId: "c"})}
            );
            assert.equal(await text(page, "#last-tokens-per-second"), "41.3");
            assert.equal(await text(page, "#last-achieved"), "1.42x");
            assert.equal(await text(page, "#last-target"), `${speedupOf(20).toFixed(2)}x`);
            const rows = await page.$$eval("#history .history-row:not(.empty) .history-values", (cells) => cells.map((cell) => cell.textContent));
            assert.deepEqual(rows, [`${speedupOf(20).toFixed(2)}x → 1.42x`, `${speedupOf(24).toFixed(2)}x → 1.19x`, "1.00x → 1.00x"]);
        })
    );

    test("a run without a measured 1x speed shows — and why, and the next measured run clears the reason", TIMEOUT, () =>
        withPanel(async (page) => {
            const why = "no 1x speed measured on this model, backend and machine because the speed calibration failed: decode steps stayed too spread";
            const noBaseline = fixtureRun({
                requestId: "a",
                depth: 32,
                targetSpeedup: 1,
                tokensPerSecond: 114,
                achievedSpeedup: undefined,
                whyNoAchievedSpeedup: why
            });
            const statsBox = await (async () => {
                await sendToPanel(page, stateAt(32));
                return boxOf(page, "#history");
            })();
            await sendToPanel(page, {type: "runStats", run: noBaseline});
            assert.equal(await text(page, "#last-achieved"), "—");
            assert.equal(await text(page, "#achieved-reason"), `Achieved —: ${why}`);
            assert.deepEqual(await boxOf(page, "#history"), statsBox, "the reason's line is reserved: nothing below it moves");
            const rows = await page.$$eval("#history .history-row:not(.empty)", (cells) =>
                cells.map((cell) => [cell.getAttribute("title"), cell.querySelector(".history-values")?.textContent])
            );
            assert.deepEqual(rows, [[`Achieved —: ${why}`, "1.00x → —"]]);
            await sendToPanel(page, {type: "runStats", run: fixtureRun({requestId: "b"})});
            assert.equal(await text(page, "#last-achieved"), "1.42x");
            assert.equal(await text(page, "#achieved-reason"), "");
        })
    );

    test("streams output without moving the layout, and Stop posts stop for the running request", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(page, stateAt(20), {type: "requestStarted", requestId: "r1", title: "Explain this function"});
            assert.equal(await page.isDisabled("#stop-button"), false);
            const watched = ["#speed-slider", "#layer-strip", "#history", "#stop-button", "#output"];
            const before = await Promise.all(watched.map((selector) => boxOf(page, selector)));
            const chunks = Array.from({length: 120}, (_, i) => ({type: "output", requestId: "r1", text: `line ${i}: const value${i} = compute(${i});\n`}));
            await sendToPanel(page, ...chunks, {type: "runStats", run: fixtureRun({requestId: "r0"})});
            const after = await Promise.all(watched.map((selector) => boxOf(page, selector)));
            assert.deepEqual(after, before, "streaming and stats must not shift or resize anything");
            assert.match(await text(page, "#output"), /^line 0: [^]*line 119: const value119 = compute\(119\);\n$/);
            assert.equal(
                await page.evaluate("(() => { const o = document.getElementById('output'); return o.scrollHeight - o.scrollTop - o.clientHeight < 4; })()"),
                true,
                "the output follows the stream"
            );

            await page.click("#stop-button");
            assert.deepEqual((await postedMessages(page)).at(-1), {type: "stop", requestId: "r1"});
            await sendToPanel(page, {type: "requestEnded", requestId: "r1", stopReason: "cancelled"});
            assert.equal(await text(page, "#request-status"), "Stopped");
            assert.equal(await page.isDisabled("#stop-button"), true);
        })
    );

    test("malformed or unknown messages are ignored with a warning and the panel keeps working", TIMEOUT, () =>
        withPanel(async (page, warnings) => {
            await sendToPanel(page, stateAt(20));
            const badModel = {...model, steps: [{depth: 2, predictedSpeedup: 3, keptLayers: [0, 40]}]};
            await sendToPanel(
                page,
                null,
                "setLevel",
                42,
                {type: "nonsense"},
                {type: "level", depth: "fast"},
                {type: "level", depth: 21.5},
                {type: "level", depth: 99},
                {type: "state", model: badModel, depth: 2, activeRequestId: null},
                {type: "output", requestId: "nobody", text: "stray"},
                {type: "runStats", run: {requestId: "x", tokensPerSecond: Number.NaN}}
            );
            assert.equal(warnings.length, 10, warnings.join("\n"));
            assert.ok(
                warnings.every((warning) => warning.startsWith("[layer-dial panel]")),
                warnings.join("\n")
            );
            assert.equal(await text(page, "#kept-layers"), "20 / 32");
            assert.equal(await text(page, "#last-tokens-per-second"), "—");
            assert.equal(await text(page, "#output"), "");
            await sendToPanel(page, {type: "level", depth: 24});
            assert.equal(await text(page, "#kept-layers"), "24 / 32", "a good message after bad ones still applies");
        })
    );

    test("after a reload it redraws from saved state before the extension speaks, then says ready", TIMEOUT, () =>
        withPanel(async (page, warnings) => {
            await sendToPanel(
                page,
                stateAt(20),
                {type: "requestStarted", requestId: "r1", title: "Write a test"},
                {type: "output", requestId: "r1", text: "it('works', () => {\n"},
                {type: "runStats", run: fixtureRun({requestId: "r0"})}
            );
            await page.focus("#speed-slider");
            await page.keyboard.press("ArrowRight");
            await page.reload();
            await page.waitForFunction("window.__layerDialTest.posted.length > 0");
            assert.deepEqual(await postedMessages(page), [{type: "ready"}]);
            assert.equal(await text(page, "#model-name"), model.name);
            assert.equal(await text(page, "#kept-layers"), "19 / 32");
            assert.equal((await layerClasses(page)).run.length, 19);
            assert.equal(await text(page, "#last-achieved"), "1.42x");
            assert.equal(await text(page, "#output"), "it('works', () => {\n");
            assert.equal(await page.isDisabled("#stop-button"), false);
            // the extension's reply says nothing is streaming any more: the saved request is over
            await sendToPanel(page, {...stateAt(19), activeRequestId: null});
            assert.equal(await text(page, "#request-status"), "Ended while the panel was closed");
            assert.equal(await page.isDisabled("#stop-button"), true);
            assert.deepEqual(warnings, []);
        })
    );

    test("Content-Security-Policy: nonce'd script only, no inline handlers or styles, and it is enforced", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(page, stateAt(20), {type: "runStats", run: fixtureRun()});
            const html = server.lastHtml();
            const csp = await page.getAttribute("meta[http-equiv='Content-Security-Policy']", "content");
            const nonce = /script-src 'nonce-([^']+)'/.exec(csp ?? "")?.[1];
            assert.ok(nonce, `no script nonce in ${csp}`);
            assert.equal(
                csp,
                `default-src 'none'; script-src 'nonce-${nonce}'; style-src ${server.origin}; font-src ${server.origin}; img-src ${server.origin} data:`
            );
            const scripts = await page.$$eval("script", (elements) =>
                elements.map((element) => ({nonce: element.nonce, src: element.getAttribute("src"), inline: element.textContent}))
            );
            assert.deepEqual(scripts, [{nonce, src: `${server.origin}/webview/panel.js`, inline: ""}]);
            assert.doesNotMatch(html, /\son[a-z]+\s*=|\sstyle\s*=|<style/i, "inline handlers or styles in the served HTML");
            const inlineAttributes = await page.$$eval("*", (elements) =>
                elements.flatMap((element) =>
                    element
                        .getAttributeNames()
                        .filter((name) => name.startsWith("on"))
                        .map((name) => `${element.tagName}[${name}]`)
                )
            );
            assert.deepEqual(inlineAttributes, []);
            // the codicon font came through font-src
            assert.equal(await page.evaluate("document.fonts.ready.then(() => document.fonts.check('16px codicon'))"), true);
            assert.deepEqual(await cspViolations(page), []);
            // and the policy really blocks: an injected inline script does not run
            await page.evaluate("document.body.append(Object.assign(document.createElement('script'), { textContent: 'window.__inlineRan = true' }))");
            assert.equal(await page.evaluate("window.__inlineRan === true"), false);
            assert.equal((await cspViolations(page)).length, 1);
            await page.evaluate("window.__layerDialTest.violations.length = 0");
        })
    );

    test("screenshot of a typical session (dark theme)", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(
                page,
                stateAt(32),
                {
                    type: "runStats",
                    run: fixtureRun({
                        requestId: "a",
                        depth: 32,
                        targetSpeedup: 1,
                        tokensPerSecond: 29.1,
                        achievedSpeedup: 1,
                        finishedAt: Date.UTC(2025, 0, 1, 11, 58, 2)
                    })
                },
                {
                    type: "runStats",
                    run: fixtureRun({
                        requestId: "b",
                        depth: 26,
                        targetSpeedup: speedupOf(26),
                        tokensPerSecond: 33.0,
                        achievedSpeedup: 1.13,
                        finishedAt: Date.UTC(2025, 0, 1, 11, 59, 10)
                    })
                },
                {type: "runStats", run: fixtureRun({requestId: "c", depth: 20, targetSpeedup: speedupOf(20), tokensPerSecond: 41.3, achievedSpeedup: 1.42})},
                {type: "requestStarted", requestId: "d", title: "Complete: parseConfig(path: string)"},
                {type: "output", requestId: "d", text: "export async function parseConfig(path: string): Promise<Config> {\n"},
                {type: "output", requestId: "d", text: '    const raw = await fs.readFile(path, "utf8");\n    const json: unknown = JSON.parse(raw);\n'},
                {type: "output", requestId: "d", text: "    if (!isConfig(json))\n        throw new InvalidConfigError(path);\n    return json;\n}\n"}
            );
            await page.focus("#speed-slider");
            for (let i = 0; i < 14; i++) await page.keyboard.press("ArrowRight");
            await page.evaluate("document.fonts.ready");
            await fs.mkdir(path.dirname(SCREENSHOT), {recursive: true});
            await page.screenshot({path: SCREENSHOT});
            assert.equal(await text(page, "#kept-layers"), "18 / 32");
        })
    );
});
