// The walkthrough's last step: "Open a Sample" opens the story beside it with all of it selected, and
// its "Summarize Selection" writes the summary into a Markdown document titled "Summary of
// sample-story.txt" whose first line is the one-line header. The step is checked afterwards.
import assert from "node:assert/strict";
import path from "node:path";
import type {Scenario} from "./scenario.js";
import {parseSummaryHeader} from "./layer-dial-ui.js";
import {closeEditorsTitled, walkthroughStep} from "./walkthrough-ui.js";

const SAMPLE = "sample-story.txt";
const TITLE = `Summary of ${SAMPLE}`;

export const markdownSummary: Scenario = {
    name: "markdown-summary",
    description: 'walkthrough → Open a Sample, Summarize Selection: a Markdown document titled "Summary of sample-story.txt" fills',
    async run({workbench, modelPath, screenshot}) {
        const page = workbench.page;
        await workbench.runCommand("Welcome: Open Walkthrough...");
        await workbench.pickQuickPickItem(/Get Started with Layer Dial/);
        const step = walkthroughStep(workbench, "trySummarize");
        await step.waitFor({timeout: 30_000});
        if ((await step.getAttribute("aria-expanded")) !== "true") await step.click();

        await page.getByRole("button", {name: "Open a Sample"}).click();
        await page.locator(`.tabs-container .tab[aria-label^="${SAMPLE}"]`).waitFor({timeout: 15_000});
        // the story is in and all of it selected (the tab shows before its text arrives)
        await page.locator(".editor-group-container .monaco-editor .selected-text").first().waitFor({timeout: 15_000});
        await page.getByRole("button", {name: "Summarize Selection"}).click();

        const summaryTab = page.locator(`.tabs-container .tab[aria-label^="${TITLE}"]`).first();
        await summaryTab.waitFor({timeout: 120_000});
        await page.locator(".notifications-toasts .notification-toast", {hasText: "Layer Dial: summarizing"}).waitFor({state: "detached", timeout: 120_000});
        await screenshot("opened");
        assert.equal(await page.locator(`.tabs-container .tab[aria-label^="${TITLE}"]`).count(), 1, "the summary opened in more than one editor");
        await summaryTab.click();
        const editor = workbench.activeEditor();
        const lines = await workbench.waitForEditorText(editor, (shown) => shown.slice(1).join("").trim().length > 0, 10_000, "the summary's text");
        await screenshot();

        const header = parseSummaryHeader(lines[0]);
        assert.ok(header !== undefined, `not the one-line summary header: ${lines[0]}`);
        assert.equal(header.model, path.basename(modelPath), lines[0]);
        assert.match(lines.slice(1).join("\n"), /[A-Za-z]{2,}/, "the summary has no generated text");
        // the language mode the status bar shows for the focused editor
        const language = await page.locator('.part.statusbar [id="status.editor.mode"]').innerText();
        assert.equal(language.trim(), "Markdown");
        assert.equal((await summaryTab.getAttribute("aria-label"))?.startsWith(TITLE), true);
        await page.locator(`button.getting-started-step[data-step-id$="#trySummarize"][aria-checked="true"]`).waitFor({timeout: 15_000});

        await closeEditorsTitled(workbench, [TITLE, SAMPLE, "Walkthrough:"]);
    }
};
