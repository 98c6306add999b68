// Shows a named untitled document (untitled:Summary of story.txt) beside the active editor, and only there.
//
// Such a document is dirty from the moment openTextDocument creates it (VS Code marks an untitled document
// with a name dirty at once), and VS Code opens every dirty untitled document that no editor shows, in the
// active group, 800 ms after it became dirty (TextFileEditorTracker, VS Code 1.100). When showing it beside
// takes longer than that, in a busy window or extension host, the document lands in two groups: beside,
// where it belongs, and behind the editor the user is working in. That second copy is closed again here.
import * as vscode from "vscode";

/**
 * How long after the document is shown a copy VS Code opens is still looked for: its own delay is 800 ms,
 * counted from before the document was shown, and opening that copy can be slow in the same busy window.
 */
const LATE_COPY_WATCH_MS = 5_000;

export type ShowUntitledBesideOptions = {
    /** Keep the focus in the editor the user is in (a summary streams in beside it). */
    preserveFocus: boolean;
};

export async function showUntitledBeside(uri: vscode.Uri, options: ShowUntitledBesideOptions): Promise<vscode.TextEditor> {
    const target = uri.toString();
    let home: vscode.ViewColumn | undefined;
    const closeCopies = async (tabs: readonly vscode.Tab[]): Promise<void> => {
        if (home === undefined) return;
        const copies = tabs.filter((tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === target && tab.group.viewColumn !== home);
        // no save prompt: the document stays open beside
        if (copies.length > 0) await vscode.window.tabGroups.close(copies, true);
    };
    // VS Code opens its copy inactive (behind the group's editor, focus kept); a copy the user makes by
    // splitting the editor is active in its group and stays
    const lateCopies = vscode.window.tabGroups.onDidChangeTabs((event) => {
        void closeCopies(event.opened.filter((tab) => !tab.isActive)).catch(() => undefined);
    });
    try {
        const document = await vscode.workspace.openTextDocument(uri);
        const editor = await vscode.window.showTextDocument(document, {
            viewColumn: vscode.ViewColumn.Beside,
            preserveFocus: options.preserveFocus,
            preview: false
        });
        home = editor.viewColumn;
        // any copy elsewhere by now is VS Code's: the user has not seen the document yet
        await closeCopies(vscode.window.tabGroups.all.flatMap((group) => group.tabs));
        setTimeout(() => lateCopies.dispose(), LATE_COPY_WATCH_MS);
        return editor;
    } catch (error) {
        lateCopies.dispose();
        throw error;
    }
}
