// The walkthrough's "Open a Sample": a short story from the extension's walkthrough folder, opened as a
// new untitled document named sample-story.txt with all of it selected, so Summarize Selection can run
// at once. Untitled, so the installed extension's own file is never edited.
import path from "node:path";
import * as vscode from "vscode";
import {showUntitledBeside} from "./untitled-beside.js";

export const SAMPLE_FILE = "walkthrough/sample-story.txt";

export async function openSummarizeSample(extensionUri: vscode.Uri): Promise<void> {
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(extensionUri, SAMPLE_FILE)));
    const name = path.posix.basename(SAMPLE_FILE);
    const taken = new Set(vscode.workspace.textDocuments.filter((document) => !document.isClosed).map((document) => document.uri.toString()));
    let uri = vscode.Uri.from({scheme: "untitled", path: name});
    for (let copy = 2; taken.has(uri.toString()); copy++) uri = vscode.Uri.from({scheme: "untitled", path: name.replace(/\.txt$/, `-${copy}.txt`)});
    // beside the walkthrough, which stays in view with its Summarize Selection button
    const editor = await showUntitledBeside(uri, {preserveFocus: false});
    const document = editor.document;
    const edit = new vscode.WorkspaceEdit();
    edit.insert(uri, new vscode.Position(0, 0), text);
    await vscode.workspace.applyEdit(edit);
    const end = document.lineAt(document.lineCount - 1).range.end;
    editor.selection = new vscode.Selection(new vscode.Position(0, 0), end);
}
