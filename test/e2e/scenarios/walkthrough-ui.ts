// The walkthrough and the speed panel as the first-run scenarios use them.
import fs from "node:fs";
import type {Locator} from "playwright-core";
import type {Workbench} from "../harness/workbench.js";

/** The speed panel's webview (its page is in the #active-frame inside): one of this extension's, since the
 *  walkthrough's step pages are webviews too. */
export const SPEED_PANEL = 'iframe.webview[src*="extensionId=layer-dial.layer-dial"]';

/** A step of Layer Dial's walkthrough in the Welcome editor, by its id in package.json. */
export function walkthroughStep(workbench: Workbench, stepId: string): Locator {
    return workbench.page.locator(`button.getting-started-step[data-step-id$="#${stepId}"]`).first();
}

/**
 * Closes the editor tabs whose title starts with one of `titles`, discarding an untitled document's text
 * (Revert and Close asks nothing), so the next scenario finds only its own editors.
 */
export async function closeEditorsTitled(workbench: Workbench, titles: readonly string[]): Promise<void> {
    for (const title of titles) {
        for (;;) {
            const tab = workbench.page.locator(`.tabs-container .tab[aria-label^="${title}"]`).first();
            if ((await tab.count()) === 0) break;
            await tab.click();
            await workbench.runCommand("View: Revert and Close Editor");
            await tab.waitFor({state: "detached"});
        }
    }
}

/** Waits until the user settings file holds `layerDial.model` = `value` (what a command's update writes). */
export async function waitForModelSetting(workbench: Workbench, settingsFile: string, value: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        try {
            const parsed: unknown = JSON.parse(fs.readFileSync(settingsFile, "utf8"));
            if (typeof parsed === "object" && parsed !== null && (parsed as Record<string, unknown>)["layerDial.model"] === value) return;
        } catch {
            // mid-write: read it again
        }
        if (Date.now() > deadline) throw new Error(`the user settings did not get layerDial.model = ${value} within ${timeoutMs} ms`);
        await workbench.page.waitForTimeout(100);
    }
}
