// The JSON-RPC protocol between the engine host process and its clients (the VS Code extension, tests).
// One typed message per operation; the host answers requests and streams tokens as notifications.
import {NotificationType, RequestType, RequestType0} from "vscode-jsonrpc";

export type SpeedLevelName = "Quality" | "Lossless" | "Balanced" | "Fast" | "Faster" | "Max";

/** a speed target: a named level, a ratio (≥ 1), or an explicit set of layers to skip */
export type SpeedSetting = {speed: SpeedLevelName | number} | {skipLayers: number[]};

export type PrefillPolicy = "full" | "skip";
export type GpuChoice = "auto" | "cpu" | "cuda" | "vulkan" | "metal";

export type LoadParams = {
    /** a local .gguf path (hf: URIs are resolved by the client before loading) */
    modelPath: string;
    /** tokens per sequence. Defaults to min(4096, the model's training context). */
    contextSize?: number;
    /** requests decoded side by side. Defaults to 4. */
    sequences?: number;
    prefill?: PrefillPolicy;
    speed?: SpeedSetting;
    /** Defaults to the CPU's math cores. */
    threads?: number;
    /** where calibrated layer orders are cached (the extension's global storage). Defaults to ~/.cache/layer-dial/calibration. */
    calibrationCacheDirectory?: string;
    /** layers offloaded to the GPU: "auto" fits as many as VRAM holds (node-llama-cpp's default), a number
     *  offloads at most that many. Ignored on the CPU. Defaults to "auto". */
    gpuLayers?: "auto" | number;
};

export type CalibrateParams = {
    /** calibrate again even when this model file has a cached order */
    force?: boolean;
};

export type CalibrateResult = {
    method: string;
    order: number[];
    cached: boolean;
    cacheFile: string;
    plan: PlanInfo;
};

export type DialStopInfo = {
    depth: number;
    predictedSpeedup: number;
    keptLayers: number[];
};

export type PlanInfo = {
    layerCount: number;
    depth: number;
    keptLayers: number[];
    skippedLayers: number[];
    /** "even" (default), "calibrated", another named strategy, or "explicit" for a --skip-layers mask */
    strategy: string;
    requestedSpeedup: number;
    targetSpeedup: number;
    predictedSpeedup: number;
    maxSpeedup: number;
    /** set when the request was clamped or adjusted */
    message: string | null;
    /** present at the Lossless level: what its drafter has chosen and measured (predictedSpeedup is its prediction) */
    lossless?: LosslessInfo;
    /** the prediction at the current context (predictedSpeedup is at an empty cache, where the depth was
     *  chosen); present once a request has run, except at the Lossless level */
    atContext?: ContextPrediction;
};

/** a prediction at a context length: each kept layer's attention reads every cached token, so skipping
 *  layers saves more the longer the context */
export type ContextPrediction = {
    /** tokens in the context: the last request's prompt and generated tokens */
    contextTokens: number;
    predictedSpeedup: number;
};

/** the Lossless level's drafter: which layers draft, how many tokens, and how often the full model agrees */
export type LosslessInfo = {
    /** "draft": drafting pays on this model and machine; "plain": it does not, so Lossless decodes like
     *  Quality and only probes now and then; "learning": nothing measured yet */
    mode: "draft" | "plain" | "learning";
    /** layers that run while drafting (null before the first measurement) */
    draftDepth: number | null;
    /** tokens drafted per verify */
    draftLength: number | null;
    /** drafts the full model accepted ÷ drafts it judged, at draftDepth */
    acceptanceRate: number | null;
    /** the cost model's speedup over Quality: E(α, k) · plain ÷ (k · draft + verify(k + 1)) */
    predictedSpeedup: number;
    /** measured acceptance per depth tried */
    depths: {depth: number; acceptanceRate: number | null; judged: number}[];
    /** it started from what an earlier load of this model measured on this machine (so the first answer
     *  skipped measuring every depth); false or absent: it learned everything in this load */
    fromStore?: boolean;
};

