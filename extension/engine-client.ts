// Starts the engine host process and talks to it. Plain Node (no 'vscode'), so the extension, the tests
// and scripts share one client. A host that dies fails the requests in flight with EngineHostExitedError;
// the next call starts a fresh host and loads the last model again, until the restart budget is spent
// (as vscode-languageclient does: 5 crashes in 3 minutes). Then the client stays stopped until restart().
import {fork, type ChildProcess} from "node:child_process";
import {EventEmitter} from "node:events";
import {CancellationTokenSource, ResponseError, type MessageConnection} from "vscode-jsonrpc";
import {createMessageConnection, IPCMessageReader, IPCMessageWriter} from "vscode-jsonrpc/node.js";
import {
    ErrorCodes,
    Notifications,
    Requests,
    type CalibrateParams,
    type CalibrateResult,
    type CompleteParams,
    type CompleteResult,
    type GenerateParams,
    type GenerateResult,
    type GenerationStats,
    type HostInfo,
    type CudaCheckResult,
    type InspectParams,
    type InspectResult,
    type LoadParams,
    type LogNotification,
    type ModelSummary,
    type PlanInfo,
    type ProgressNotification,
    type SpeedSetting
} from "../common/engine-protocol.js";

export type EngineClientOptions = {
    /** the host entry: dist/engine/host.mjs when bundled, engine/host/main.ts with tsx in development */
    hostModule: string;
    /** Defaults to process.execPath (inside VS Code: its Electron, with ELECTRON_RUN_AS_NODE=1 in env). */
    execPath?: string;
    execArgv?: string[];
    env?: NodeJS.ProcessEnv;
    log?: (level: LogNotification["level"], message: string) => void;
    /** how long stop() waits for a polite exit before killing. Defaults to 3000 ms. */
    stopTimeoutMs?: number;
    /** how many unexpected exits within how long make the client give up restarting. Defaults to 5 in 3 minutes. */
    restartBudget?: RestartBudget;
};

export type RestartBudget = {maxCrashes: number; windowMs: number};
export const DEFAULT_RESTART_BUDGET: RestartBudget = {maxCrashes: 5, windowMs: 3 * 60_000};

/**
 * starting: a host process is being spawned; running: it answers requests; startFailed: the last start
 * could not spawn a process (the next request tries again); stopping: stop() waits for the host to exit;
 * stopped: no host (the next request starts one, unless the restart budget is spent).
 */
export type EngineState = "stopped" | "starting" | "running" | "startFailed" | "stopping";

export type EngineCrash = {
    description: string;
    /** unexpected exits within the budget's window, this one included */
    recentCrashes: number;
    /** true when this crash spent the restart budget: requests fail with EngineRestartBudgetError until restart() */
    gaveUp: boolean;
};

export class EngineHostExitedError extends Error {
    override name = "EngineHostExitedError";
}

/** the host could not be started at all (its runtime or entry is missing) */
export class EngineStartError extends Error {
    override name = "EngineStartError";
}

/** the host crashed too often in a short time, so the client stopped restarting it */
export class EngineRestartBudgetError extends Error {
    override name = "EngineRestartBudgetError";
}

export class EngineRequestError extends Error {
    override name = "EngineRequestError";
    constructor(
        message: string,
        readonly code: number
    ) {
        super(message);
    }
}

type Disposable = {dispose(): void};

type Host = {
    child: ChildProcess;
    connection: MessageConnection;
    exited: Promise<void>;
    hasExited: boolean;
    /** stop() asked it to exit: its exit is no crash, even when a new host is starting meanwhile */
    stopRequested: boolean;
    /** the requests in flight, told when the host exits; each removes itself when it settles, so a
     *  settled request's result is never kept alive by the host's exit */
    exitListeners: Set<() => void>;
    model?: ModelSummary;
};

let requestCounter = 0;

/** the codes the host puts on its own error answers (the rest come from the connection itself) */
const hostErrorCodes: ReadonlySet<number> = new Set(Object.values(ErrorCodes));

function delay(milliseconds: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, milliseconds).unref());
}

export class EngineClient {
    private host: Host | undefined;
    private starting: Promise<Host> | undefined;
    private readonly events = new EventEmitter();
    private lastLoad: LoadParams | undefined;
    private lastSpeed: SpeedSetting | undefined;
    private stateValue: EngineState = "stopped";
    private readonly textListeners = new Map<string, (piece: string) => void>();
    /** when the recent unexpected exits happened (ms, performance.now()) */
    private crashTimes: number[] = [];
    private gaveUp: EngineCrash | undefined;
    private stopping: Promise<void> | undefined;

