// Drives the VS Code workbench the way a user does: F1 and the command palette, quick open, the
// keyboard in an editor, the status bar, notification toasts. Reads what the user sees from the DOM.
import fsp from "node:fs/promises";
import path from "node:path";
import type {Locator, Page} from "playwright-core";
import {CommandNotInPaletteError} from "./errors.js";

const QUICK_INPUT = ".quick-input-widget";
const QUICK_INPUT_BOX = `${QUICK_INPUT} .quick-input-box input`;
const QUICK_INPUT_ROWS = `${QUICK_INPUT} .quick-input-list .monaco-list-row`;
const TOASTS = ".notifications-toasts .notification-toast";
/** A row's label; the row's second line (a quick pick item's detail) has a .label-name of its own. */
const ROW_LABEL = ".quick-input-list-rows > .quick-input-list-row:first-child .label-name";

/**
 * Waits (at most 2 s) for the page's finite animations; infinite ones (progress bars, the cursor) are left
 * alone. A string, evaluated as an expression in the page, so tsx's esbuild cannot add node-only helpers.
 */
const SETTLE_ANIMATIONS = `Promise.race([
    Promise.all(document.getAnimations()
        .filter((animation) => animation.effect?.getComputedTiming().endTime !== Infinity)
        .map((animation) => animation.finished.catch(() => undefined))),
    new Promise((resolve) => setTimeout(resolve, 2000))
])`;

/**
 * An inline suggestion's ghost text as Monaco 1.100 renders it: the part on the cursor's line is injected
 * text (class ghost-text-decoration, or -preview), further lines are a view zone of .suggest-preview-text lines.
 */
const GHOST_TEXT_INLINE = ".ghost-text-decoration, .ghost-text-decoration-preview";
const GHOST_TEXT_LINES = ".view-zones .suggest-preview-text .view-line";

/** Monaco renders spaces as no-break spaces. */
function plainText(text: string): string {
    return text.replace(/\u00a0/g, " ");
}

export class Workbench {
    /** Each time the palette was opened again: a command not listed at first (the documented flake), an F1 that
     *  opened nothing, or an input that closed before it was typed in. */
    readonly paletteRetries: string[] = [];

    constructor(
        readonly page: Page,
        private readonly screenshotDir: string
    ) {}

    /** Loads a workbench URL and waits for the workbench to render. */
    async open(url: string, timeoutMs = 60_000): Promise<void> {
        await this.page.goto(url);
        await this.page.locator(".monaco-workbench").waitFor({timeout: timeoutMs});
        await this.page.locator(".part.statusbar").waitFor({timeout: timeoutMs});
    }

    async screenshot(name: string): Promise<string> {
        await fsp.mkdir(this.screenshotDir, {recursive: true});
        const file = path.join(this.screenshotDir, `${name}.png`);
        // a toast fades in: let finite animations and transitions end so the picture shows the final state
        await this.page.evaluate(SETTLE_ANIMATIONS).catch(() => undefined);
        await this.page.screenshot({path: file});
        return file;
    }

    private async openQuickInput(text: string): Promise<void> {
        const box = this.page.locator(QUICK_INPUT_BOX);
        for (let attempt = 1; ; attempt++) {
            // a quick input left open (or a notification with focus) would swallow the F1
            if (await this.page.locator(QUICK_INPUT).isVisible()) await this.page.keyboard.press("Escape");
            await this.page.keyboard.press("F1");
            // now and then the F1 goes nowhere (the input stayed hidden for 30 s in two runs, with a webview beside
            // the editor): the title bar's search box opens the same input, and filling it below replaces its text
            const opened = await box.waitFor({state: "visible", timeout: 5_000}).then(
                () => true,
                () => false
            );
            if (!opened) {
                this.paletteRetries.push("(F1 opened nothing; the title bar's search box did)");
                await this.page.locator(".titlebar .command-center .command-center-center").click();
                await box.waitFor({state: "visible"});
            }
            // F1 puts ">" in the box; filling replaces it, so the caller decides between commands (">…") and files.
            // The input closes when it loses focus: a webview whose tab was just clicked takes the focus a moment
            // later (CI, first-run-walkthrough: opened, then hidden for 30 s before it was typed in), so it is opened
            // again, at most twice
            const typed = await box.fill(text, {timeout: 5_000}).then(
                () => true,
                () => false
            );
            if (typed && (await box.inputValue()) === text) return;
            if (attempt === 3) throw new Error(`the quick input closed before "${text}" could be typed in, three times`);
            this.paletteRetries.push(`(the quick input closed before "${text}" was typed in)`);
        }
    }

    /**
     * After a command is picked the palette closes, or the same widget turns into the command's own
     * input box or quick pick; either way the palette's query is gone from it.
     */
    private async waitForPaletteGone(query: string): Promise<void> {
        await this.page.waitForFunction(
            ([selector, boxSelector, text]) => {
                const widget = document.querySelector<HTMLElement>(selector);
                const box = document.querySelector<HTMLInputElement>(boxSelector);
                return widget === null || widget.style.display === "none" || box === null || box.value !== text;
            },
            [QUICK_INPUT, QUICK_INPUT_BOX, query] as const
        );
    }