/** what self-speculative decoding did in one run (the Lossless level) */
export type SpeculationStats = {
    /** the depth most steps drafted at (null when none drafted) */
    draftDepth: number | null;
    speculativeSteps: number;
    /** steps decoded plainly because drafting did not pay (or to keep the plain cost measured) */
    plainSteps: number;
    draftedTokens: number;
    acceptedDrafts: number;
    /** accepted ÷ judged drafts (a step judges its drafts up to the first rejection) */
    acceptanceRate: number | null;
    /** tokens each verify yielded: the accepted drafts plus the full model's own token */
    meanTokensPerVerify: number | null;
    /** the drafter's prediction after the run */
    predictedSpeedup: number;
};

export type ModelSummary = {
    path: string;
    name: string;
    architecture: string;
    layerCount: number;
    /** false: the model runs at 1x only */
    layerSkipSupported: boolean;
    contextSize: number;
    sequences: number;
    threads: number;
    prefill: PrefillPolicy;
    /** where the cost model came from: "calibrated" (measured on this machine) or an estimate */
    costModelSource: string;
    /** why the speed calibration failed, when it did: predictions then come from tensor sizes */
    speedCalibrationError?: string;
    /** present once real runs drifted from the calibration by more than 5%: it is dropped from the cache */
    speedCalibrationDrift?: string;
    /** decode tokens/s at 1x, batch 1, as calibrated (0 when not calibrated) */
    fullSpeedTokensPerSecond: number;
    maxSpeedup: number;
    /** how inline completions prompt this model: a fill-in-the-middle style found in its vocabulary, or "prefix" */
    completionStyle: string;
    /** every depth the dial can land on, slowest first */
    stops: DialStopInfo[];
    plan: PlanInfo;
    build: {binsDirectory: string; buildType: string};
    compute: ComputeInfo;
};

/** where the model runs: shown in the panel header, the status bar's tooltip, `layer-dial info` and run stats */
export type ComputeInfo = {
    /** "cpu", or the GPU backend: "vulkan", "cuda" or "metal" */
    backend: string;
    /** the GPU devices in use (empty on the CPU) */
    deviceNames: string[];
    /** model layers offloaded to the GPU (node-llama-cpp counts the output layer as one more) */
    offloadedLayers: number;
    /** the model's layers plus its output layer: everything that could be offloaded */
    offloadableLayers: number;
    /** why the chosen backend is not the requested one (e.g. no Vulkan device), for the log and tooltips */
    fallbackReason?: string;
};

/** "cpu", or "vulkan · llvmpipe (LLVM 15.0.6, 256 bits) · 7/7 layers" */
export function describeCompute(compute: ComputeInfo): string {
    if (compute.backend === "cpu") return "cpu";
    return [compute.backend, ...compute.deviceNames, `${compute.offloadedLayers}/${compute.offloadableLayers} layers`].join(" · ");
}

export type GenerateParams = {
    requestId: string;
    prompt: string;
    systemPrompt?: string;
    /** the text to continue instead of `prompt` when the model has no chat template */
    completionPrompt?: string;
    /** "auto": chat when the model has a chat template */
    mode?: "auto" | "chat" | "completion";
    maxTokens?: number;
    temperature?: number;
    topP?: number;
    seed?: number;
};

export type StopReason = "endOfGeneration" | "maxTokens" | "stopString" | "boundary" | "aborted";

export type CompleteParams = {
    requestId: string;
    /** the document's text before the cursor (the engine keeps what fits its token budget) */
    prefix: string;
    /** the document's text after the cursor */
    suffix: string;
    /** the document's path, relative to the workspace when it has one */
    path?: string;
    /** the language's line comment, e.g. "#" (for context in prompts without file separators) */
    lineComment?: string;
    /** short excerpts of other open files of the same language */
    context?: {path: string; text: string}[];
    /** completions' own speed; defaults to the dial's */
    speed?: SpeedSetting;
    /** Defaults to 64. */
    maxTokens?: number;
};

