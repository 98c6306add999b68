// Layer Dial: Open Speed Panel. The extension side of the webview: one panel at a time (revealed when
// opened again), restored after a reload by a serializer, kept in step with the status bar through the
// session, and fed the streamed output and run statistics of every request.
import * as vscode from "vscode";
import {MAX_CHUNK_CHARS, MAX_HISTORY, parseFromWebview, type FromWebview, type RunStats, type ToWebview} from "../../common/panel-messages.js";
import {buildPanelHtml, createNonce, PANEL_ASSETS} from "./panel-html.js";
import type {EngineSession, RequestEvent} from "../engine-session.js";
import {panelDepth, panelModelInfo, panelRunStats} from "./panel-model.js";
import {levelForDepth} from "../speed-level.js";

export const SPEED_PANEL_VIEW_TYPE = "layerDial.speedPanel";

/** Streamed text reaches the panel at most this often. */
const OUTPUT_INTERVAL_MS = 100;

/** Owns the run history (so a reopened panel shows it) and the one open panel. */
export class SpeedPanelManager implements vscode.Disposable, vscode.WebviewPanelSerializer {
    private panel: SpeedPanel | undefined;
    private history: RunStats[] = [];
    private readonly disposables: vscode.Disposable[] = [];

    constructor(
        private readonly extensionUri: vscode.Uri,
        private readonly session: EngineSession,
        private readonly log: vscode.LogOutputChannel
    ) {
        this.disposables.push(
            session.onDidRequest((event) => this.onRequest(event)),
            session.onDidChange(() => this.panel?.postState())
        );
    }

    get runHistory(): readonly RunStats[] {
        return this.history;
    }

    createOrShow(): void {
        if (this.panel !== undefined) {
            this.panel.reveal();
            return;
        }
        const panel = vscode.window.createWebviewPanel(
            SPEED_PANEL_VIEW_TYPE,
            "Layer Dial: Speed",
            {
                viewColumn: vscode.ViewColumn.Beside,
                preserveFocus: true
            },
            this.webviewOptions()
        );
        this.attach(panel);
    }

    /** Called by VS Code for a panel that was open when the window last closed. */
    async deserializeWebviewPanel(panel: vscode.WebviewPanel): Promise<void> {
        // a second restored panel (two were open before) replaces the first
        this.panel?.dispose();
        panel.webview.options = this.webviewOptions();
        this.attach(panel);
    }

    private webviewOptions(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
        return {
            enableScripts: true,
            localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, PANEL_ASSETS.root)]
        };
    }

    private attach(webviewPanel: vscode.WebviewPanel): void {
        const panel = new SpeedPanel(webviewPanel, this.extensionUri, this.session, this.log, () => this.history);
        this.panel = panel;
        panel.onDidDispose(() => {
            if (this.panel === panel) this.panel = undefined;
        });
    }

    private onRequest(event: RequestEvent): void {
        this.panel?.postRequestEvent(event);
        if (event.type === "ended" && event.result !== undefined) {
            const run = panelRunStats(event.requestId, event.result, Date.now());
            this.history = [...this.history, run].slice(-MAX_HISTORY);
            this.panel?.post({type: "runStats", run});
        }
    }

    dispose(): void {
        this.panel?.dispose();
        for (const disposable of this.disposables) disposable.dispose();
    }
}

class SpeedPanel {
    private readonly disposables: vscode.Disposable[] = [];
    private ready = false;
    private disposed = false;
    private pendingOutput: {requestId: string; text: string} | undefined;
    private outputTimer: ReturnType<typeof setTimeout> | undefined;
    private readonly disposeEmitter = new vscode.EventEmitter<void>();
    readonly onDidDispose = this.disposeEmitter.event;

    constructor(
        private readonly panel: vscode.WebviewPanel,
        extensionUri: vscode.Uri,
        private readonly session: EngineSession,
        private readonly log: vscode.LogOutputChannel,
        private readonly history: () => readonly RunStats[]
    ) {
        const webview = panel.webview;
        const asset = (relative: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, relative)).toString();
        webview.html = buildPanelHtml({
            cspSource: webview.cspSource,
            nonce: createNonce(),
            scriptUri: asset(PANEL_ASSETS.script),
            styleUris: PANEL_ASSETS.styles.map(asset),
            codiconUri: asset(PANEL_ASSETS.codicons)
        });
        panel.onDidDispose(() => this.dispose(), null, this.disposables);
        webview.onDidReceiveMessage((message: unknown) => this.onMessage(message), null, this.disposables);
    }

    reveal(): void {
        this.panel.reveal(undefined, true);
    }

    post(message: ToWebview): void {
        // before `ready` the page would drop it; the state sent on `ready` carries everything
        if (!this.ready || this.disposed) return;
        void this.panel.webview.postMessage(message);
    }

    postState(): void {
        const summary = this.session.model;
        const model = summary === undefined ? null : panelModelInfo(summary);
        this.post({
            type: "state",
            model,
            depth: model === null || summary === undefined ? null : panelDepth(model, summary.plan),
            activeRequestId: this.session.activeRequestId ?? null,
            history: [...this.history()]
        });
    }

    postRequestEvent(event: RequestEvent): void {
        if (event.type === "output") {
            // batched like the summary document: a message per token would re-render the panel per token
            if (this.pendingOutput !== undefined && this.pendingOutput.requestId !== event.requestId) this.flushOutput();
            this.pendingOutput = {requestId: event.requestId, text: (this.pendingOutput?.text ?? "") + event.text};
            this.outputTimer ??= setTimeout(() => this.flushOutput(), OUTPUT_INTERVAL_MS);
            return;
        }
        this.flushOutput();
        if (event.type === "started") this.post({type: "requestStarted", requestId: event.requestId, title: event.title.slice(0, 500)});
        else
            this.post({
                type: "requestEnded",
                requestId: event.requestId,
                stopReason: event.stopReason,
                ...(event.error === undefined ? {} : {error: event.error.slice(0, 2000)})
            });
    }

    private flushOutput(): void {
        if (this.outputTimer !== undefined) clearTimeout(this.outputTimer);
        this.outputTimer = undefined;
        const pending = this.pendingOutput;
        this.pendingOutput = undefined;
        if (pending === undefined) return;
        for (let start = 0; start < pending.text.length; start += MAX_CHUNK_CHARS)
            this.post({type: "output", requestId: pending.requestId, text: pending.text.slice(start, start + MAX_CHUNK_CHARS)});
    }

    private onMessage(raw: unknown): void {
        const message = parseFromWebview(raw, (problem) => this.log.warn(`Speed panel sent an invalid message: ${problem}`));
        if (message === undefined) return;
        this.handle(message).catch((error: unknown) => this.log.error(`Speed panel: ${message.type} failed: ${String(error)}`));
    }

    private async handle(message: FromWebview): Promise<void> {
        switch (message.type) {
            case "ready":
                this.ready = true;
                this.postState();
                return;
            case "stop":
                this.session.stopRequest(message.requestId);
                return;
            case "setLevel": {
                const previews = await this.session.previewLevels();
                const level = previews === undefined ? undefined : levelForDepth(message.depth, previews);
                if (level !== undefined) await this.session.setLevel(level);
                else await this.session.setCustomSpeedup(message.speedup);
                return;
            }
        }
    }

    dispose(): void {
        if (this.disposed) return;
        this.disposed = true;
        if (this.outputTimer !== undefined) clearTimeout(this.outputTimer);
        this.panel.dispose();
        for (const disposable of this.disposables) disposable.dispose();
        this.disposeEmitter.fire();
        this.disposeEmitter.dispose();
    }
}
