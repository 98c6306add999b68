// Inline completion as a user meets it: load the model, type in a file, a ghost-text suggestion appears
// after a pause, Tab accepts exactly what was shown, and one Undo takes the suggestion back out while
// what was typed stays.
import assert from "node:assert/strict";
import {COMMANDS, COMPLETION_FILE, completionItem, waitForCompletionItemText} from "./layer-dial-ui.js";
import type {Scenario} from "./scenario.js";

/**
 * stories260K continues this (greedy, every layer) with " there was a little girl named Lily". The comma
 * ends the word, so VS Code's word-based suggest widget (which would take the Tab) is closed.
 */
const TYPED = "Once upon a time,";
/** between keystrokes: quicker than the 200 ms debounce, as a user types */
const KEY_DELAY_MS = 60;

export const inlineCompletion: Scenario = {
    name: "inline-completion",
    description: "Load Model, type in a file: ghost text appears; Tab accepts it; one Undo removes only the suggestion",
    async run({workbench, screenshot}) {
        const page = workbench.page;
        const item = completionItem(workbench);
        await item.waitFor({timeout: 15_000});
        // "Complete" before any model is loaded (this scenario alone), "Balanced" when an earlier one loaded it
        const initial = await waitForCompletionItemText(workbench, (text) => text === "Complete" || text === "Balanced");
        assert.equal(await item.locator(".codicon-circle-slash").count(), 0, `inline completion is off: ${initial}`);

        await workbench.runCommand(COMMANDS.loadModel);
        // the default completion level, and a sparkle (not the spinner): loaded and idle
        await waitForCompletionItemText(workbench, (text) => text === "Balanced", {spinning: false, timeoutMs: 120_000});
        assert.equal(await item.locator(".codicon-sparkle").count(), 1, "the item has no sparkle once the model is loaded");

        // empty, written by the runner
        await workbench.openFile(COMPLETION_FILE);
        const editor = workbench.activeEditor();
        await workbench.focusActiveEditor();
        await page.keyboard.type(TYPED, {delay: KEY_DELAY_MS});
        const typedAt = Date.now();
        await workbench.waitForEditorText(editor, (lines) => lines.join("\n") === TYPED, 5_000, "the typed text");

        const ghost = await workbench.waitForGhostText(editor, (text) => text.trim().length > 0, 60_000);
        const shownAfterMs = Date.now() - typedAt;
        console.log(`e2e: inline completion: ghost text ${JSON.stringify(ghost)}, shown ${shownAfterMs} ms after the last keystroke`);
        assert.match(ghost, /[A-Za-z]{2,}/, `the suggestion has no words: ${JSON.stringify(ghost)}`);
        assert.ok(!ghost.includes("\n"), `on a line with text the suggestion completes that line only: ${JSON.stringify(ghost)}`);
        // ghost text is shown, not written: the document still holds only what was typed
        assert.equal((await workbench.editorLines(editor)).join("\n"), TYPED, "the suggestion was written before Tab");
        // Tab would go to an open suggest widget instead of the ghost text
        await page.locator(".monaco-editor .suggest-widget.visible").waitFor({state: "hidden", timeout: 5_000});
        await screenshot("ghost");

        await page.keyboard.press("Tab");
        const accepted = (await workbench.waitForEditorText(editor, (lines) => lines.join("\n") !== TYPED, 10_000, "the accepted suggestion")).join("\n");
        assert.equal(accepted, TYPED + ghost, "Tab did not insert exactly the ghost text shown");
        await screenshot("accepted");

        await page.keyboard.press("Control+Z");
        await workbench.waitForEditorText(editor, (lines) => lines.join("\n") === TYPED, 10_000, "the typed text, without the suggestion, after one Undo");
        await screenshot("undone");

        // leave no dirty editor behind for the scenarios after this one, and the file empty for a next run
        await workbench.runCommand("View: Revert and Close Editor");
        await page.locator(`.tabs-container .tab[aria-label^="${COMPLETION_FILE}"]`).waitFor({state: "detached", timeout: 10_000});
    }
};