    /** The description shown beside a quick pick row's label (e.g. a level's layers and predicted speedup). */
    async quickPickDescription(label: string): Promise<string> {
        const row = this.page
            .locator(QUICK_INPUT_ROWS)
            .filter({
                has: this.page.locator(ROW_LABEL, {hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`)})
            })
            .first();
        return plainText(await row.locator(".label-description").first().innerText()).trim();
    }

    /** Types into an input box a command opened (showInputBox) and accepts it. */
    async answerInputBox(text: string, timeoutMs = 15_000): Promise<void> {
        const box = this.page.locator(QUICK_INPUT_BOX);
        await box.waitFor({state: "visible", timeout: timeoutMs});
        await box.fill(text);
        await box.press("Enter");
        await this.page.locator(QUICK_INPUT).waitFor({state: "hidden", timeout: timeoutMs});
    }

    /** The labels of the quick input's rows as shown now. */
    async quickInputLabels(): Promise<string[]> {
        return (await this.page.locator(`${QUICK_INPUT_ROWS} ${ROW_LABEL}`).allTextContents()).map((label) => plainText(label).trim());
    }

    /**
     * Waits until the list's rows settle on either a row labelled exactly `label` (returned) or a list
     * without it ("No matching commands"), in which case undefined.
     */
    private async findRow(label: string, timeoutMs: number): Promise<Locator | undefined> {
        const row = this.page
            .locator(QUICK_INPUT_ROWS)
            .filter({
                has: this.page.locator(ROW_LABEL, {hasText: new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`)})
            })
            .first();
        const noMatch = this.page.locator(QUICK_INPUT_ROWS, {hasText: /^No matching/}).first();
        await row.or(noMatch).waitFor({timeout: timeoutMs});
        return (await row.isVisible()) ? row : undefined;
    }

    /**
     * Runs a command from the palette by its title. The palette can open before the extension host has
     * registered an extension's commands and then never refreshes; so when the title is missing it closes
     * and reopens once (../shared/docs/vscode-e2e-offline.md: at most one retry seen in 10 runs).
     */
    async runCommand(title: string, timeoutMs = 15_000): Promise<void> {
        for (let attempt = 0; attempt < 2; attempt++) {
            await this.openQuickInput(`>${title}`);
            const row = await this.findRow(title, timeoutMs);
            if (row !== undefined) {
                await row.click();
                await this.waitForPaletteGone(`>${title}`);
                return;
            }
            const shown = await this.quickInputLabels();
            await this.page.keyboard.press("Escape");
            if (attempt === 1) throw new CommandNotInPaletteError(title, shown);
            this.paletteRetries.push(title);
        }
    }

    /** The labels of a quick pick a command or a click opened, once it shows rows. */
    async waitForQuickPickLabels(timeoutMs = 15_000): Promise<string[]> {
        await this.page.locator(QUICK_INPUT_ROWS).first().waitFor({timeout: timeoutMs});
        return this.quickInputLabels();
    }

    /** Picks a row of an open quick pick (one a command opened) by its exact label. */
    async pickQuickPickItem(label: string | RegExp, timeoutMs = 15_000): Promise<void> {
        const matcher = typeof label === "string" ? new RegExp(`^\\s*${escapeRegExp(label)}\\s*$`) : label;
        const row = this.page
            .locator(QUICK_INPUT_ROWS)
            .filter({has: this.page.locator(ROW_LABEL, {hasText: matcher})})
            .first();
        await row.waitFor({timeout: timeoutMs});
        await row.click();
        await this.page.locator(QUICK_INPUT).waitFor({state: "hidden", timeout: timeoutMs});
    }

    /** Opens a workspace file through quick open (F1, then a file name instead of a ">" command). */
    async openFile(fileName: string, timeoutMs = 15_000): Promise<void> {
        await this.openQuickInput(fileName);
        const row = await this.findRow(fileName, timeoutMs);
        if (row === undefined) throw new Error(`quick open does not list ${fileName}`);
        await row.click();
        await this.activeEditor().locator(".view-lines").waitFor({timeout: timeoutMs});
        await this.page.locator(`.tabs-container .tab.active[aria-label^="${fileName}"]`).waitFor({timeout: timeoutMs});
    }

    /** The editor of the focused editor group. */
    activeEditor(): Locator {
        return this.page.locator(".editor-group-container.active .editor-instance .monaco-editor").first();
    }

    /** Editors shown in any group. */
    visibleEditors(): Locator {
        return this.page.locator(".editor-group-container .editor-instance .monaco-editor");
    }

    /** Puts the keyboard focus in the active editor's text. */
    async focusActiveEditor(): Promise<void> {
        await this.activeEditor().locator(".view-lines").click();
    }

    /**
     * The text an editor shows, one entry per document line, top to bottom. Monaco renders only the lines
     * in view, not necessarily in DOM order, so they are sorted by offset; a line the editor wraps is
     * several view lines, of which only the first has a line number in the gutter, so they are joined.
     * Ghost text (an inline suggestion not accepted yet) is not part of the document and is left out.
     */
    async editorLines(editor: Locator): Promise<string[]> {
        // runs in the page: no named inner functions, which tsx's esbuild would wrap in a node-only `__name` helper
        const {lines, numbered} = await editor.evaluate(
            (root, ghostSelector) => ({
                lines: [...root.querySelectorAll(".view-lines .view-line")].map((element) => {
                    // a suggestion's inline part is injected text inside the line's own spans
                    const copy = element.cloneNode(true) as HTMLElement;
                    copy.querySelectorAll(ghostSelector).forEach((ghost) => ghost.remove());
                    return {top: parseFloat((element as HTMLElement).style.top), text: copy.textContent ?? ""};
                }),
                numbered: [...root.querySelectorAll(".margin-view-overlays > div")]
                    .filter((element) => (element.querySelector(".line-numbers")?.textContent ?? "").trim() !== "")
                    .map((element) => parseFloat((element as HTMLElement).style.top))
            }),
            GHOST_TEXT_INLINE
        );
        const starts = new Set(numbered);
        const joined: string[] = [];
        for (const line of lines.sort((a, b) => a.top - b.top)) {
            // a gutter without numbers (lineNumbers off) means no wrapping information: every view line is a line
            if (joined.length === 0 || starts.size === 0 || starts.has(line.top)) joined.push(plainText(line.text));
            else joined[joined.length - 1] += plainText(line.text);
        }
        return joined;
    }

    /**
     * The ghost text an editor shows now (an inline suggestion's inline part, then its further lines, each
     * after a line break), or undefined when it shows none.
     */
    async ghostText(editor: Locator): Promise<string | undefined> {
        const {inline, lines} = await editor.evaluate(
            (root, [inlineSelector, linesSelector]) => ({
                inline: [...root.querySelectorAll(`.view-lines :is(${inlineSelector})`)].map((element) => element.textContent ?? ""),
                lines: [...root.querySelectorAll(linesSelector)].map((element) => ({
                    top: parseFloat((element as HTMLElement).style.top),
                    text: element.textContent ?? ""
                }))
            }),
            [GHOST_TEXT_INLINE, GHOST_TEXT_LINES] as const
        );
        if (inline.length === 0 && lines.length === 0) return undefined;
        const below = lines.sort((a, b) => a.top - b.top).map((line) => `\n${plainText(line.text)}`);
        return plainText(inline.join("")) + below.join("");
    }

    /** Waits until the editor shows ghost text that `test` accepts; returns it. */
    async waitForGhostText(editor: Locator, test: (ghost: string) => boolean, timeoutMs: number): Promise<string> {
        const deadline = Date.now() + timeoutMs;
        let ghost: string | undefined;
        for (;;) {
            ghost = await this.ghostText(editor);
            if (ghost !== undefined && test(ghost)) return ghost;
            if (Date.now() > deadline)
                throw new Error(`no ghost text within ${timeoutMs} ms; ${ghost === undefined ? "none shown" : `shown: ${JSON.stringify(ghost)}`}`);
            await this.page.waitForTimeout(50);
        }
    }

    /** The first visible editor whose first line satisfies `test`, waiting for it to appear. */
    async waitForEditor(test: (firstLine: string) => boolean, timeoutMs: number): Promise<Locator> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const editors = await this.visibleEditors().all();
            for (const editor of editors) {
                const [first] = await this.editorLines(editor);
                if (first !== undefined && test(first)) return editor;
            }
            if (Date.now() > deadline) throw new Error(`no editor appeared whose first line matched within ${timeoutMs} ms`);
            await this.page.waitForTimeout(100);
        }
    }

    /** Polls the editor's text until `test` accepts it; returns that text. */
    async waitForEditorText(editor: Locator, test: (lines: string[]) => boolean, timeoutMs: number, what: string): Promise<string[]> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const lines = await this.editorLines(editor);
            if (test(lines)) return lines;
            if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms; the editor shows:\n${lines.join("\n")}`);
            await this.page.waitForTimeout(100);
        }
    }

    /** A status bar item, found by what it contains (e.g. a codicon's class). */
    statusBarItem(has: string): Locator {
        return this.page.locator(".part.statusbar .statusbar-item", {has: this.page.locator(has)}).first();
    }

    async statusBarText(item: Locator): Promise<string> {
        return plainText(await item.innerText()).trim();
    }

    /** The notification toast containing `text`, waiting for it to appear. */
    async waitForToast(text: string | RegExp, timeoutMs: number): Promise<Locator> {
        const toast = this.page.locator(TOASTS, {hasText: text}).first();
        await toast.waitFor({timeout: timeoutMs});
        return toast;
    }

    async toastTexts(): Promise<string[]> {
        return (await this.page.locator(TOASTS).allInnerTexts()).map((text) => plainText(text).trim());
    }

    /** Closes every notification toast, so the next scenario's toasts are its own. */
    async clearNotifications(): Promise<void> {
        const toasts = this.page.locator(TOASTS);
        if ((await toasts.count()) === 0) return;
        await this.runCommand("Notifications: Clear All Notifications");
        await toasts.first().waitFor({state: "detached"});
    }
}

function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
