// Starts the engine host process and talks to it. Plain Node (no 'vscode'), so the extension, the tests
// and scripts share one client. A host that dies fails the requests in flight with EngineHostExitedError;
// the next call starts a fresh host and loads the last model again.
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
};

export type EngineState = "stopped" | "starting" | "running";

export class EngineHostExitedError extends Error {
    override name = "EngineHostExitedError";
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
    onDidCrash(listener: (description: string) => void): Disposable {
        return this.subscribe("crash", listener);
    }

    /** starts the host if none runs; concurrent calls share one start */
    async start(): Promise<void> {
        await this.ensureHost();
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
        try {
            return await this.cancellable(host, requestId, options.signal, (connection) => connection.sendRequest(Requests.generate, {...params, requestId}));
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

    async info(): Promise<HostInfo> {
        const host = await this.ensureHost();
        return await this.send(host, (connection) => connection.sendRequest(Requests.info));
    }

    /** for tests: a raw request by method name (e.g. the host's test hooks) */
    async sendRaw(method: string): Promise<unknown> {
        const host = await this.ensureHost();
        return await this.send(host, (connection) => connection.sendRequest(method));
    }

    /** asks the host to exit, then kills it if it has not within the timeout */
    async stop(): Promise<void> {
        const host = this.host ?? (await this.starting?.catch(() => undefined));
        if (host == null) return;
        this.host = undefined;
        host.connection.dispose();
        host.child.disconnect?.();
        const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), this.options.stopTimeoutMs ?? 3000).unref());
        if ((await Promise.race([host.exited.then(() => "exited" as const), timeout])) === "timeout") {
            host.child.kill("SIGKILL");
            await host.exited;
        }
        this.setState("stopped");
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
                const expected = this.host?.child !== child && this.starting == null;
                if (this.host?.child === child) {
                    this.host = undefined;
                    this.setState("stopped");
                }
                if (!expected) {
                    const description = `The Layer Dial engine host exited unexpectedly (${signal != null ? `signal ${signal}` : `exit code ${code}`}).`;
                    this.log("error", description);
                    this.events.emit("crash", description);
                }
                connection.dispose();
                host.hasExited = true;
                for (const listener of host.exitListeners) listener();
                host.exitListeners.clear();
                resolve();
            })
        );
        const host: Host = {child, connection, exited, hasExited: false, exitListeners: new Set()};
        connection.onNotification(Notifications.token, ({requestId, text}) => this.textListeners.get(requestId)?.(text));
        connection.onNotification(Notifications.progress, (progress) => this.events.emit("progress", progress));
        connection.onNotification(Notifications.log, ({level, message}) => this.log(level, message));
        connection.listen();

        await new Promise<void>((resolve, reject) => {
            child.once("spawn", () => resolve());
            child.once("error", reject);
        });
        this.host = host;
        this.setState("running");
        return host;
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
