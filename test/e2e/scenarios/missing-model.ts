// A layerDial.model path that does not exist: Summarize Selection shows an error notification naming
// the problem and the path, opens no summary, and after the setting is fixed everything works again.
import assert from "node:assert/strict";
import path from "node:path";
import {closeSummaryEditors, COMMANDS, setModelSetting, STORY_FILE, summarizeStory} from "./layer-dial-ui.js";
import type {Scenario} from "./scenario.js";

export const missingModel: Scenario = {
    name: "missing-model",
    description: "layerDial.model → a missing file: a clear error notification; fixing the setting recovers",
    async run({workbench, server, modelPath, userSettingsFile, screenshot}) {
        const missing = path.join(server.root, "no-such-folder", "missing-model.gguf");
        await setModelSetting(workbench, userSettingsFile, missing);
        await workbench.clearNotifications();

        const summariesBefore = await workbench.visibleEditors().filter({hasText: "Layer Dial summary"}).count();
        await workbench.openFile(STORY_FILE);
        await workbench.focusActiveEditor();
        await workbench.page.keyboard.press("Control+A");
        await workbench.runCommand(COMMANDS.summarize);
        const toast = await workbench.waitForToast(/Model file not found/, 60_000);
        const message = (await toast.innerText()).replace(/\s+/g, " ");
        await screenshot("error");
        assert.ok(message.includes(missing), `the notification does not name the path: ${message}`);
        assert.equal(await toast.locator(".codicon-error").count(), 1, `not shown as an error: ${message}`);
        const summaries = await workbench.visibleEditors().filter({hasText: "Layer Dial summary"}).count();
        assert.equal(summaries, summariesBefore, "a summary editor opened for a missing model");

        await workbench.clearNotifications();
        await setModelSetting(workbench, userSettingsFile, modelPath);
        const {header, headerLine, body} = await summarizeStory(workbench);
        await screenshot();
        assert.equal(header.model, path.basename(modelPath), headerLine);
        assert.match(body, /[A-Za-z]{2,}/, "the summary has no generated text");
        await closeSummaryEditors(workbench);
    }
};
