// The engine host: a separate Node process that owns llama.cpp, so a native crash never takes the editor
// down. It speaks JSON-RPC over the IPC channel its parent opened (vscode-jsonrpc).
import {ResponseError, type CancellationToken} from "vscode-jsonrpc";
import {createMessageConnection, IPCMessageReader, IPCMessageWriter} from "vscode-jsonrpc/node.js";
import type {Llama} from "node-llama-cpp";
import {DialEngine, LayerSkipNotSupportedError, planInfo} from "../dial-engine.js";
import {GenerationAbortedError, PromptTooLongError} from "../generation/generator.js";
import {InvalidSamplingOptionError} from "../generation/sampler.js";
import {checkInstalledCudaBackends, loadPatchedLlama, PatchedBuildInvalidError, PatchedBuildMissingError, type PatchedLlama} from "../native/loader.js";
import {ModelFileCorruptError, ModelFileNotFoundError, ModelLoadError} from "../native/model-file.js";
import {LayerSkipMaskError} from "../native/skip-context.js";
import {CalibrationCancelledError, calibrateLayerOrder, formatCalibrationProgress} from "../calibration/index.js";
import {describeMachine} from "../machine-info.js";
import {previewModelFile} from "../model-preview.js";
import {
    ErrorCodes,
    Notifications,
    Requests,
    type CalibrateParams,
    type CalibrateResult,
    type LoadParams,
    type ModelSummary
} from "../../common/engine-protocol.js";

const connection = createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));

let patched: Promise<PatchedLlama> | undefined;
let engine: DialEngine | undefined;
let summary: ModelSummary | undefined;
let calibrationCacheDirectory: string | undefined;
const running = new Map<string, AbortController>();
/** cancels that arrived before their request (a client aborting at once); the request then starts aborted */
const cancelledEarly = new Set<string>();

const badInputErrors = [
    "InvalidSpeedSettingError",
    "UnencodableTextError",
    "InvalidSpeedRatioError",
    "UnknownSpeedLevelError",
    "SkipMaskLengthError",
    "AllLayersSkippedError",
    "AttentionTypeSkippedError",
    "InvalidLayerIndexError",
    "UnknownStrategyError"
];

/** a JSON-RPC error whose message is meant for the user and whose code tells the client what kind it is */
function toResponseError(error: unknown): ResponseError<void> {
    const err = error instanceof Error ? error : new Error(String(error));
    if (err instanceof ResponseError) return err;
    if (err instanceof ModelFileNotFoundError || err instanceof ModelFileCorruptError || err instanceof ModelLoadError)
        return new ResponseError(ErrorCodes.modelFile, err.message);
    if (err instanceof PatchedBuildMissingError || err instanceof PatchedBuildInvalidError) return new ResponseError(ErrorCodes.nativeBuild, err.message);
    if (
        err instanceof PromptTooLongError ||
        err instanceof InvalidSamplingOptionError ||
        err instanceof LayerSkipMaskError ||
        err instanceof LayerSkipNotSupportedError ||
        badInputErrors.includes(err.name)
    )
        return new ResponseError(ErrorCodes.badInput, err.message);
    if (err instanceof GenerationAbortedError || err instanceof CalibrationCancelledError) return new ResponseError(ErrorCodes.aborted, err.message);
    return new ResponseError(ErrorCodes.internal, `${err.name}: ${err.message}`);
}

function handle<P, R>(work: (params: P) => Promise<R> | R) {
    return async (params: P): Promise<R | ResponseError<void>> => {
        try {
            return await work(params);
        } catch (error) {
            void connection.sendNotification(Notifications.log, {level: "error", message: String((error as Error).stack ?? error)});
            return toResponseError(error);
        }
    };
}

function requireEngine(): DialEngine {
    if (engine == null) throw new ResponseError(ErrorCodes.noModel, "No model is loaded. Choose one (Layer Dial: Select Model, or --model) and try again.");
    return engine;
}

async function llama(): Promise<PatchedLlama> {
    patched ??= loadPatchedLlama({onProgress: (message) => void connection.sendNotification(Notifications.progress, {message})}).then(
        (loaded) => {
            // once per host: the backend is chosen once, when the host starts
            if (loaded.backend.fallbackReason != null)
                void connection.sendNotification(Notifications.log, {
                    level: loaded.backend.requested === "auto" ? "info" : "warn",
                    message: loaded.backend.fallbackReason
                });
            return loaded;
        },
        (error: unknown) => {
            patched = undefined;
            throw error;
        }
    );
    return await patched;
}

