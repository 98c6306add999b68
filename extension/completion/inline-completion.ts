// Ghost-text completion as you type. VS Code asks on every keystroke; the scheduler answers from its cache
// when the user types into a suggestion, waits out the debounce otherwise, and keeps one request in flight
// (a keystroke cancels VS Code's token, which aborts the request within one decoded token).
import * as vscode from "vscode";
import {CompletionScheduler, type CompletionQuery} from "./scheduler.js";
import type {CompleteParams, CompleteResult} from "../../common/engine-protocol.js";
import {CONTEXT_FILES, contextExcerpt, lineCommentFor, prefixFirstLine, suffixLastLine} from "./completion-query.js";
import type {EngineSession} from "../engine-session.js";
import {DEFAULT_COMPLETION_SETTINGS, readCompletionSettings, type CompletionSettings} from "../settings.js";

type Query = CompletionQuery & Omit<CompleteParams, "requestId" | "speed" | "maxTokens">;

/** the documents completions are offered in (not output panes, not the settings editor's JSON) */
export const COMPLETION_SELECTOR: vscode.DocumentSelector = [{scheme: "file"}, {scheme: "untitled"}];

export class InlineCompletions implements vscode.InlineCompletionItemProvider, vscode.Disposable {
    private readonly scheduler: CompletionScheduler<Query>;
    private settingsValue: CompletionSettings = DEFAULT_COMPLETION_SETTINGS;
    private lastResultValue: CompleteResult | undefined;
    private readonly changeEmitter = new vscode.EventEmitter<void>();
    private readonly disposables: vscode.Disposable[] = [this.changeEmitter];

    /**
     * enabled, busy or the last result changed (for the status bar item). Not named onDidChange: on a provider,
     * that is the proposed API's "ask again" event, which code-server (it enables every proposal) subscribes
     * to: firing it as a request starts made VS Code cancel that request and ask again, in a loop.
     */
    readonly onDidChangeState = this.changeEmitter.event;

    constructor(
        private readonly session: EngineSession,
        private readonly log: vscode.LogOutputChannel
    ) {
        this.scheduler = new CompletionScheduler<Query>({
            debounceMs: DEFAULT_COMPLETION_SETTINGS.debounceMs,
            backend: (query, signal) => this.request(query, signal)
        });
        this.readSettings();
        this.disposables.push(
            vscode.workspace.onDidChangeConfiguration((event) => {
                if (!event.affectsConfiguration("layerDial.completion")) return;
                this.readSettings();
                // a suggestion made at another level or length is not what the user now asks for
                this.scheduler.cancel();
                this.scheduler.cache.clear();
                this.changeEmitter.fire();
            }),
            // a new model writes different suggestions
            session.onDidChange(() => {
                if (session.model === undefined) this.scheduler.cache.clear();
            })
        );
    }

    get settings(): CompletionSettings {
        return this.settingsValue;
    }

    get busy(): boolean {
        return this.scheduler.busy;
    }

    get lastResult(): CompleteResult | undefined {
        return this.lastResultValue;
    }

    /** keystrokes seen, requests sent, answers from the cache (shown in the status bar's tooltip) */
    get counts() {
        return this.scheduler.counts;
    }

    private readSettings(): void {
        const configuration = vscode.workspace.getConfiguration("layerDial.completion");
        const {settings, warnings} = readCompletionSettings((key) => configuration.get(key));
        for (const warning of warnings) this.log.warn(warning);
        this.settingsValue = settings;
        this.scheduler.debounceMs = settings.debounceMs;
    }

    async provideInlineCompletionItems(
        document: vscode.TextDocument,
        position: vscode.Position,
        _context: vscode.InlineCompletionContext,
        token: vscode.CancellationToken
    ): Promise<vscode.InlineCompletionItem[] | undefined> {
        if (!this.settingsValue.enabled || this.session.model === undefined) return undefined;
        const controller = new AbortController();
        const subscription = token.onCancellationRequested(() => controller.abort());
        try {
            if (token.isCancellationRequested) return undefined;
            const lastLine = suffixLastLine(position.line, document.lineCount);
            const query: Query = {
                documentKey: document.uri.toString(),
                prefix: document.getText(new vscode.Range(prefixFirstLine(position.line), 0, position.line, position.character)),
                suffix: document.getText(new vscode.Range(position, document.lineAt(lastLine).range.end)),
                path: vscode.workspace.asRelativePath(document.uri, false),
                lineComment: lineCommentFor(document.languageId),
                context: otherFiles(document)
            };
            const text = await this.scheduler.suggest(query, controller.signal);
            if (text === undefined || token.isCancellationRequested) return undefined;
            return [new vscode.InlineCompletionItem(text, new vscode.Range(position, position))];
        } catch (error) {
            this.log.error(`Inline completion failed: ${error instanceof Error ? error.message : String(error)}`);
            return undefined;
        } finally {
            subscription.dispose();
        }
    }

    private async request(query: Query, signal: AbortSignal): Promise<string | undefined> {
        const {documentKey: _documentKey, ...params} = query;
        this.changeEmitter.fire();
        try {
            const result = await this.session.complete(
                {
                    ...params,
                    speed: {speed: this.settingsValue.speedLevel},
                    maxTokens: this.settingsValue.maxTokens
                },
                signal
            );
            if (result === undefined || result.stopReason === "aborted") return undefined;
            this.lastResultValue = result;
            const stats = result.stats;
            this.log.debug(
                `Completion (${result.style}, ${stats.keptLayers}/${stats.layerCount} layers): ${stats.generatedTokens} tokens, ` +
                    `first after ${stats.firstTokenMs?.toFixed(0) ?? "-"} ms, all after ${stats.totalMs.toFixed(0)} ms, ` +
                    `${stats.reusedPromptTokens}/${stats.promptTokens} prompt tokens reused, ${result.stopReason}`
            );
            return result.text;
        } finally {
            // the scheduler clears its in-flight mark after this returns
            setImmediate(() => this.changeEmitter.fire());
        }
    }

    /** completions turned off or a different model: nothing in flight may still answer */
    cancel(): void {
        this.scheduler.cancel();
    }

    dispose(): void {
        this.scheduler.cancel();
        for (const disposable of this.disposables) disposable.dispose();
    }
}

/** excerpts of other open files in the same language, visible editors first */
function otherFiles(document: vscode.TextDocument): {path: string; text: string}[] {
    const candidates = [...vscode.window.visibleTextEditors.map((editor) => editor.document), ...vscode.workspace.textDocuments];
    const seen = new Set<string>([document.uri.toString()]);
    const files: {path: string; text: string}[] = [];
    for (const other of candidates) {
        if (files.length >= CONTEXT_FILES) break;
        const key = other.uri.toString();
        if (seen.has(key) || other.languageId !== document.languageId || !["file", "untitled"].includes(other.uri.scheme)) continue;
        seen.add(key);
        files.push({path: vscode.workspace.asRelativePath(other.uri, false), text: contextExcerpt(other.getText())});
    }
    return files;
}
