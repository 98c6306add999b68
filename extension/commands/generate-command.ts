// Layer Dial: Generate at Cursor. Asks for an instruction, streams the answer into a progress
// notification, and inserts it as one edit, so a single Undo removes all of it. It goes where the cursor
// was, moved by any edits made meanwhile (insertion-anchor.ts). With a selection, the selection is the
// context and the text goes after it.
import * as vscode from "vscode";
import type {EngineSession} from "../engine-session.js";
import {BinarySelectionError, NoSelectionError} from "../errors.js";
import {InsertionAnchor} from "./insertion-anchor.js";
import {generatePrompt, stripCodeFence} from "./prompts.js";
import type {SerialQueue} from "../serial-queue.js";
import {selectedText} from "./summarize-command.js";
import {looksBinary} from "./text-input.js";

/** The notification shows the end of the streamed text; a line is about this long. */
const PREVIEW_CHARACTERS = 60;
const PROGRESS_INTERVAL_MS = 150;

export class GenerateAtCursorCommand {
    constructor(
        private readonly session: EngineSession,
        private readonly queue: SerialQueue,
        private readonly log: vscode.LogOutputChannel
    ) {}

    async run(): Promise<void> {
        const editor = vscode.window.activeTextEditor;
        if (editor === undefined)
            throw new NoSelectionError('Open a file and place the cursor where the text should go, then run "Layer Dial: Generate at Cursor".');
        const context = selectedText(editor);
        if (context !== undefined && looksBinary(context))
            throw new BinarySelectionError("The selection looks like binary data, not text; select code or text to use as context.");
        const instruction = await vscode.window.showInputBox({
            title: "Layer Dial: Generate at Cursor",
            prompt:
                context === undefined ? "What should be written at the cursor?" : "What should be written after the selection? (the selection is the context)",
            placeHolder: "e.g. a function that parses ISO dates",
            ignoreFocusOut: true,
            validateInput: (value) => (value.trim().length === 0 ? "Type an instruction, or press Escape to cancel" : undefined)
        });
        if (instruction === undefined || instruction.trim().length === 0) return;
        const document = editor.document;
        const position = context === undefined ? editor.selection.active : editor.selection.end;
        const languageId = document.languageId;
        // the user may keep editing while the model writes: the text goes where the cursor was, moved by those edits
        const anchor = new InsertionAnchor(document.offsetAt(position));
        const tracking = vscode.workspace.onDidChangeTextDocument((event) => {
            if (event.document === document) anchor.move(event.contentChanges);
        });

        let text: string;
        try {
            text = await vscode.window.withProgress(
                {
                    location: vscode.ProgressLocation.Notification,
                    title: "Layer Dial: generating",
                    cancellable: true
                },
                async (progress, token) => {
                    const command = this.session.beginCommand(token);
                    try {
                        return await this.queue.run(
                            async () => {
                                await this.session.ensureModel(progress);
                                command.signal.throwIfAborted();
                                progress.report({message: "writing…"});
                                let streamed = "";
                                let reportedAt = 0;
                                const result = await this.session.generate(
                                    {
                                        ...generatePrompt(instruction, context, languageId),
                                        maxTokens: this.session.settings.maxTokens,
                                        temperature: this.session.settings.temperature
                                    },
                                    {
                                        title: `Generate: ${instruction.trim().slice(0, 60)}`,
                                        signal: command.signal,
                                        onText: (piece) => {
                                            streamed += piece;
                                            // the notification re-renders on every report; a few a second are enough to watch
                                            if (Date.now() - reportedAt < PROGRESS_INTERVAL_MS) return;
                                            reportedAt = Date.now();
                                            const tail = streamed.replace(/\s+/g, " ").slice(-PREVIEW_CHARACTERS);
                                            progress.report({message: `${streamed.length} characters: …${tail}`});
                                        }
                                    }
                                );
                                command.signal.throwIfAborted();
                                return stripCodeFence(result.text);
                            },
                            {signal: command.signal, onWait: () => progress.report({message: "waiting for the running request to finish…"})}
                        );
                    } finally {
                        command.dispose();
                    }
                }
            );
        } finally {
            tracking.dispose();
        }
        if (text.length === 0) {
            void vscode.window.showInformationMessage("Layer Dial: the model returned no text; nothing was inserted.");
            return;
        }
        if (anchor.offset === undefined) {
            // nothing is lost: the answer goes to the clipboard instead of a place the user did not choose
            await vscode.env.clipboard.writeText(text);
            void vscode.window.showWarningMessage(
                "Layer Dial: the text around the cursor was edited while the model wrote, so the answer was not inserted. It is on the clipboard."
            );
            this.log.info(`The insertion point in ${document.uri.toString(true)} was edited away; ${text.length} characters copied to the clipboard`);
            return;
        }
        await insertAsOneEdit(document, document.positionAt(anchor.offset), text);
        this.log.info(`Inserted ${text.length} characters into ${document.uri.toString(true)}`);
    }
}

/** One edit with undo stops on both sides: one Undo takes all of it back. */
async function insertAsOneEdit(document: vscode.TextDocument, position: vscode.Position, text: string): Promise<void> {
    const at = document.validatePosition(position);
    const editor = vscode.window.visibleTextEditors.find((visible) => visible.document === document);
    if (editor !== undefined) {
        const applied = await editor.edit((builder) => builder.insert(at, text), {undoStopBefore: true, undoStopAfter: true});
        if (applied) return;
    }
    // the editor was closed or hidden while the model wrote: edit the document itself
    const edit = new vscode.WorkspaceEdit();
    edit.insert(document.uri, at, text);
    if (!(await vscode.workspace.applyEdit(edit)))
        throw new Error(`Could not insert the generated text into ${document.uri.toString(true)}; it may have been closed.`);
}