/**
 * Model loads, unloads and calibrations run one at a time. Two overlapping loads would each find no
 * engine and the first would never be disposed (a whole model, context and threadpool leaked); an unload
 * under a running calibration would free the context its decodes are using.
 */
let lifecycle: Promise<unknown> = Promise.resolve();
function serialized<R>(work: () => Promise<R>): Promise<R> {
    const result = lifecycle.then(work, work);
    lifecycle = result.catch(() => undefined);
    return result;
}
/** the running calibration, which a load or an unload cancels before it waits its turn */
let calibration: AbortController | undefined;
/** test hook (layerDial/test/holdLoads): a load stops half-way, with its model open, and never returns */
let holdLoads = false;
async function holdForever(stage: string): Promise<never> {
    await connection.sendNotification(Notifications.log, {level: "info", message: `test hook: holding the ${stage}`});
    return await new Promise<never>(() => undefined);
}
/** every engine loaded and not yet disposed (HostInfo.openModels) */
const openEngines = new Set<DialEngine>();

async function load(params: LoadParams): Promise<ModelSummary> {
    const {llama: llamaInstance, binsDirectory, buildInfo, backend} = await llama();
    await disposeEngine();
    calibrationCacheDirectory = params.calibrationCacheDirectory;
    engine = await DialEngine.load({
        llama: llamaInstance as Llama,
        modelPath: params.modelPath,
        backend,
        gpuLayers: params.gpuLayers,
        contextSize: params.contextSize,
        sequences: params.sequences,
        threads: params.threads,
        prefill: params.prefill,
        buildId: buildInfo?.id ?? binsDirectory,
        calibrationCacheDirectory: params.calibrationCacheDirectory,
        onProgress: (message) => void connection.sendNotification(Notifications.progress, {message})
    });
    openEngines.add(engine);
    if (holdLoads) await holdForever("load");
    if (params.speed != null) engine.setSpeed(params.speed);
    summary = engine.summary({binsDirectory, buildType: llamaInstance.buildType});
    return summary;
}

async function disposeEngine(): Promise<null> {
    for (const controller of running.values()) controller.abort();
    const current = engine;
    engine = undefined;
    summary = undefined;
    if (current != null) {
        await current.dispose();
        openEngines.delete(current);
    }
    return null;
}

connection.onRequest(
    Requests.load,
    handle((params) => {
        calibration?.abort();
        return serialized(() => load(params));
    })
);
connection.onRequest(
    Requests.unload,
    handle(() => {
        calibration?.abort();
        return serialized(disposeEngine);
    })
);
// read-only: the file's header and the machine, so it needs no turn among loads and calibrations
connection.onRequest(
    Requests.inspect,
    handle(async (params) => {
        const {llama: llamaInstance, backend, layerSkipArchitectures} = await llama();
        const model =
            params.modelPath == null
                ? null
                : await previewModelFile({
                      modelPath: params.modelPath,
                      layerSkipArchitectures,
                      calibrationCacheDirectory: params.calibrationCacheDirectory,
                      onSkippedLevel: (level, reason) =>
                          void connection.sendNotification(Notifications.log, {level: "info", message: `preview: ${level}: ${reason}`})
                  });
        return {machine: await describeMachine(llamaInstance as Llama, backend), model};
    })
);
// each build in a process of its own, so neither a crash nor a backend loaded for good reaches this host
connection.onRequest(
    Requests.checkCuda,
    handle(async () => ({
        installs: await checkInstalledCudaBackends({onProgress: (message) => void connection.sendNotification(Notifications.progress, {message})})
    }))
);
connection.onRequest(
    Requests.setSpeed,
    handle((setting) => planInfo(requireEngine().setSpeed(setting)))
);
connection.onRequest(
    Requests.previewSpeed,
    handle((setting) => planInfo(requireEngine().previewSpeed(setting)))
);
connection.onRequest(
    Requests.countTokens,
    handle(({text}) => requireEngine().countTokens(text))
);
connection.onRequest(
    Requests.stats,
    handle(() => engine?.stats ?? null)
);
connection.onRequest(
    Requests.info,
    handle(() => ({
        pid: process.pid,
        nodeVersion: process.version,
        model: engine != null && summary != null ? {...summary, plan: planInfo(engine.currentPlan)} : null,
        openModels: openEngines.size,
        requestsInFlight: running.size,
        busySequences: engine?.busySequences ?? 0,
        memory: {rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed}
    }))
);
connection.onRequest(
    Requests.cancel,
    handle(({requestId}) => {
        const controller = running.get(requestId);
        if (controller !== undefined) {
            controller.abort();
        } else {
            cancelledEarly.add(requestId);
            // ids of requests that never came must not pile up
            if (cancelledEarly.size > 256) cancelledEarly.delete(cancelledEarly.values().next().value!);
        }
        return null;
    })
);
connection.onRequest(Requests.calibrate, (params, token) => serialized(() => calibrate(params, token)));

