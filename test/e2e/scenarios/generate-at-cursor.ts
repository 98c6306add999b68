// Generate at Cursor asks for an instruction and inserts the answer at the cursor as one edit: one
// Undo brings back exactly the text there was.
import assert from "node:assert/strict";
import {COMMANDS, STORY_FILE} from "./layer-dial-ui.js";
import type {Scenario} from "./scenario.js";

export const generateAtCursor: Scenario = {
    name: "generate-at-cursor",
    description: "palette → Generate at Cursor: text is inserted at the cursor; one Undo removes all of it",
    async run({workbench, screenshot}) {
        await workbench.openFile(STORY_FILE);
        const editor = workbench.activeEditor();
        await workbench.focusActiveEditor();
        await workbench.page.keyboard.press("Control+End");
        const before = (await workbench.editorLines(editor)).join("\n");

        await workbench.runCommand(COMMANDS.generate);
        await workbench.answerInputBox("Continue the story");
        const noText = workbench.page.locator(".notifications-toasts .notification-toast", {hasText: "returned no text"});
        const after = (await workbench.waitForEditorText(editor, (lines) => lines.join("\n") !== before || false, 120_000, "the inserted text")).join("\n");
        assert.equal(await noText.count(), 0, "the model returned no text");
        await screenshot();
        assert.ok(after.length > before.length, `nothing was added:\n${after}`);
        assert.match(after.slice(before.trimEnd().length), /[A-Za-z]{2,}/, "the inserted text has no words");

        await workbench.focusActiveEditor();
        await workbench.page.keyboard.press("Control+Z");
        await workbench.waitForEditorText(editor, (lines) => lines.join("\n") === before, 10_000, "the original text after one Undo");
        await screenshot("undone");
    }
};
