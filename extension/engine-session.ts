// The window's one engine: the host process (started on first use, stopped on deactivate), the model
// the settings name (loaded on first use, reloaded when those settings change), the speed level, and
// the requests in flight. Everything that talks to the engine goes through here.
import fs from "node:fs";
import path from "node:path";
import * as vscode from "vscode";
import type {EngineClient, EngineCrash} from "./engine-client.js";
import {describeCompute} from "../common/engine-protocol.js";
import type {
    CalibrateResult,
    CompleteParams,
    CompleteResult,
    GenerateParams,
    GenerateResult,
    CudaCheckResult,
    InspectResult,
    LoadParams,
    ModelSummary,
    PlanInfo,
    SpeedLevelName,
    SpeedSetting
} from "../common/engine-protocol.js";
import {NativeBuildMissingError} from "./errors.js";
import {checkModelFile, resolveModelSetting} from "./models/model-path.js";
import {gpuEnvironment, readSettings, SPEED_LEVEL_NAMES, type LayerDialSettings} from "./settings.js";
import type {LastRun} from "./speed-level.js";
import {updateSetting} from "./update-setting.js";

export type RequestEvent =
    | {type: "started"; requestId: string; title: string}
    | {type: "output"; requestId: string; text: string}
    | {type: "ended"; requestId: string; stopReason: "done" | "maxTokens" | "cancelled" | "error"; error?: string; result?: GenerateResult};

export type EngineSessionOptions = {
    /** the extension's root folder (context.extensionPath) */
    extensionPath: string;
    /** where downloaded models live (under context.globalStorageUri) */
    modelsDirectory: string;
    /** where calibrated layer orders are cached (under context.globalStorageUri) */
    calibrationDirectory: string;
    /** where Enable CUDA installs GPU backends (under context.globalStorageUri) */
    backendsDirectory: string;
    log: vscode.LogOutputChannel;
};

/** Reports loading steps to whoever is waiting (a progress notification). */
export type ProgressSink = {report(value: {message?: string; increment?: number}): void};

/** The host's entry and the patched llama.cpp build, both inside the installed extension. */
export const HOST_MODULE = "dist/engine/host.mjs";
export const NATIVE_DIRECTORY = "dist/native";

export class EngineSession implements vscode.Disposable {
    private client: EngineClient | undefined;
    private clientSubscriptions: {dispose(): void}[] = [];
    private loadedKey: string | undefined;
    private loading: {key: string; promise: Promise<ModelSummary>} | undefined;
    private loadProgress: ProgressSink | undefined;
    private customSpeedupValue: number | undefined;
    private lastRunValue: LastRun | undefined;
    private requestCounter = 0;
    private warnedGpuFallback = false;
    private readonly reportedFraction = new WeakMap<ProgressSink, number>();
    /** per request: aborts it (the panel's Stop names one request) */
    private readonly requests = new Map<string, AbortController>();
    /** per command: aborts the whole command, including parts not started yet (Stop Generation) */
    private readonly commands = new Set<AbortController>();
    private readonly changeEmitter = new vscode.EventEmitter<void>();
    private readonly requestEmitter = new vscode.EventEmitter<RequestEvent>();
    private readonly disposables: vscode.Disposable[] = [this.changeEmitter, this.requestEmitter];

    /** the model, plan, level or last run changed */
    readonly onDidChange = this.changeEmitter.event;
    readonly onDidRequest = this.requestEmitter.event;