    constructor(private readonly options: EngineClientOptions) {}

    get state(): EngineState {
        return this.stateValue;
    }

    onDidChangeState(listener: (state: EngineState) => void): Disposable {
        return this.subscribe("state", listener);
    }

    onProgress(listener: (progress: ProgressNotification) => void): Disposable {
        return this.subscribe("progress", listener);
    }

    /** the host exited without being asked to (a crash or a kill) */
    onDidCrash(listener: (crash: EngineCrash) => void): Disposable {
        return this.subscribe("crash", listener);
    }

    /** true once the host crashed more often than the restart budget allows; restart() clears it */
    get restartBudgetSpent(): boolean {
        return this.gaveUp !== undefined;
    }

    /** starts the host if none runs; concurrent calls share one start */
    async start(): Promise<void> {
        await this.ensureHost();
    }

    /** stops the host if one runs, forgets the crashes that spent the budget, and starts a fresh host (with the last model on next use) */
    async restart(): Promise<void> {
        await this.stop();
        this.crashTimes = [];
        this.gaveUp = undefined;
        await this.start();
    }

    async load(params: LoadParams): Promise<ModelSummary> {
        const host = await this.ensureHost();
        const summary = await this.send(host, (connection) => connection.sendRequest(Requests.load, params));
        this.lastLoad = params;
        this.lastSpeed = params.speed;
        host.model = summary;
        return summary;
    }

    /** the model the host has loaded, if the host is running */
    get loadedModel(): ModelSummary | undefined {
        return this.host?.model;
    }

    async generate(params: Omit<GenerateParams, "requestId">, options: {onText?: (piece: string) => void; signal?: AbortSignal} = {}): Promise<GenerateResult> {
        const host = await this.ensureModel();
        const requestId = `r${process.pid}-${++requestCounter}`;
        if (options.onText != null) this.textListeners.set(requestId, options.onText);
        const model = host.model;
        try {
            const result = await this.cancellable(host, requestId, options.signal, (connection) =>
                connection.sendRequest(Requests.generate, {...params, requestId})
            );
            // the run moved the context and taught the Lossless drafter: keep the plan the status bar and panel show current
            if (result.plan !== undefined && model != null && host.model === model) host.model = {...model, plan: result.plan};
            return result;
        } finally {
            this.textListeners.delete(requestId);
        }
    }

    /** one inline completion; an aborted one resolves with stopReason "aborted" and no text */
    async complete(params: Omit<CompleteParams, "requestId">, options: {signal?: AbortSignal} = {}): Promise<CompleteResult> {
        const host = await this.ensureModel();
        const requestId = `c${process.pid}-${++requestCounter}`;
        return await this.cancellable(host, requestId, options.signal, (connection) => connection.sendRequest(Requests.complete, {...params, requestId}));
    }

    /** a request that `signal` cancels on the host (by request id: the host aborts it within one decoded token) */
    private async cancellable<T>(
        host: Host,
        requestId: string,
        signal: AbortSignal | undefined,
        request: (connection: MessageConnection) => Promise<T>
    ): Promise<T> {
        const onAbort = () => void this.send(host, (connection) => connection.sendRequest(Requests.cancel, {requestId})).catch(() => undefined);
        signal?.addEventListener("abort", onAbort, {once: true});
        try {
            if (signal?.aborted) onAbort();
            return await this.send(host, request);
        } finally {
            signal?.removeEventListener("abort", onAbort);
        }
    }

    async setSpeed(setting: SpeedSetting): Promise<PlanInfo> {
        const host = await this.ensureModel();
        const plan = await this.send(host, (connection) => connection.sendRequest(Requests.setSpeed, setting));
        this.lastSpeed = setting;
        if (host.model != null) host.model = {...host.model, plan};
        return plan;
    }

    /** finds (or reuses) the loaded model's calibrated layer order and switches the dial to it */
    async calibrate(params: CalibrateParams = {}, options: {signal?: AbortSignal} = {}): Promise<CalibrateResult> {
        const host = await this.ensureModel();
        const source = new CancellationTokenSource();
        const onAbort = () => source.cancel();
        options.signal?.addEventListener("abort", onAbort, {once: true});
        try {
            if (options.signal?.aborted) source.cancel();
            return await this.send(host, (connection) => connection.sendRequest(Requests.calibrate, params, source.token));
        } finally {
            options.signal?.removeEventListener("abort", onAbort);
            source.dispose();
        }
    }

