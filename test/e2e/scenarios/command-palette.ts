// The Command Palette lists Layer Dial's commands under their category and hides those that cannot run:
// Summarize Selection appears only with text selected, Stop Generation only while something runs.
import assert from "node:assert/strict";
import {CommandNotInPaletteError} from "../harness/errors.js";
import type {Workbench} from "../harness/workbench.js";
import {COMMANDS, STORY_FILE} from "./layer-dial-ui.js";
import type {Scenario} from "./scenario.js";

const QUICK_INPUT = ".quick-input-widget";
const QUICK_INPUT_ROWS = `${QUICK_INPUT} .quick-input-list .monaco-list-row`;

function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Opens the palette with `>title` and waits until its list settles on the command's row, or on no command
 * matching; says which, and leaves the palette open (the caller takes a picture or presses Escape).
 */
export async function paletteLists(workbench: Workbench, title: string, timeoutMs = 15_000): Promise<boolean> {
    const page = workbench.page;
    if (await page.locator(QUICK_INPUT).isVisible()) await page.keyboard.press("Escape");
    await page.keyboard.press("F1");
    const box = page.locator(`${QUICK_INPUT} .quick-input-box input`);
    await box.waitFor({state: "visible"});
    await box.fill(`>${title}`);
    const row = page
        .locator(QUICK_INPUT_ROWS)
        .filter({has: page.locator(".label-name", {hasText: new RegExp(`^\\s*${escapeRegExp(title)}\\s*$`)})})
        .first();
    // with no command matching, VS Code 1.100 offers "similar commands" (or says "No matching commands");
    // a matching command is listed above those, in the same update
    const noMatch = page.locator(QUICK_INPUT_ROWS, {hasText: /^No matching/}).first();
    const similar = page.locator(QUICK_INPUT_ROWS, {hasText: "similar commands"}).first();
    await row.or(noMatch).or(similar).first().waitFor({timeout: timeoutMs});
    return row.isVisible();
}

/**
 * Shows a command in the palette without running it. The palette can open before the extension's commands
 * are registered and never refresh (test/e2e/README.md), so it is reopened once.
 */
export async function showCommandInPalette(workbench: Workbench, title: string): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
        if (await paletteLists(workbench, title)) return;
        const shown = await workbench.quickInputLabels();
        await workbench.page.keyboard.press("Escape");
        if (attempt === 1) throw new CommandNotInPaletteError(title, shown);
    }
}

async function closePalette(workbench: Workbench): Promise<void> {
    await workbench.page.keyboard.press("Escape");
    await workbench.page.locator(QUICK_INPUT).waitFor({state: "hidden"});
}

export const commandPalette: Scenario = {
    name: "command-palette",
    description: "palette: commands under 'Layer Dial'; Summarize only with a selection, Stop only while running",
    async run({workbench, screenshot}) {
        await workbench.openFile(STORY_FILE);
        // a click puts the cursor in the text without selecting anything
        await workbench.focusActiveEditor();
        await workbench.page.keyboard.press("Control+End");
        // the extension's commands are registered: a command that is always available is listed
        await showCommandInPalette(workbench, "Layer Dial: Open Speed Panel");
        await closePalette(workbench);

        assert.equal(await paletteLists(workbench, COMMANDS.summarize), false, "Summarize Selection is listed with nothing selected");
        await screenshot("no-selection");
        await closePalette(workbench);
        assert.equal(await paletteLists(workbench, "Layer Dial: Stop Generation"), false, "Stop Generation is listed with nothing running");
        await closePalette(workbench);

        await workbench.focusActiveEditor();
        await workbench.page.keyboard.press("Control+A");
        assert.equal(await paletteLists(workbench, COMMANDS.summarize), true, "Summarize Selection is not listed with the story selected");
        await screenshot("selection");
        await closePalette(workbench);
    }
};
