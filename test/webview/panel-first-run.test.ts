// The speed panel before any model is loaded, in a real Chromium: the configured model's name and size,
// the dial per level predicted from its file, and the buttons (Load, Download, Select Model, Get Started)
// that post the action the extension turns into a command.
import {test, describe, before, after} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type {Browser, Page} from "playwright-core";
import type {ConfiguredModel, ToWebview} from "../../common/panel-messages.js";
import {
    buildPanelBundle,
    cspViolations,
    launchChromium,
    openPanel,
    postedMessages,
    sendToPanel,
    text,
    type PanelServer,
    startPanelServer
} from "./panel-page.js";
import {fixtureModel} from "./panel-fixtures.js";

const TIMEOUT = {timeout: 60_000};

const configured: ConfiguredModel = {
    name: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    status: "ready",
    sizeBytes: 1_117_320_736,
    layerCount: 28,
    levels: [
        {level: "Quality", predictedSpeedup: 1, keptLayers: Array.from({length: 28}, (_, i) => i)},
        {level: "Balanced", predictedSpeedup: 1.25, keptLayers: Array.from({length: 22}, (_, i) => i)},
        {level: "Max", predictedSpeedup: 2.4, keptLayers: [0, 27]}
    ],
    note: "28 layers, qwen2. Not loaded yet: the speedups are predicted from the file's tensor sizes."
};
const unloaded = (model: ConfiguredModel | null): ToWebview => ({type: "state", model: null, depth: null, activeRequestId: null, configured: model});

async function visibleActions(page: Page): Promise<string[]> {
    return await page.$$eval("#model-actions button", (buttons) => buttons.filter((button) => !(button as HTMLElement).hidden).map((button) => button.id));
}

async function actions(page: Page): Promise<unknown[]> {
    return (await postedMessages(page)).filter((message) => typeof message === "object" && message !== null && "type" in message && message.type === "action");
}

describe("speed panel webview: before any model is loaded", () => {
    let outRoot = "";
    let server: PanelServer;
    let browser: Browser;

    before(async () => {
        outRoot = await fs.mkdtemp(path.join(os.tmpdir(), "layer-dial-webview-first-run-"));
        await buildPanelBundle(outRoot);
        server = await startPanelServer(outRoot);
        browser = await launchChromium();
    }, TIMEOUT);

    after(async () => {
        await browser?.close();
        await server?.close();
        if (outRoot) await fs.rm(outRoot, {recursive: true, force: true});
    });

    async function withPanel(body: (page: Page) => Promise<void>): Promise<void> {
        const {page, warnings} = await openPanel(browser, server);
        try {
            await body(page);
            assert.deepEqual(warnings, []);
            assert.deepEqual(await cspViolations(page), [], "the panel ran into its own CSP");
        } finally {
            await page.context().close();
        }
    }

    test("the configured model: name, size, each level from the file, and a Load button that posts loadModel", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(page, unloaded(configured));
            assert.equal(await text(page, "#model-name"), configured.name);
            assert.equal(await text(page, "#model-gpu"), "1.1 GB");
            assert.equal(await text(page, "#model-build"), "not loaded");
            assert.match(await text(page, "#model-note"), /predicted from the file/);
            const rows = await page.$$eval("#level-preview li", (items) => items.map((item) => item.textContent?.replace(/\s+/g, " ").trim()));
            assert.deepEqual(rows, ["Quality28/28 layers1.00x", "Balanced22/28 layers1.25x", "Max2/28 layers2.40x"]);
            assert.equal(await page.isVisible("#speed-slider"), false, "the loaded model's slider stands aside while the preview shows");
            assert.deepEqual(await visibleActions(page), ["action-loadModel"]);
            await page.click("#action-loadModel");
            assert.deepEqual(await actions(page), [{type: "action", action: "loadModel"}]);
        })
    );

    test("no model configured: says so and links to the walkthrough", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(page, unloaded(null));
            assert.equal(await text(page, "#model-name"), "No model configured");
            assert.deepEqual(await visibleActions(page), ["action-selectModel", "action-openWalkthrough"]);
            assert.equal(await page.isVisible("#level-preview"), false);
            await page.click("#action-openWalkthrough");
            assert.deepEqual(await actions(page), [{type: "action", action: "openWalkthrough"}]);
        })
    );

    test("an hf: model not downloaded yet offers the download (which asks first) and the walkthrough", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(page, unloaded({name: configured.name, status: "notDownloaded", levels: [], note: "not downloaded yet"}));
            assert.equal(await text(page, "#model-gpu"), "not downloaded");
            assert.deepEqual(await visibleActions(page), ["action-downloadModel", "action-selectModel", "action-openWalkthrough"]);
            await page.click("#action-downloadModel");
            assert.deepEqual(await actions(page), [{type: "action", action: "downloadModel"}]);
        })
    );

    test("once a model is loaded, the preview and the buttons give way to the dial", TIMEOUT, () =>
        withPanel(async (page) => {
            await sendToPanel(page, unloaded(configured));
            const model = fixtureModel();
            await sendToPanel(page, {type: "state", model, depth: model.layerCount, activeRequestId: null});
            assert.equal(await text(page, "#model-name"), model.name);
            assert.deepEqual(await visibleActions(page), []);
            assert.equal(await page.isVisible("#level-preview"), false);
            assert.equal(await page.isVisible("#speed-slider"), true);
            assert.equal(await page.isVisible("#model-note"), false);
        })
    );
});