    constructor(private readonly options: EngineSessionOptions) {
        vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event), null, this.disposables);
    }

    get settings(): LayerDialSettings {
        const configuration = vscode.workspace.getConfiguration("layerDial");
        const {settings, warnings} = readSettings((key) => configuration.get(key));
        for (const warning of warnings) this.options.log.warn(warning);
        return settings;
    }

    get level(): SpeedLevelName {
        return this.settings.speedLevel;
    }

    /** set when the panel picked a depth no named level lands on; cleared when the level setting changes */
    get customSpeedup(): number | undefined {
        return this.customSpeedupValue;
    }

    /** the loaded model, if it is the one the settings name and the host still runs */
    get model(): ModelSummary | undefined {
        const loaded = this.client?.loadedModel;
        return loaded !== undefined && this.loadedKey !== undefined ? loaded : undefined;
    }

    get plan(): PlanInfo | undefined {
        return this.model?.plan;
    }

    get lastRun(): LastRun | undefined {
        return this.lastRunValue;
    }

    get activeRequestId(): string | undefined {
        return this.requests.keys().next().value;
    }

    get busy(): boolean {
        return this.commands.size > 0;
    }

    /** Loads the configured model unless it is loaded already; concurrent callers share one load. */
    async ensureModel(progress?: ProgressSink): Promise<ModelSummary> {
        const settings = this.settings;
        const workspaceFolder = vscode.workspace.workspaceFolders?.[0]?.uri;
        const location = resolveModelSetting(settings.model, {
            workspaceFolder: workspaceFolder?.scheme === "file" ? workspaceFolder.fsPath : undefined,
            modelsDirectory: this.options.modelsDirectory
        });
        const modelPath = await checkModelFile(location);
        const params: LoadParams = {
            modelPath,
            contextSize: settings.contextSize > 0 ? settings.contextSize : undefined,
            // commands run one at a time (SerialQueue); inline completions get the second sequence, so a
            // command never evicts the KV cache that completions reuse from keystroke to keystroke
            sequences: 2,
            prefill: settings.prefill,
            speed: this.speedSetting(settings),
            calibrationCacheDirectory: this.options.calibrationDirectory,
            gpuLayers: settings.gpuLayers
        };
        const key = JSON.stringify([params.modelPath, params.contextSize, params.prefill, params.gpuLayers]);
        const loaded = this.model;
        if (loaded !== undefined && this.loadedKey === key) return loaded;
        let loading = this.loading;
        if (loading?.key !== key) {
            const promise = this.load(params, key);
            const current = {key, promise};
            loading = current;
            this.loading = current;
            const clear = () => {
                if (this.loading === current) this.loading = undefined;
            };
            promise.then(clear, clear);
        }
        const previous = this.loadProgress;
        this.loadProgress = progress ?? previous;
        try {
            progress?.report({message: `loading ${path.basename(modelPath)}…`});
            return await loading.promise;
        } finally {
            this.loadProgress = previous;
        }
    }

    private async load(params: LoadParams, key: string): Promise<ModelSummary> {
        const client = await this.ensureClient();
        const started = performance.now();
        this.options.log.info(`Loading ${params.modelPath} (context ${params.contextSize ?? "auto"}, prefill ${params.prefill})`);
        this.loadedKey = undefined;
        const summary = await client.load(params);
        this.loadedKey = key;
        this.options.log.info(
            `Loaded ${summary.name}: ${summary.architecture}, ${summary.layerCount} layers, context ${summary.contextSize}, ` +
                `${describeCompute(summary.compute)}, ${summary.threads} threads, max ${summary.maxSpeedup.toFixed(2)}x, cost model ${summary.costModelSource} ` +
                `(${Math.round(performance.now() - started)} ms)`
        );
        this.warnOnGpuFallback(summary);
        if (summary.speedCalibrationError !== undefined)
            this.options.log.warn(
                `Speed calibration failed (${summary.speedCalibrationError}); the dial predicts from tensor sizes and shows no achieved speedup.`
            );
        if (!summary.layerSkipSupported) this.options.log.warn(`${summary.architecture} cannot skip layers; ${summary.name} runs at 1x at every level.`);
        if (summary.plan.message !== null) this.options.log.info(summary.plan.message);
        this.changeEmitter.fire();
        return summary;
    }

    private speedSetting(settings: LayerDialSettings): SpeedSetting {
        return {speed: this.customSpeedupValue ?? settings.speedLevel};
    }

    /** The plan each named level would give on the loaded model; undefined when none is loaded (never loads one). */
    async previewLevels(): Promise<Map<SpeedLevelName, PlanInfo> | undefined> {
        const client = this.client;
        if (client === undefined || this.model === undefined) return undefined;
        const previews = new Map<SpeedLevelName, PlanInfo>();
        for (const level of SPEED_LEVEL_NAMES) previews.set(level, await client.previewSpeed({speed: level}));
        return previews;
    }

    /** The machine, and the dial a model file would give, without loading a model (starts the host, never downloads). */
    async inspect(modelPath?: string): Promise<InspectResult> {
        return await (await this.ensureClient()).inspect({modelPath, calibrationCacheDirectory: this.options.calibrationDirectory});
    }

    /** Whether each installed CUDA build runs here, each checked in a process of its own (starts the host, loads no model). */
    async checkCuda(): Promise<CudaCheckResult> {
        return await (await this.ensureClient()).checkCuda();
    }

    /** Stores the level in the setting; the configuration listener applies it to the engine. */
    async setLevel(level: SpeedLevelName): Promise<void> {
        if (vscode.workspace.getConfiguration("layerDial").get("speedLevel") === level && this.customSpeedupValue !== undefined) {
            // same setting, so no configuration event: drop the panel's custom ratio here
            this.customSpeedupValue = undefined;
            await this.applySpeed();
            return;
        }
        await updateSetting("speedLevel", level);
    }

    /** A ratio from the panel that no named level matches; it lasts until the level setting changes. */
    async setCustomSpeedup(speedup: number): Promise<void> {
        this.customSpeedupValue = speedup;
        await this.applySpeed();
    }

    private async applySpeed(): Promise<void> {
        if (this.model !== undefined && this.client !== undefined) {
            const plan = await this.client.setSpeed(this.speedSetting(this.settings));
            this.options.log.info(
                `Speed ${this.customSpeedupValue ?? this.level}: ${plan.keptLayers.length}/${plan.layerCount} layers, ` +
                    `predicted ${plan.predictedSpeedup.toFixed(2)}x${plan.message === null ? "" : ` (${plan.message})`}`
            );
        }
        this.changeEmitter.fire();
    }

    async countTokens(text: string): Promise<number> {
        return await (await this.ensureClient()).countTokens(text);
    }

    /** One generation request, streamed; the result says why it stopped (an aborted run returns its partial text). */
    async generate(
        params: Omit<GenerateParams, "requestId">,
        options: {title: string; onText?: (text: string) => void; signal?: AbortSignal}
    ): Promise<GenerateResult> {
        const requestId = `ext-${++this.requestCounter}`;
        const controller = new AbortController();
        const onAbort = () => controller.abort();
        options.signal?.addEventListener("abort", onAbort, {once: true});
        if (options.signal?.aborted) controller.abort();
        this.requests.set(requestId, controller);
        this.requestEmitter.fire({type: "started", requestId, title: options.title});
        try {
            const client = await this.ensureClient();
            const result = await client.generate(params, {
                signal: controller.signal,
                onText: (text) => {
                    // a throwing consumer must not break the stream for the others
                    try {
                        options.onText?.(text);
                    } catch (error) {
                        this.options.log.error(`A stream consumer failed: ${String(error)}`);
                    }
                    this.requestEmitter.fire({type: "output", requestId, text});
                }
            });
            this.lastRunValue = {stats: result.stats, tokens: result.tokens};
            this.options.log.info(
                `${options.title}: ${result.tokens} tokens, ${result.stopReason}, ` +
                    `${result.stats.decodeTokensPerSecond.toFixed(1)} tokens/s, ${result.stats.keptLayers}/${result.stats.layerCount} layers, ` +
                    `achieved ${result.stats.achievedSpeedup === null ? `— (${result.stats.whyNoAchievedSpeedup ?? "not measured"})` : `${result.stats.achievedSpeedup.toFixed(2)}x`}`
            );
            const stopReason = result.stopReason === "aborted" ? "cancelled" : result.stopReason === "maxTokens" ? "maxTokens" : "done";
            this.requestEmitter.fire({type: "ended", requestId, stopReason, result});
            this.changeEmitter.fire();
            return result;
        } catch (error) {
            const cancelled = controller.signal.aborted;
            this.requestEmitter.fire({
                type: "ended",
                requestId,
                stopReason: cancelled ? "cancelled" : "error",
                ...(cancelled ? {} : {error: error instanceof Error ? error.message : String(error)})
            });
            throw error;
        } finally {
            options.signal?.removeEventListener("abort", onAbort);
            this.requests.delete(requestId);
        }
    }

    /**
     * One inline completion, only while a model is loaded: undefined when none is (a completion never
     * starts the engine or loads a model). An aborted one resolves with stopReason "aborted".
     */
    async complete(params: Omit<CompleteParams, "requestId">, signal: AbortSignal): Promise<CompleteResult | undefined> {
        const client = this.client;
        if (client === undefined || this.model === undefined) return undefined;
        return await client.complete(params, {signal});
    }

    /**
     * Finds the loaded model's best layer order (or reuses the cached one), then reloads the model so the
     * dial's stops, the panel and the status bar all use it.
     */
    async calibrate(force: boolean, progress: ProgressSink, signal: AbortSignal): Promise<CalibrateResult> {
        await this.ensureModel(progress);
        const client = await this.ensureClient();
        const previous = this.loadProgress;
        this.loadProgress = progress;
        try {
            const result = await client.calibrate({force}, {signal});
            this.options.log.info(
                `Calibrated layer order (${result.method}${result.cached ? ", cached" : ""}): ${result.order.join(" ")}; saved in ${result.cacheFile}`
            );
            this.loadedKey = undefined;
            await this.ensureModel(progress);
            return result;
        } finally {
            this.loadProgress = previous;
        }
    }

    /** A controller for one command run; Stop Generation aborts every one that is registered. */
    beginCommand(token?: vscode.CancellationToken): {signal: AbortSignal; dispose(): void} {
        const controller = new AbortController();
        const subscription = token?.onCancellationRequested(() => controller.abort());
        this.commands.add(controller);
        void vscode.commands.executeCommand("setContext", "layerDial.busy", true);
        return {
            signal: controller.signal,
            dispose: () => {
                subscription?.dispose();
                this.commands.delete(controller);
                if (this.commands.size === 0) void vscode.commands.executeCommand("setContext", "layerDial.busy", false);
            }
        };
    }

    /** Stops every running and waiting command; returns how many there were. */
    stopAll(): number {
        const count = this.commands.size;
        for (const controller of this.commands) controller.abort();
        for (const controller of this.requests.values()) controller.abort();
        return count;
    }

    stopRequest(requestId: string): void {
        this.requests.get(requestId)?.abort();
    }

    /** Stops the host (a new one starts on the next use). */
    async stop(): Promise<void> {
        this.loadedKey = undefined;
        this.warnedGpuFallback = false;
        const client = this.client;
        this.client = undefined;
        for (const subscription of this.clientSubscriptions) subscription.dispose();
        this.clientSubscriptions = [];
        await client?.dispose();
        this.changeEmitter.fire();
    }

    private async ensureClient(): Promise<EngineClient> {
        if (this.client !== undefined) return this.client;
        // loaded on first use: the JSON-RPC client is most of what activation would otherwise evaluate
        const {EngineClient} = await import("./engine-client.js");
        if (this.client !== undefined) return this.client;
        const hostModule = path.join(this.options.extensionPath, HOST_MODULE);
        const nativeDirectory = path.join(this.options.extensionPath, NATIVE_DIRECTORY);
        if (!fs.existsSync(hostModule) || !fs.existsSync(path.join(nativeDirectory, "bins", "llama-addon.node")))
            throw new NativeBuildMissingError(
                `This installation of Layer Dial is incomplete: ${fs.existsSync(hostModule) ? nativeDirectory : hostModule} ` +
                    'is missing. Reinstall the extension; in a development checkout run "npm run build:native" and then "npm run build".'
            );
        const settings = this.settings;
        const log = this.options.log;
        const client = new EngineClient({
            hostModule,
            // VS Code's own runtime: Electron as plain Node, so users need no Node installed
            execPath: process.execPath,
            env: {
                ...process.env,
                ...gpuEnvironment(settings.gpu, this.options.backendsDirectory),
                ELECTRON_RUN_AS_NODE: "1",
                LAYER_DIAL_NATIVE_DIR: nativeDirectory
            },
            log: (level, message) => log[level](`[engine] ${message}`)
        });
        this.clientSubscriptions = [
            client.onProgress(({message, fraction}) => {
                log.info(message);
                this.reportProgress(message, fraction);
            }),
            client.onDidChangeState((state) => {
                log.info(`Engine host ${state}`);
                this.changeEmitter.fire();
            }),
            client.onDidCrash((crash) => this.onCrash(crash))
        ];
        this.client = client;
        return client;
    }

    /** A backend chosen by name that could not run: the model still runs on the CPU, and the user is told
     *  once per engine host why and where to change it (auto's choices only reach the log). */
    private warnOnGpuFallback(summary: ModelSummary): void {
        const requested = this.settings.gpu;
        const reason = summary.compute.fallbackReason;
        if (reason === undefined || requested === "auto" || requested === "cpu" || this.warnedGpuFallback) return;
        this.warnedGpuFallback = true;
        this.options.log.warn(`layerDial.gpu is "${requested}": ${reason}`);
        void vscode.window
            .showWarningMessage(`Layer Dial: layerDial.gpu is "${requested}", but the model is ${reason}.`, "Open Settings", "Show Log")
            .then((choice) => {
                if (choice === "Open Settings") void vscode.commands.executeCommand("workbench.action.openSettings", "layerDial.gpu");
                if (choice === "Show Log") this.options.log.show();
            });
    }

    /** Forwards the engine's progress to whoever waits; a fraction becomes the notification's bar (VS Code wants increments). */
    private reportProgress(message: string, fraction: number | undefined): void {
        const sink = this.loadProgress;
        if (sink === undefined) return;
        if (fraction === undefined) {
            sink.report({message});
            return;
        }
        const reported = this.reportedFraction.get(sink) ?? 0;
        const increment = Math.max(0, Math.min(1, fraction) - reported);
        this.reportedFraction.set(sink, reported + increment);
        sink.report({message, increment: increment * 100});
    }

    private onCrash(crash: EngineCrash): void {
        // the next command loads the model again in a fresh host
        this.loadedKey = undefined;
        this.changeEmitter.fire();
        if (crash.gaveUp) {
            // told even while a command runs: that command's error cannot say that no engine will start again
            void vscode.window
                .showErrorMessage(
                    `Layer Dial: ${crash.description} It stopped ${crash.recentCrashes} times in a few minutes, so Layer Dial will not restart it on its own.`,
                    "Show Log",
                    "Restart"
                )
                .then((choice) => {
                    if (choice === "Show Log") this.options.log.show();
                    if (choice === "Restart") void this.restart();
                });
            return;
        }
        // a command that was waiting on the host reports the crash itself; when idle, nobody else would
        if (this.commands.size === 0) {
            void vscode.window.showErrorMessage(`Layer Dial: ${crash.description} The next command starts a new engine.`, "Show Log").then((choice) => {
                if (choice === "Show Log") this.options.log.show();
            });
        }
    }

    /** Layer Dial: Restart Engine, and the Restart action after the restart budget is spent: a fresh host, the configured model loaded on next use */
    async restart(): Promise<void> {
        this.loadedKey = undefined;
        try {
            await this.client?.restart();
            this.options.log.info("Engine restarted");
        } catch (error) {
            this.options.log.error(`Restarting the engine failed: ${error instanceof Error ? error.message : String(error)}`);
            void vscode.window.showErrorMessage(`Layer Dial: ${error instanceof Error ? error.message : String(error)}`, "Show Log").then((choice) => {
                if (choice === "Show Log") this.options.log.show();
            });
        }
        this.changeEmitter.fire();
    }

    private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
        if (!event.affectsConfiguration("layerDial")) return;
        if (event.affectsConfiguration("layerDial.gpu") && !event.affectsConfiguration("layerDial.gpuLayers")) {
            // the backend is chosen when the host starts
            void this.stop().catch((error: unknown) => this.options.log.error(`Stopping the engine failed: ${String(error)}`));
            return;
        }
        if (["model", "contextSize", "prefill", "gpuLayers"].some((key) => event.affectsConfiguration(`layerDial.${key}`))) {
            this.loadedKey = undefined;
            this.changeEmitter.fire();
        }
        if (event.affectsConfiguration("layerDial.speedLevel")) {
            this.customSpeedupValue = undefined;
            // the status bar shows the new level at once; the plan follows when the engine answers
            this.changeEmitter.fire();
            this.applySpeed().catch((error: unknown) => this.options.log.error(`Applying the speed level failed: ${String(error)}`));
        }
    }

    dispose(): void {
        this.stopAll();
        void this.stop().catch(() => undefined);
        for (const disposable of this.disposables) disposable.dispose();
    }
}