export type CompletionStats = {
    promptTokens: number;
    /** prompt tokens the KV cache still held from the previous completion */
    reusedPromptTokens: number;
    recomputedTokens: number;
    generatedTokens: number;
    /** from the request reaching the engine to its first token; null when none came */
    firstTokenMs: number | null;
    totalMs: number;
    keptLayers: number;
    layerCount: number;
    predictedSpeedup: number;
};

export type CompleteResult = {
    requestId: string;
    /** the suggestion to insert ("" for none) */
    text: string;
    stopReason: StopReason;
    /** "qwen2.5-coder", "starcoder2", "codellama", "deepseek-coder", or "prefix" */
    style: string;
    multiline: boolean;
    stats: CompletionStats;
};

export type GenerationStats = {
    promptTokens: number;
    reusedPromptTokens: number;
    generatedTokens: number;
    recomputedTokens: number;
    promptTokensPerSecond: number;
    decodeTokensPerSecond: number;
    keptLayers: number;
    layerCount: number;
    targetSpeedup: number;
    /** at predictedAtContextTokens, the run's own context (at the Lossless level: the drafter's prediction) */
    predictedSpeedup: number;
    /** the mean context while the run decoded, which predictedSpeedup and achievedSpeedup's 1x rate are for */
    predictedAtContextTokens?: number;
    /** decode tokens/s ÷ the 1x rate measured on this model, backend and machine; null when there is none
     *  or the run cannot be compared with it (whyNoAchievedSpeedup says which) */
    achievedSpeedup: number | null;
    /** present exactly when achievedSpeedup is null: why, in words every surface shows after "—" */
    whyNoAchievedSpeedup?: string;
    batch: number;
    /** where this run decoded: "cpu", or "vulkan · llvmpipe · 7/7 layers" */
    compute: string;
    /** present when the run decoded at the Lossless level */
    speculation?: SpeculationStats;
};

export type GenerateResult = {
    requestId: string;
    text: string;
    tokens: number;
    stopReason: StopReason;
    keptLayers: number[];
    skippedLayers: number[];
    stats: GenerationStats;
    /** the plan after this run: its prediction at the context the run left (atContext) and, at the Lossless
     *  level, what the drafter has learned by now; the client's copy of the plan is refreshed from it */
    plan?: PlanInfo;
};

export type TokenNotification = {requestId: string; text: string};
export type ProgressNotification = {message: string; fraction?: number};
export type LogNotification = {level: "info" | "warn" | "error"; message: string};

export type HostInfo = {
    pid: number;
    nodeVersion: string;
    model: ModelSummary | null;
    /** models the host holds open (loaded and not yet disposed): 0 or 1, more would be a leak */
    openModels: number;
    /** generate and complete requests the host has not answered yet */
    requestsInFlight: number;
    /** the loaded model's KV sequences held by running requests (0 when idle) */
    busySequences: number;
    /** the host process's memory now (the leak benchmark watches it over 10,000 requests) */
    memory: {rssBytes: number; heapUsedBytes: number};
};

/** The machine as the host's llama.cpp build sees it: what a recommended model must fit in. */
export type MachineInfo = {
    totalMemoryBytes: number;
    freeMemoryBytes: number;
    /** "cpu", or the GPU backend the host runs on: "vulkan", "cuda" or "metal" */
    backend: string;
    /** the backend's devices (empty on the CPU); a software rasterizer such as llvmpipe is listed too */
    deviceNames: string[];
    /** the devices' memory as llama.cpp reports it (0 on the CPU); on unified memory it is shared with RAM */
    vramTotalBytes: number;
    vramFreeBytes: number;
};

/** The dial a named level would give, predicted from a model file's tensor sizes (no model loaded). */
export type LevelPreview = {
    /** a level name from common/speed-levels.ts */
    level: string;
    keptLayers: number[];
    predictedSpeedup: number;
};