async function calibrate(params: CalibrateParams, token: CancellationToken): Promise<CalibrateResult | ResponseError<void>> {
    const controller = new AbortController();
    calibration = controller;
    const cancellation = token.onCancellationRequested(() => controller.abort());
    try {
        const current = requireEngine();
        const {llama: llamaInstance} = await llama();
        const result = await calibrateLayerOrder({
            modelPath: current.fileInfo.path,
            llama: llamaInstance as Llama,
            model: current.model,
            cacheDirectory: calibrationCacheDirectory,
            force: params.force,
            signal: controller.signal,
            onProgress: (progress) =>
                void connection.sendNotification(Notifications.progress, {
                    message: formatCalibrationProgress(progress),
                    fraction: progress.fraction
                })
        });
        const plan = planInfo(current.useCalibratedOrder(result.order));
        return {method: result.method, order: result.order, cached: result.cached, cacheFile: result.cacheFile, plan};
    } catch (error) {
        return toResponseError(error);
    } finally {
        cancellation.dispose();
        if (calibration === controller) calibration = undefined;
    }
}

/** runs `work` with an AbortSignal that layerDial/cancel (by request id) and $/cancelRequest both fire */
async function cancellable<R>(requestId: string, token: CancellationToken, work: (signal: AbortSignal) => Promise<R>): Promise<R | ResponseError<void>> {
    const controller = new AbortController();
    running.set(requestId, controller);
    if (cancelledEarly.delete(requestId)) controller.abort();
    const cancellation = token.onCancellationRequested(() => controller.abort());
    try {
        return await work(controller.signal);
    } catch (error) {
        void connection.sendNotification(Notifications.log, {level: "error", message: String((error as Error).stack ?? error)});
        return toResponseError(error);
    } finally {
        cancellation.dispose();
        running.delete(requestId);
    }
}

connection.onRequest(Requests.complete, (params, token) =>
    cancellable(params.requestId, token, async (signal) => {
        const {requestId, ...request} = params;
        const result = await requireEngine().complete({...request, signal});
        return {requestId, ...result};
    })
);

connection.onRequest(Requests.generate, (params, token) =>
    cancellable(params.requestId, token, async (signal) => {
        const engine = requireEngine();
        const result = await engine.generate({
            prompt: params.prompt,
            systemPrompt: params.systemPrompt,
            completionPrompt: params.completionPrompt,
            mode: params.mode,
            maxTokens: params.maxTokens,
            temperature: params.temperature,
            topP: params.topP,
            seed: params.seed,
            signal,
            onText: (text) => void connection.sendNotification(Notifications.token, {requestId: params.requestId, text})
        });
        return {
            requestId: params.requestId,
            text: result.text,
            tokens: result.tokens.length,
            stopReason: result.stopReason,
            keptLayers: result.keptLayers,
            skippedLayers: result.skippedLayers,
            stats: result.stats,
            plan: planInfo(engine.currentPlan)
        };
    })
);

// tests prove that a native abort reaches the client as an error and the next request gets a fresh host
if (process.env.LAYER_DIAL_TEST_HOOKS === "1") {
    connection.onRequest("layerDial/test/abort", () => process.abort());
    // the leak benchmark measures the heap after a full collection (the host then runs with --expose-gc)
    connection.onRequest("layerDial/test/collectGarbage", () => {
        const collect = (globalThis as {gc?: () => void}).gc;
        collect?.();
        return collect !== undefined;
    });
    // the fault suite kills the host while a load is under way: loads then stop, model open, until the kill
    connection.onRequest("layerDial/test/holdLoads", () => {
        holdLoads = true;
        return null;
    });
}

// the parent going away (editor closed, crash) must not leave llama.cpp running
process.on("disconnect", () => process.exit(0));
connection.onClose(() => process.exit(0));
connection.listen();
