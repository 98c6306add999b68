// The side editor a summary streams into: an untitled Markdown document named after its source
// ("Summary of story.txt"), which the extension appends to. Tokens arrive faster than edits apply, so
// text is buffered and written by one drain loop at a time.
import * as vscode from "vscode";
import {summaryTitle} from "./summary-format.js";
import {showUntitledBeside} from "./untitled-beside.js";

/** Text arriving faster than this is written in batches: smooth enough to watch, cheap to render. */
const MIN_EDIT_INTERVAL_MS = 100;

export class SummaryDocument {
    private buffer = "";
    private draining: Promise<void> | undefined;

    private constructor(readonly document: vscode.TextDocument) {}

    /**
     * Opens `Summary of <sourceName>` beside the active editor as Markdown, keeping the focus where the
     * user is. An untitled URI with a name gives the tab its title (an unnamed one would take the first
     * line), and saving suggests that name.
     */
    static async open(sourceName: string, header: string): Promise<SummaryDocument> {
        const open = new Set(vscode.workspace.textDocuments.filter((document) => !document.isClosed).map((document) => document.uri.toString()));
        const uriFor = (title: string) => vscode.Uri.from({scheme: "untitled", path: title});
        const uri = uriFor(summaryTitle(sourceName, (title) => open.has(uriFor(title).toString())));
        // shown before it is given its language and header, so the first edit lands in a visible editor
        const shown = await showUntitledBeside(uri, {preserveFocus: true});
        // the name's extension (.txt, .py) chose the language; a summary is Markdown whatever it summarizes
        const document = await vscode.languages.setTextDocumentLanguage(shown.document, "markdown");
        const edit = new vscode.WorkspaceEdit();
        edit.insert(uri, new vscode.Position(0, 0), `${header}\n\n`);
        await vscode.workspace.applyEdit(edit);
        return new SummaryDocument(document);
    }

    append(text: string): void {
        if (text.length === 0) return;
        this.buffer += text;
        this.draining ??= this.drain().finally(() => {
            this.draining = undefined;
        });
    }

    /** Resolves once everything appended so far is in the document. */
    async flush(): Promise<void> {
        while (this.draining !== undefined) await this.draining;
    }

    async setHeader(header: string): Promise<void> {
        await this.flush();
        if (this.document.isClosed) return;
        const edit = new vscode.WorkspaceEdit();
        edit.replace(this.document.uri, this.document.lineAt(0).range, header);
        await vscode.workspace.applyEdit(edit);
    }

    private async drain(): Promise<void> {
        while (this.buffer.length > 0) {
            const started = Date.now();
            const text = this.buffer;
            this.buffer = "";
            // closed by the user: the run goes on (the panel and the log still see it), the document is gone
            if (this.document.isClosed) return;
            const end = this.document.lineAt(this.document.lineCount - 1).range.end;
            const edit = new vscode.WorkspaceEdit();
            edit.insert(this.document.uri, end, text);
            await vscode.workspace.applyEdit(edit);
            // an edit per token re-renders the editor per token, and that CPU is taken from the model
            const wait = MIN_EDIT_INTERVAL_MS - (Date.now() - started);
            if (wait > 0 && this.buffer.length > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
    }
}