    async previewSpeed(setting: SpeedSetting): Promise<PlanInfo> {
        const host = await this.ensureModel();
        return await this.send(host, (connection) => connection.sendRequest(Requests.previewSpeed, setting));
    }

    async countTokens(text: string): Promise<number> {
        const host = await this.ensureModel();
        return await this.send(host, (connection) => connection.sendRequest(Requests.countTokens, {text}));
    }

    async stats(): Promise<GenerationStats | null> {
        const host = await this.ensureHost();
        return await this.send(host, (connection) => connection.sendRequest(Requests.stats));
    }

    /** closes the host's model (aborting its requests and any calibration); the host keeps running, and no model is reloaded after a crash */
    async unload(): Promise<void> {
        const host = this.host;
        this.lastLoad = undefined;
        if (host == null) return;
        await this.send(host, (connection) => connection.sendRequest(Requests.unload));
        host.model = undefined;
    }

    /** the machine, and a model file's dial preview, without loading a model (the host starts if none runs) */
    async inspect(params: InspectParams): Promise<InspectResult> {
        const host = await this.ensureHost();
        return await this.send(host, (connection) => connection.sendRequest(Requests.inspect, params));
    }

    /** each installed CUDA build's check, run by the host in a process of its own (the host starts if none runs) */
    async checkCuda(): Promise<CudaCheckResult> {
        const host = await this.ensureHost();
        return await this.send(host, (connection) => connection.sendRequest(Requests.checkCuda));
    }

    async info(): Promise<HostInfo> {
        const host = await this.ensureHost();
        return await this.send(host, (connection) => connection.sendRequest(Requests.info));
    }

    /** for tests: a raw request by method name (e.g. the host's test hooks) */
    async sendRaw(method: string): Promise<unknown> {
        const host = await this.ensureHost();
        return await this.send(host, (connection) => connection.sendRequest(method));
    }

    /** asks the host to exit (it closes its model on disconnect), then kills it if it has not within the timeout; concurrent calls share one stop */
    stop(): Promise<void> {
        this.stopping ??= this.stopHost().finally(() => {
            this.stopping = undefined;
        });
        return this.stopping;
    }

