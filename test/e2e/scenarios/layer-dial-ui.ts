// Layer Dial's UI as the scenarios use it: its commands by palette title, the summary editor and its
// header, the speed status bar item, and the layerDial.model setting changed through the Settings editor.
import fs from "node:fs";
import path from "node:path";
import type {Locator} from "playwright-core";
import {SPEED_ITEM_SELECTOR} from "../harness/probe-server.js";
import type {Workbench} from "../harness/workbench.js";

export const COMMANDS = {
    summarize: "Layer Dial: Summarize Selection",
    generate: "Layer Dial: Generate at Cursor",
    loadModel: "Layer Dial: Load Model",
    toggleCompletion: "Layer Dial: Toggle Inline Completion"
} as const;

/**
 * The inline-completion status bar item. Its element's id is the entry's id, `<extension id>.layerDial.completion`;
 * its icon changes (sparkle, spinner, circle-slash), so the id is what finds it.
 */
export const COMPLETION_ITEM_SELECTOR = '.part.statusbar .statusbar-item[id$=".layerDial.completion"]';

export const STORY_FILE = "story.txt";

/**
 * An empty file the inline-completion scenario types into, so the story stays as the other scenarios expect.
 * The runner writes it before the workbench opens: quick open keeps the file list it first saw, and does not
 * list a file created later.
 */
export const COMPLETION_FILE = "completion.txt";

/** TinyStories-style text, so the tiny stories260K model has something it can continue and summarize. */
export const STORY_TEXT = [
    "Once upon a time, there was a little girl named Lily. She loved to play in the park with her dog Max.",
    "One day, Lily saw a big red ball under a tree. She ran to get it, but Max got there first.",
    "Lily laughed and chased Max around the tree until they were both very tired.",
    "Then they sat in the sun and shared an apple. Lily was happy.",
    ""
].join("\n");

