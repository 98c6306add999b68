// The first run without a model: the speed panel says so and links to the walkthrough; the walkthrough's
// "Select a Local Model" picks ../shared/models/stories260K.gguf (read in place) through the file dialog;
// the setting holds it, the step is checked, and the panel, still unloaded, shows the model's size and
// every level predicted from its file.
import assert from "node:assert/strict";
import path from "node:path";
import type {Scenario} from "./scenario.js";
import {setModelSetting} from "./layer-dial-ui.js";
import {closeEditorsTitled, SPEED_PANEL, waitForModelSetting, walkthroughStep} from "./walkthrough-ui.js";

export const firstRunWalkthrough: Scenario = {
    name: "first-run-walkthrough",
    description: "no model: the panel links to the walkthrough; Select a Local Model there sets the model; the panel previews its levels",
    async run({workbench, modelPath, userSettingsFile, screenshot}) {
        const page = workbench.page;
        await setModelSetting(workbench, userSettingsFile, "");
        await workbench.clearNotifications();

        await workbench.runCommand("Layer Dial: Open Speed Panel");
        const panel = page.frameLocator(SPEED_PANEL).frameLocator("#active-frame");
        await panel.locator("#model-name", {hasText: "No model configured"}).waitFor({timeout: 30_000});
        await screenshot("panel-no-model");
        await panel.locator("#action-openWalkthrough").click();

        const pickModel = walkthroughStep(workbench, "pickModel");
        await pickModel.waitFor({timeout: 30_000});
        assert.equal(await pickModel.getAttribute("aria-checked"), "false", "the step is done before anything was picked");
        if ((await pickModel.getAttribute("aria-expanded")) !== "true") await pickModel.click();
        await page.getByRole("button", {name: "Select a Local Model"}).click();

        // the workbench's own file dialog (a quick input in the browser): the path, then Enter
        const dialogInput = page.locator(".quick-input-widget .quick-input-box input");
        await dialogInput.waitFor({state: "visible", timeout: 15_000});
        // the dialog fills in its starting folder once it has listed it, replacing whatever was typed before
        await page.locator(".quick-input-widget .quick-input-list .monaco-list-row").first().waitFor({timeout: 15_000});
        await page.waitForFunction(
            () => (document.querySelector(".quick-input-widget .quick-input-box input") as HTMLInputElement | null)?.value.endsWith("/") === true,
            undefined,
            {timeout: 15_000}
        );
        await dialogInput.fill(modelPath);
        await screenshot("file-dialog");
        await dialogInput.press("Enter");
        await page.locator(".quick-input-widget").waitFor({state: "hidden", timeout: 15_000});

        await waitForModelSetting(workbench, userSettingsFile, modelPath);
        await workbench.waitForToast(`Layer Dial will use ${path.basename(modelPath)}`, 15_000);
        await page.locator(`${walkthroughStepSelector("pickModel")}[aria-checked="true"]`).waitFor({timeout: 15_000});
        await screenshot("model-picked");

        // the panel (the walkthrough opened over it), still without a loaded model: the file's name and size,
        // and the dial per level from the file
        await workbench.runCommand("Layer Dial: Open Speed Panel");
        await panel.locator("#model-name", {hasText: path.basename(modelPath)}).waitFor({timeout: 30_000});
        await panel.locator("#level-preview li").first().waitFor({timeout: 60_000});
        const rows = (await panel.locator("#level-preview li").allInnerTexts()).map((row) => row.replace(/\s+/g, " ").trim());
        await screenshot("panel-preview");
        assert.match(rows[0] ?? "", /^Quality 5\/5 layers 1\.00x$/, rows.join(" | "));
        assert.ok(rows.length >= 5, `one row per level: ${rows.join(" | ")}`);
        assert.ok(
            rows.some((row) => /^Max [2-4]\/5 layers/.test(row)),
            `Max skips layers of stories260K: ${rows.join(" | ")}`
        );
        assert.match(await panel.locator("#model-gpu").innerText(), /\d+(\.\d)? (KB|MB)/);
        assert.equal(await panel.locator("#action-loadModel").isVisible(), true);

        await closeEditorsTitled(workbench, ["Layer Dial: Speed", "Walkthrough:"]);
    }
};

function walkthroughStepSelector(stepId: string): string {
    return `button.getting-started-step[data-step-id$="#${stepId}"]`;
}