/** What a model file offers, read from its GGUF header without loading it. */
export type ModelPreview = {
    path: string;
    name: string;
    architecture: string;
    fileBytes: number;
    layerCount: number;
    /** false: this build cannot skip the architecture's layers, so every level runs at 1x */
    layerSkipSupported: boolean;
    /** "even", or "calibrated" when a cached layer order exists for this file */
    strategy: string;
    /** one per named level, in the level table's order */
    levels: LevelPreview[];
};

export type InspectParams = {
    /** a local .gguf file to preview; omitted: only the machine is described */
    modelPath?: string;
    /** where calibrated layer orders are cached (as for load) */
    calibrationCacheDirectory?: string;
};

export type InspectResult = {machine: MachineInfo; model: ModelPreview | null};

/** One installed CUDA build and whether it runs here, from its check in a process of its own. */
export type CudaInstallCheck = {
    directory: string;
    /** "cuda": node-llama-cpp's CUDA package (CUDA 13); "cuda-12": its CUDA 12 build (gpu install cuda --fallback) */
    build: "cuda" | "cuda-12";
    /** it decoded with every layer on a CUDA device */
    ok: boolean;
    /** it found no CUDA device: no NVIDIA GPU, driver or CUDA runtime */
    noDevice: boolean;
    /** the devices it ran on (empty unless ok) */
    deviceNames: string[];
    /** why it cannot run here (absent when ok); one line */
    reason?: string;
    /** seconds the check took; 0 when its answer was kept from an earlier check of the same install and driver */
    seconds: number;
};

/** The installed CUDA builds, in the order the engine tries them (empty when none is installed). */
export type CudaCheckResult = {installs: CudaInstallCheck[]};

export const Requests = {
    load: new RequestType<LoadParams, ModelSummary, void>("layerDial/load"),
    /** the machine's memory and GPU, and optionally a model file's dial preview, without loading a model */
    inspect: new RequestType<InspectParams, InspectResult, void>("layerDial/inspect"),
    unload: new RequestType0<null, void>("layerDial/unload"),
    generate: new RequestType<GenerateParams, GenerateResult, void>("layerDial/generate"),
    /** one inline completion at a cursor (cancel with layerDial/cancel and its requestId) */
    complete: new RequestType<CompleteParams, CompleteResult, void>("layerDial/complete"),
    cancel: new RequestType<{requestId: string}, null, void>("layerDial/cancel"),
    setSpeed: new RequestType<SpeedSetting, PlanInfo, void>("layerDial/setSpeed"),
    /** the plan a setting would give, without applying it (for pickers) */
    previewSpeed: new RequestType<SpeedSetting, PlanInfo, void>("layerDial/previewSpeed"),
    countTokens: new RequestType<{text: string}, number, void>("layerDial/countTokens"),
    stats: new RequestType0<GenerationStats | null, void>("layerDial/stats"),
    info: new RequestType0<HostInfo, void>("layerDial/info"),
    /** checks each installed CUDA build in a process of its own (never loads one into the host) */
    checkCuda: new RequestType0<CudaCheckResult, void>("layerDial/checkCuda"),
    /** greedy layer-order calibration of the loaded model (progress notifications; cancellable) */
    calibrate: new RequestType<CalibrateParams, CalibrateResult, void>("layerDial/calibrate")
} as const;

export const Notifications = {
    token: new NotificationType<TokenNotification>("layerDial/token"),
    progress: new NotificationType<ProgressNotification>("layerDial/progress"),
    log: new NotificationType<LogNotification>("layerDial/log")
} as const;

/** error codes the host puts on JSON-RPC errors, so clients can react without parsing messages */
export const ErrorCodes = {
    noModel: -32001,
    badInput: -32002,
    modelFile: -32003,
    nativeBuild: -32004,
    aborted: -32005,
    internal: -32010
} as const;
