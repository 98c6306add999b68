// showUntitledBeside in a real VS Code, against the race VS Code itself sets up: a named untitled document
// is dirty as soon as it exists, and VS Code opens a dirty untitled document that no editor shows in the
// active group. The first test lets that happen before the document is shown (as a slow show does in a
// busy window); the summary and the walkthrough's sample must still end up beside, and only there.
import assert from "node:assert/strict";
import * as vscode from "vscode";
import {showUntitledBeside} from "../../../extension/commands/untitled-beside.js";
import {suite, teardown, test} from "./mocha-tdd.js";

function tabsShowing(uri: vscode.Uri): vscode.Tab[] {
    return vscode.window.tabGroups.all
        .flatMap((group) => group.tabs)
        .filter((tab) => tab.input instanceof vscode.TabInputText && tab.input.uri.toString() === uri.toString());
}

/** Resolves with the first tab that shows `uri`, already open or opened later. */
function tabShowing(uri: vscode.Uri): Promise<vscode.Tab> {
    return new Promise((resolve) => {
        const listener = vscode.window.tabGroups.onDidChangeTabs(() => {
            const [tab] = tabsShowing(uri);
            if (tab === undefined) return;
            listener.dispose();
            resolve(tab);
        });
        const [open] = tabsShowing(uri);
        if (open === undefined) return;
        listener.dispose();
        resolve(open);
    });
}

suite("a named untitled document shown beside", () => {
    const created: vscode.Uri[] = [];
    const freshUri = (): vscode.Uri => {
        const uri = vscode.Uri.from({scheme: "untitled", path: `beside-test-${created.length}-${Date.now()}.txt`});
        created.push(uri);
        return uri;
    };
    /** The editor the user works in: column one, focused, not dirty. */
    const workingEditor = async (): Promise<vscode.TextEditor> =>
        vscode.window.showTextDocument(await vscode.workspace.openTextDocument({language: "plaintext"}), {viewColumn: vscode.ViewColumn.One});

    teardown(async () => {
        // named untitled documents are dirty: reverted first, so closing them asks nothing
        for (const uri of created.splice(0)) {
            if (tabsShowing(uri).length === 0) continue;
            await vscode.window.showTextDocument(uri, {viewColumn: vscode.ViewColumn.Active, preview: false});
            await vscode.commands.executeCommand("workbench.action.revertAndCloseActiveEditor");
        }
        await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    });

    test("a copy VS Code opened in the working group before the document was shown is closed; it stays beside", async () => {
        const working = await workingEditor();
        const uri = freshUri();
        await vscode.workspace.openTextDocument(uri);
        const copy = await tabShowing(uri);
        assert.equal(
            copy.group.viewColumn,
            vscode.ViewColumn.One,
            "VS Code no longer opens a dirty untitled document in the active group; the race this guards against may be gone"
        );

        const editor = await showUntitledBeside(uri, {preserveFocus: true});
        assert.equal(editor.viewColumn, vscode.ViewColumn.Two);
        assert.deepEqual(
            tabsShowing(uri).map((tab) => tab.group.viewColumn),
            [vscode.ViewColumn.Two]
        );
        assert.equal(vscode.window.activeTextEditor?.document, working.document, "the focus left the working editor");
    });

    test("without the race: shown beside once, and the focus moves to it when asked", async () => {
        await workingEditor();
        const uri = freshUri();
        const editor = await showUntitledBeside(uri, {preserveFocus: false});
        assert.equal(editor.viewColumn, vscode.ViewColumn.Two);
        assert.equal(editor.document.uri.toString(), uri.toString());
        assert.deepEqual(
            tabsShowing(uri).map((tab) => tab.group.viewColumn),
            [vscode.ViewColumn.Two]
        );
        assert.equal(vscode.window.activeTextEditor?.document.uri.toString(), uri.toString());
    });
});
