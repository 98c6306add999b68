// Layer Dial: Open Speed Panel. The extension side of the webview: one panel at a time (revealed when
// opened again), restored after a reload by a serializer, kept in step with the status bar through the
// session, and fed the streamed output and run statistics of every request. Before any model is loaded
// it shows the configured one: its size from the disk, and the dial per level from the engine host's
// reading of the file (the host starts for that; no model is loaded and nothing is downloaded).
import fs from "node:fs";
import * as vscode from "vscode";
import type {ModelPreview} from "../../common/engine-protocol.js";
import {
    MAX_CHUNK_CHARS,
    MAX_HISTORY,
    parseFromWebview,
    type ConfiguredModel,
    type FromWebview,
    type PanelAction,
    type RunStats,
    type ToWebview
} from "../../common/panel-messages.js";
import {buildPanelHtml, createNonce, PANEL_ASSETS} from "./panel-html.js";
import type {EngineSession, RequestEvent} from "../engine-session.js";
import {
    describeConfiguredModel,
    FIRST_RUN_WALKTHROUGH,
    panelDepth,
    panelContextPrediction,
    panelLossless,
    panelModelInfo,
    panelRunStats,
    withPreview,
    withPreviewError,
    type ConfiguredModelView
} from "./panel-model.js";
import {levelForDepth} from "../speed-level.js";

export const SPEED_PANEL_VIEW_TYPE = "layerDial.speedPanel";

/** Streamed text reaches the panel at most this often. */
const OUTPUT_INTERVAL_MS = 100;

/** A model file's preview from the engine host, for one version of the file (path, size, modification time). */
type PreviewEntry = {key: string; preview?: ModelPreview; error?: string};

/** Owns the run history (so a reopened panel shows it), the configured model's preview and the one open panel. */
export class SpeedPanelManager implements vscode.Disposable, vscode.WebviewPanelSerializer {
    private panel: SpeedPanel | undefined;
    private history: RunStats[] = [];
    private preview: PreviewEntry | undefined;
    private readonly disposables: vscode.Disposable[] = [];

    constructor(
        private readonly extensionUri: vscode.Uri,
        private readonly session: EngineSession,
        private readonly log: vscode.LogOutputChannel,
        /** where downloaded models live, to find an hf: model's file */
        private readonly modelsDirectory: string
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

    /**
     * The configured model while none is loaded (null: none configured), with its preview once the engine
     * has read the file. The first call for a file version asks the engine, and the panel is updated
     * when the answer comes.
     */
    configuredModel(): ConfiguredModelView | null {
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const view = describeConfiguredModel(this.session.settings.model, {
            workspaceFolder: folder?.scheme === "file" ? folder.fsPath : undefined,
            modelsDirectory: this.modelsDirectory
        });
        if (view?.previewPath === undefined) return view;
        const key = `${view.previewPath}\0${view.info.sizeBytes}\0${fileModified(view.previewPath)}`;
        if (this.preview?.key !== key) {
            const entry: PreviewEntry = {key};
            this.preview = entry;
            this.session
                .inspect(view.previewPath)
                .then(
                    ({model}) => {
                        if (model !== null) entry.preview = model;
                        else entry.error = "the engine returned no preview";
                    },
                    (error: unknown) => {
                        entry.error = error instanceof Error ? error.message : String(error);
                        this.log.warn(`Speed panel: no preview of ${view.previewPath}: ${entry.error}`);
                    }
                )
                .finally(() => {
                    if (this.preview === entry) this.panel?.postState();
                });
        }
        const entry = this.preview;
        const info: ConfiguredModel =
            entry.preview !== undefined
                ? withPreview(view.info, entry.preview)
                : entry.error !== undefined
                  ? withPreviewError(view.info, entry.error)
                  : view.info;
        return {...view, info};
    }

    private attach(webviewPanel: vscode.WebviewPanel): void {
        const panel = new SpeedPanel(
            webviewPanel,
            this.extensionUri,
            this.session,
            this.log,
            () => this.history,
            () => this.configuredModel()
        );
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
        private readonly history: () => readonly RunStats[],
        private readonly configured: () => ConfiguredModelView | null
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
        // a download or a file replaced while the panel was hidden: show the disk as it is now
        panel.onDidChangeViewState((event) => event.webviewPanel.visible && this.postState(), null, this.disposables);
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
        if (!this.ready || this.disposed) return;
        const summary = this.session.model;
        const model = summary === undefined ? null : panelModelInfo(summary);
        const lossless = summary === undefined ? undefined : panelLossless(summary.plan);
        this.post({
            type: "state",
            model,
            depth: model === null || summary === undefined ? null : panelDepth(model, summary.plan),
            activeRequestId: this.session.activeRequestId ?? null,
            history: [...this.history()],
            ...(model === null ? {configured: this.configured()?.info ?? null} : {}),
            ...(model !== null && lossless !== undefined ? {lossless} : {}),
            ...(model !== null && summary?.plan.atContext !== undefined ? {atContext: panelContextPrediction(summary.plan.atContext)} : {})
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
            case "action":
                await this.runAction(message.action);
                return;
            case "setLevel": {
                const previews = await this.session.previewLevels();
                const level = previews === undefined ? undefined : levelForDepth(message.depth, previews);
                if (level !== undefined) await this.session.setLevel(level);
                else await this.session.setCustomSpeedup(message.speedup);
                return;
            }
            case "setLossless":
                await this.session.setLevel("Lossless");
                return;
        }
    }

    /** The not-yet-loaded view's buttons run the commands a user would; the download still asks first. */
    private async runAction(action: PanelAction): Promise<void> {
        switch (action) {
            case "loadModel":
                await vscode.commands.executeCommand("layerDial.loadModel");
                return;
            case "downloadModel":
                await vscode.commands.executeCommand("layerDial.downloadRecommendedModel", ...optional(this.configured()?.uri));
                return;
            case "selectModel":
                await vscode.commands.executeCommand("layerDial.selectModel");
                return;
            case "openWalkthrough":
                await vscode.commands.executeCommand("workbench.action.openWalkthrough", FIRST_RUN_WALKTHROUGH, false);
                return;
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

function optional<T>(value: T | undefined): T[] {
    return value === undefined ? [] : [value];
}

/** The file's modification time, so a replaced file gets a fresh preview; 0 when it cannot be read. */
function fileModified(file: string): number {
    try {
        return fs.statSync(file).mtimeMs;
    } catch {
        return 0;
    }
}