    private async stopHost(): Promise<void> {
        const host = this.host ?? (await this.starting?.catch(() => undefined));
        if (host == null) {
            if (this.stateValue === "startFailed") this.setState("stopped");
            return;
        }
        host.stopRequested = true;
        if (this.host === host) this.host = undefined;
        this.setState("stopping");
        host.connection.dispose();
        if (host.child.connected) host.child.disconnect();
        const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), this.options.stopTimeoutMs ?? 3000).unref());
        if ((await Promise.race([host.exited.then(() => "exited" as const), timeout])) === "timeout") {
            host.child.kill("SIGKILL");
            await host.exited;
        }
        // a start that began while this one stopped owns the state now
        if (this.host == null && this.starting == null) this.setState("stopped");
    }

    async dispose(): Promise<void> {
        await this.stop();
        this.events.removeAllListeners();
    }

    private async ensureModel(): Promise<Host> {
        const host = await this.ensureHost();
        if (host.model == null && this.lastLoad != null) {
            // a fresh host after a crash: bring back the model and speed the user had
            host.model = await this.send(host, (connection) => connection.sendRequest(Requests.load, {...this.lastLoad!, speed: this.lastSpeed}));
        }
        return host;
    }

    private ensureHost(): Promise<Host> {
        if (this.host != null) return Promise.resolve(this.host);
        if (this.gaveUp !== undefined)
            return Promise.reject(
                new EngineRestartBudgetError(
                    `The Layer Dial engine stopped unexpectedly ${this.gaveUp.recentCrashes} times in ` +
                        `${Math.round(this.restartBudget.windowMs / 60_000)} minutes, so it is not restarted automatically. ` +
                        `Show the log to see why, then restart the engine (Layer Dial: Restart Engine).`
                )
            );
        this.starting ??= this.spawn().finally(() => {
            this.starting = undefined;
        });
        return this.starting;
    }

    private async spawn(): Promise<Host> {
        this.setState("starting");
        const child = fork(this.options.hostModule, [], {
            execPath: this.options.execPath ?? process.execPath,
            execArgv: this.options.execArgv ?? [],
            env: this.options.env ?? process.env,
            stdio: ["ignore", "pipe", "pipe", "ipc"]
        });
        child.stdout?.on("data", (data: Buffer) => this.log("info", data.toString().trimEnd()));
        child.stderr?.on("data", (data: Buffer) => this.log("warn", data.toString().trimEnd()));

        const connection = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
        const exited = new Promise<void>((resolve) =>
            child.once("exit", (code, signal) => {
                if (this.host?.child === child) {
                    this.host = undefined;
                    this.setState("stopped");
                }
                if (!host.stopRequested) {
                    const description = `The Layer Dial engine host exited unexpectedly (${signal != null ? `signal ${signal}` : `exit code ${code}`}).`;
                    this.log("error", description);
                    this.events.emit("crash", this.recordCrash(description));
                }
                connection.dispose();
                host.hasExited = true;
                for (const listener of host.exitListeners) listener();
                host.exitListeners.clear();
                resolve();
            })
        );
        const host: Host = {child, connection, exited, hasExited: false, stopRequested: false, exitListeners: new Set()};
        connection.onNotification(Notifications.token, ({requestId, text}) => this.textListeners.get(requestId)?.(text));
        connection.onNotification(Notifications.progress, (progress) => this.events.emit("progress", progress));
        connection.onNotification(Notifications.log, ({level, message}) => this.log(level, message));
        connection.listen();

        try {
            await new Promise<void>((resolve, reject) => {
                child.once("spawn", () => resolve());
                child.once("error", reject);
            });
        } catch (error) {
            // no process ever ran, so there is no exit to wait for and nothing counts against the budget
            host.stopRequested = true;
            connection.dispose();
            this.setState("startFailed");
            throw new EngineStartError(
                `The Layer Dial engine could not start (${(error as Error).message}). Reinstall the extension, or check the log for the runtime it tried.`
            );
        }
        this.host = host;
        this.setState("running");
        return host;
    }

    private get restartBudget(): RestartBudget {
        return this.options.restartBudget ?? DEFAULT_RESTART_BUDGET;
    }

    private recordCrash(description: string): EngineCrash {
        const now = performance.now();
        const {maxCrashes, windowMs} = this.restartBudget;
        this.crashTimes = [...this.crashTimes.filter((time) => now - time < windowMs), now];
        const crash: EngineCrash = {description, recentCrashes: this.crashTimes.length, gaveUp: this.crashTimes.length >= maxCrashes};
        if (crash.gaveUp) {
            this.gaveUp = crash;
            // the last model stays remembered: restart() brings it back on the next request
            this.log("error", `The engine host crashed ${crash.recentCrashes} times in ${Math.round(windowMs / 1000)} s; it is not restarted until asked to.`);
        }
        return crash;
    }

    /** a request that fails cleanly if the host dies while it waits */
    private async send<T>(host: Host, request: (connection: MessageConnection) => Promise<T>): Promise<T> {
        const exitedError = () =>
            new EngineHostExitedError(
                "The Layer Dial engine host stopped while working on this request. See the log for details; the next request starts a new host."
            );
        if (host.hasExited) throw exitedError();
        let onExit!: () => void;
        const died = new Promise<never>((_, reject) => (onExit = () => reject(exitedError())));
        host.exitListeners.add(onExit);
        try {
            return await Promise.race([request(host.connection), died]);
        } catch (error) {
            if (error instanceof EngineHostExitedError) throw error;
            // the host's own answer: no need to wait and see whether it is dying
            if (error instanceof ResponseError && hostErrorCodes.has(error.code)) throw new EngineRequestError(error.message, error.code);
            // a dying host closes the connection first, which rejects pending requests; say what really happened
            const exitedMeanwhile = await Promise.race([host.exited.then(() => true), delay(250).then(() => false)]);
            if (exitedMeanwhile)
                throw new EngineHostExitedError(
                    `The Layer Dial engine host stopped while working on this request (${(error as Error).message}). The next request starts a new host.`
                );
            if (error instanceof ResponseError) throw new EngineRequestError(error.message, error.code);
            throw error;
        } finally {
            host.exitListeners.delete(onExit);
        }
    }

    private setState(state: EngineState) {
        if (state === this.stateValue) return;
        this.stateValue = state;
        this.events.emit("state", state);
    }

    private log(level: LogNotification["level"], message: string) {
        if (message.length > 0) this.options.log?.(level, message);
    }

    private subscribe<T>(event: string, listener: (value: T) => void): Disposable {
        this.events.on(event, listener);
        return {dispose: () => this.events.off(event, listener)};
    }
}