/** `**Layer Dial summary** · `<file>` · <Level> <target>x · <kept>/<total> layers · achieved <x>x`, or `achieved — (<why>)` (extension/commands/summary-format.ts) */
const HEADER = /^\*\*Layer Dial summary\*\* · `([^`]+)` · (\w+) ([\d.]+x|max) · (\d+)\/(\d+) layers · achieved (n\/a|[\d.]+x|— \(.+\))$/;

export type SummaryHeader = {
    model: string;
    level: string;
    target: string;
    keptLayers: number;
    layerCount: number;
    /** undefined while the summary is still being written */
    achieved: string | undefined;
};

export function parseSummaryHeader(line: string): SummaryHeader | undefined {
    const match = HEADER.exec(line.trim());
    if (match === null) return undefined;
    const [, model, level, target, kept, total, achieved] = match;
    return {model, level, target, keptLayers: Number(kept), layerCount: Number(total), achieved: achieved === "n/a" ? undefined : achieved};
}

export type FinishedSummary = {editor: Locator; header: SummaryHeader; headerLine: string; body: string};

/**
 * Opens the story, selects all of it, runs Summarize Selection from the palette, waits for the summary
 * editor to open and then for the run to end: its "Layer Dial: summarizing" progress notification, shown
 * before the editor opens, goes away. (The header's "achieved" is "— (<why>)" when the engine could
 * not measure a speedup, e.g. when the busy machine refused the speed calibration.)
 */
export async function summarizeStory(workbench: Workbench, timeoutMs = 120_000): Promise<FinishedSummary> {
    await workbench.openFile(STORY_FILE);
    await workbench.focusActiveEditor();
    await workbench.page.keyboard.press("Control+A");
    await workbench.runCommand(COMMANDS.summarize);
    const isHeader = (line: string): boolean => line.startsWith("**Layer Dial summary**");
    const editor = await workbench.waitForEditor(isHeader, timeoutMs);
    await workbench.page
        .locator(".notifications-toasts .notification-toast", {hasText: "Layer Dial: summarizing"})
        .waitFor({state: "detached", timeout: timeoutMs});
    const lines = await workbench.waitForEditorText(editor, (shown) => shown.slice(1).join("").trim().length > 0, 10_000, "the summary's text");
    const header = parseSummaryHeader(lines[0]);
    if (header === undefined) throw new Error(`not a summary header: ${lines[0]}`);
    return {editor, header, headerLine: lines[0], body: lines.slice(1).join("\n").trim()};
}

/**
 * Closes the summary editors without the save prompt an untitled document would raise, so the next
 * scenario finds only its own.
 */
export async function closeSummaryEditors(workbench: Workbench): Promise<void> {
    for (;;) {
        const editors = await workbench.visibleEditors().all();
        let summary: Locator | undefined;
        for (const editor of editors) {
            const [first] = await workbench.editorLines(editor);
            if (first?.startsWith("**Layer Dial summary**") === true) summary = editor;
        }
        if (summary === undefined) return;
        await summary.locator(".view-lines").click();
        await workbench.runCommand("View: Revert and Close Editor");
        await summary.waitFor({state: "detached"});
    }
}

export function speedItem(workbench: Workbench): Locator {
    return workbench.statusBarItem(SPEED_ITEM_SELECTOR);
}

/** Waits for the speed item's text (icon excluded, e.g. "1.5x") to satisfy `test`. */
export async function waitForSpeedItemText(workbench: Workbench, test: (text: string) => boolean, timeoutMs = 15_000): Promise<string> {
    return waitForItemText(workbench, speedItem(workbench), "speed", test, timeoutMs);
}

export function completionItem(workbench: Workbench): Locator {
    return workbench.page.locator(COMPLETION_ITEM_SELECTOR).first();
}

/**
 * Waits for the inline-completion item's text (icon excluded: "Balanced" (the level) when on with a model loaded, "Complete"
 * when on without one or off) to satisfy `test`; `spinning` says whether its icon must be the spinner or not.
 */
export async function waitForCompletionItemText(
    workbench: Workbench,
    test: (text: string) => boolean,
    options: {spinning?: boolean; timeoutMs?: number} = {}
): Promise<string> {
    const item = completionItem(workbench);
    const spinner = item.locator(".codicon-loading");
    return waitForItemText(
        workbench,
        item,
        "inline-completion",
        async (text) => test(text) && (options.spinning === undefined || (await spinner.count()) > 0 === options.spinning),
        options.timeoutMs ?? 15_000
    );
}

async function waitForItemText(
    workbench: Workbench,
    item: Locator,
    what: string,
    test: (text: string) => boolean | Promise<boolean>,
    timeoutMs: number
): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = "";
    for (;;) {
        if (await item.isVisible()) {
            text = await workbench.statusBarText(item);
            if (await test(text)) return text;
        }
        if (Date.now() > deadline) throw new Error(`the ${what} status bar item shows "${text}" after ${timeoutMs} ms`);
        await workbench.page.waitForTimeout(100);
    }
}

/**
 * Sets a string setting (`layerDial.model`, say) through the Settings editor, as a user fixing it would: in
 * its User tab, or in its Remote tab for a machine-scoped setting (code-server is a remote window to VS
 * Code, and shows those only there; they go to `<user data>/Machine/settings.json`). The running workbench does not see edits made to settings.json behind its back (code-server
 * 4.100.3 here), so the harness cannot simply rewrite the file. Returns once the workbench's configuration
 * holds the value: a freshly opened Settings editor shows it. Commands run after that reach the extension
 * host after the change does, on the same ordered channel.
 */
export async function setStringSetting(workbench: Workbench, settingsFile: string, key: string, value: string, tab: "User" | "Remote" = "User"): Promise<void> {
    const input = await openSetting(workbench, key, tab);
    await input.fill(value);
    await input.press("Enter");
    await waitForFileValue(workbench, settingsFile, key, value);
    await workbench.runCommand("View: Close Editor");
    const reopened = await openSetting(workbench, key, tab);
    await workbench.page.waitForFunction(
        ([element, expected]) => (element as HTMLInputElement).value === expected,
        [await reopened.elementHandle(), value] as const,
        {timeout: 15_000}
    );
    await workbench.runCommand("View: Close Editor");
}

export async function setModelSetting(workbench: Workbench, userSettingsFile: string, value: string): Promise<void> {
    await setStringSetting(workbench, userSettingsFile, "layerDial.model", value);
}

async function openSetting(workbench: Workbench, key: string, tab: "User" | "Remote"): Promise<Locator> {
    await workbench.runCommand("Preferences: Open User Settings");
    const search = workbench.page.locator(".settings-editor .settings-header .suggest-input-container .monaco-editor");
    if (tab === "Remote") {
        await workbench.page.locator(".settings-editor .settings-tabs-widget .action-label", {hasText: /^Remote/}).click();
        await search.click();
    }
    // the search box (a small editor) has the focus when the Settings editor opens; it may keep an old query
    await workbench.page.locator(".settings-editor .settings-header .suggest-input-container .monaco-editor.focused").waitFor();
    await workbench.page.keyboard.press("Control+A");
    await workbench.page.keyboard.type(`@id:${key}`);
    const input = workbench.page.locator(`.settings-editor .setting-item-contents[data-key="${key}"] .setting-item-control input`);
    await input.waitFor({timeout: 15_000});
    return input;
}

/** The Settings editor writes after a debounce; its write reaching the file is the condition to wait for. */
async function waitForFileValue(workbench: Workbench, file: string, key: string, value: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        try {
            const parsed: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
            if (typeof parsed === "object" && parsed !== null && (parsed as Record<string, unknown>)[key] === value) return;
        } catch {
            // mid-write: read it again
        }
        if (Date.now() > deadline) throw new Error(`${path.basename(file)} did not get ${key} = ${value} within ${timeoutMs} ms`);
        await workbench.page.waitForTimeout(100);
    }
}
