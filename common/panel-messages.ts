// The speed panel's message protocol, one union per direction, shared by the extension and the webview
// bundle. Both sides validate what they receive with parseToWebview / parseFromWebview; a message that
// does not fit is dropped and reported through the caller's handler, never half-applied.
import {array, literal, nullable, num, object, optional, refine, str, tagged, type Schema} from "./panel-schema.js";

/** More layers than any released model has; bounds the work a hostile or broken message can cause. */
export const MAX_LAYERS = 1024;
/** Longest streamed chunk accepted in one message; the extension batches tokens well below this. */
export const MAX_CHUNK_CHARS = 65_536;
/** Runs kept in the history shown under the slider. */
export const MAX_HISTORY = 12;
/** Longest reason a run carries for having no achieved speedup (an engine error message is clipped to it). */
export const MAX_REASON_CHARS = 500;

/** "even": layers removed evenly spaced through the stack; "calibrated": in an order measured on text. */
export type LayerOrder = "even" | "calibrated";

/** What a speed level costs in quality, measured against the full model; every field optional. */
export interface QualityCost {
    /** Share (0..1) of next tokens on which the skipped model's top-1 matches the full model's. */
    readonly top1Agreement?: number;
    /** Perplexity of the skipped model divided by the full model's. */
    readonly perplexityRatio?: number;
}

/** One depth the planner can really deliver. */
export interface SpeedStep {
    /** Layers that run (k); the full model has depth = layerCount. */
    readonly depth: number;
    /** Predicted decode speedup over the full model (1 = every layer runs). */
    readonly predictedSpeedup: number;
    /** Indices of the layers that run, ascending, exactly `depth` of them. */
    readonly keptLayers: readonly number[];
    readonly quality?: QualityCost;
}

export interface ModelInfo {
    /** Display name, e.g. the GGUF file name. */
    readonly name: string;
    readonly layerCount: number;
    /** Where it runs, e.g. "CPU (8 threads)" or "CUDA: RTX 4090". */
    readonly gpu: string;
    /** The llama.cpp build, e.g. "b6500 + layer-dial patches". */
    readonly build: string;
    readonly layerOrder: LayerOrder;
    /**
     * Achievable depths, in any order. The full model (depth = layerCount, speedup 1) may be left out:
     * the panel adds it, because "Quality" must always be a choice.
     */
    readonly steps: readonly SpeedStep[];
}

/** One named level of the dial, predicted from the model file before the model is loaded. */
export interface LevelPreview {
    /** a level name from the level table (common/speed-levels.ts), e.g. "Balanced" */
    readonly level: string;
    readonly predictedSpeedup: number;
    /** indices of the layers that would run, ascending */
    readonly keptLayers: readonly number[];
}

/**
 * The configured model while none is loaded: what the panel shows from the first second. "ready": the
 * file is there and can be loaded; "notDownloaded": an hf: model not downloaded yet; "missing": the
 * setting names no usable file (note says why).
 */
export interface ConfiguredModel {
    /** the file name (for an hf: model not downloaded yet, the name it will have) */
    readonly name: string;
    readonly status: "ready" | "notDownloaded" | "missing";
    /** bytes on disk, when the file is there */
    readonly sizeBytes?: number;
    readonly layerCount?: number;
    /** one per named level, in the level table's order; empty until the engine has read the file */
    readonly levels: readonly LevelPreview[];
    /** what the panel says under the name: why there is no preview, or what to do */
    readonly note?: string;
}

/**
 * The Lossless level's drafter, as the panel shows it: the output is the full model's, and the skipped
 * layers only draft tokens that every layer then checks.
 */
export interface LosslessView {
    /** "draft": drafting pays here; "plain": it does not, so Lossless decodes like Quality (and checks again
     *  now and then); "learning": nothing measured yet */
    readonly mode: "draft" | "plain" | "learning";
    /** layers that run while drafting (null before the first measurement) */
    readonly draftDepth: number | null;
    /** tokens drafted per check */
    readonly draftLength: number | null;
    /** share (0..1) of drafts the full model accepted */
    readonly acceptanceRate: number | null;
    /** the drafter's predicted speedup over Quality */
    readonly predictedSpeedup: number;
}

/** The current level's predicted speedup at the context the last request left: skipped layers also skip
 *  their attention, which grows with the context, so this is what the next request at that length gets. */
export interface ContextPredictionView {
    readonly contextTokens: number;
    readonly predictedSpeedup: number;
}

/** What self-speculative decoding did in one run at the Lossless level. */
export interface RunSpeculation {
    readonly acceptanceRate: number | null;
    /** tokens each check yielded: the accepted drafts plus the full model's own */
    readonly meanTokensPerVerify: number | null;
    readonly draftDepth: number | null;
}

/** What one finished request measured. */
export interface RunStats {
    readonly requestId: string;
    readonly depth: number;
    /** The predicted speedup of the level the request ran at. */
    readonly targetSpeedup: number;
    readonly tokensPerSecond: number;
    /** Measured tokens/s over the full model's; absent until a full-model baseline has been measured. */
    readonly achievedSpeedup?: number;
    /** Why achievedSpeedup is absent (no measured 1x speed and why, a batched run, ...); shown after "—". */
    readonly whyNoAchievedSpeedup?: string;
    readonly tokens: number;
    /** Epoch milliseconds. */
    readonly finishedAt: number;
    /** present when the run was at the Lossless level */
    readonly lossless?: RunSpeculation;
}

/** "cancelled" is the user's Stop and is shown as such, not as an error. */
export type StopReason = "done" | "maxTokens" | "cancelled" | "error";

export type ToWebview =
    /** Everything the panel shows; sent in reply to `ready` and whenever the model changes. */
    | {
          readonly type: "state";
          readonly model: ModelInfo | null;
          /** The current level (a depth from model.steps or layerCount); null when no model is loaded. */
          readonly depth: number | null;
          /** The request streaming now, so a reloaded panel knows whether its saved request still runs. */
          readonly activeRequestId: string | null;
          /** The extension's own history, when it keeps one; replaces the panel's. */
          readonly history?: readonly RunStats[];
          /** While no model is loaded: the configured one (null: none is configured). Absent when a model is loaded. */
          readonly configured?: ConfiguredModel | null;
          /** The level is Lossless: its drafter (depth is then the full model's). Absent at every other level. */
          readonly lossless?: LosslessView;
          /** The current level at the last request's context; absent before any request (and at Lossless). */
          readonly atContext?: ContextPredictionView;
      }
    /** The level changed (from the panel, a command or the status bar). */
    | {readonly type: "level"; readonly depth: number}
    | {readonly type: "runStats"; readonly run: RunStats}
    | {readonly type: "requestStarted"; readonly requestId: string; readonly title: string}
    /** A chunk of streamed text, appended to the current request's output. */
    | {readonly type: "output"; readonly requestId: string; readonly text: string}
    | {readonly type: "requestEnded"; readonly requestId: string; readonly stopReason: StopReason; readonly error?: string};

export type FromWebview =
    /** Sent once the panel has rendered (from saved state, if any) and listens for messages. */
    | {readonly type: "ready"}
    /** The user picked a level: the depth and its predicted (snapped) speedup ratio. */
    | {readonly type: "setLevel"; readonly depth: number; readonly speedup: number}
    /** The user picked the Lossless level (the full model's output, with the skipped layers drafting). */
    | {readonly type: "setLossless"}
    | {readonly type: "stop"; readonly requestId: string}
    /** A button of the not-yet-loaded view: the extension runs the matching command. */
    | {readonly type: "action"; readonly action: PanelAction};

/** loadModel: Load Model; downloadModel: the configured hf: model's download (it asks first); selectModel: Select Model;
 *  openWalkthrough: the first-run walkthrough */
export type PanelAction = "loadModel" | "downloadModel" | "selectModel" | "openWalkthrough";

export type InvalidMessageHandler = (problem: string, message: unknown) => void;

const layerIndex = num({min: 0, max: MAX_LAYERS - 1, integer: true});
const depth = num({min: 1, max: MAX_LAYERS, integer: true});
const speedup = num({min: 1, max: 1000});
const requestId = str({minLength: 1, maxLength: 200});

const qualityCost: Schema<QualityCost> = object({
    top1Agreement: optional(num({min: 0, max: 1})),
    perplexityRatio: optional(num({min: 0, max: 1e6}))
});

const speedStep: Schema<SpeedStep> = refine(
    object({
        depth,
        predictedSpeedup: speedup,
        keptLayers: array(layerIndex, {minLength: 1, maxLength: MAX_LAYERS}),
        quality: optional(qualityCost)
    }),
    (step) => {
        if (step.keptLayers.length !== step.depth) return `depth ${step.depth} lists ${step.keptLayers.length} kept layers`;
        for (let i = 1; i < step.keptLayers.length; i++)
            if (step.keptLayers[i] <= step.keptLayers[i - 1]) return `keptLayers of depth ${step.depth} must be ascending without repeats`;
        return undefined;
    }
);

export const modelInfoSchema: Schema<ModelInfo> = refine(
    object({
        name: str({maxLength: 500}),
        layerCount: depth,
        gpu: str({maxLength: 500}),
        build: str({maxLength: 500}),
        layerOrder: literal("even", "calibrated"),
        steps: array(speedStep, {minLength: 1, maxLength: MAX_LAYERS})
    }),
    (model) => {
        const seen = new Set<number>();
        for (const step of model.steps) {
            if (seen.has(step.depth)) return `depth ${step.depth} is listed twice`;
            seen.add(step.depth);
            if (step.depth > model.layerCount) return `depth ${step.depth} exceeds the model's ${model.layerCount} layers`;
            if (step.keptLayers[step.keptLayers.length - 1] >= model.layerCount)
                return `depth ${step.depth} keeps a layer beyond the model's ${model.layerCount}`;
        }
        return undefined;
    }
);

const levelPreview: Schema<LevelPreview> = refine(
    object({
        level: str({minLength: 1, maxLength: 100}),
        predictedSpeedup: speedup,
        keptLayers: array(layerIndex, {minLength: 1, maxLength: MAX_LAYERS})
    }),
    (preview) => {
        for (let i = 1; i < preview.keptLayers.length; i++)
            if (preview.keptLayers[i] <= preview.keptLayers[i - 1]) return `keptLayers of ${preview.level} must be ascending without repeats`;
        return undefined;
    }
);

export const configuredModelSchema: Schema<ConfiguredModel> = refine(
    object({
        name: str({maxLength: 500}),
        status: literal("ready", "notDownloaded", "missing"),
        sizeBytes: optional(num({min: 0, max: Number.MAX_SAFE_INTEGER, integer: true})),
        layerCount: optional(depth),
        levels: array(levelPreview, {maxLength: 64}),
        note: optional(str({maxLength: 2000}))
    }),
    (model) => {
        if (model.levels.length > 0 && model.layerCount === undefined) return "levels need the model's layerCount";
        for (const preview of model.levels)
            if (preview.keptLayers[preview.keptLayers.length - 1] >= (model.layerCount ?? 0)) return `${preview.level} keeps a layer beyond the model's`;
        return undefined;
    }
);

const share = nullable(num({min: 0, max: 1}));

export const losslessViewSchema: Schema<LosslessView> = object({
    mode: literal("draft", "plain", "learning"),
    draftDepth: nullable(depth),
    draftLength: nullable(num({min: 1, max: 64, integer: true})),
    acceptanceRate: share,
    predictedSpeedup: num({min: 0, max: 1000})
});

export const contextPredictionSchema: Schema<ContextPredictionView> = object({
    contextTokens: num({min: 0, max: 10_000_000, integer: true}),
    predictedSpeedup: num({min: 0, max: 1000})
});

const runSpeculation: Schema<RunSpeculation> = object({
    acceptanceRate: share,
    meanTokensPerVerify: nullable(num({min: 1, max: 65})),
    draftDepth: nullable(depth)
});

export const runStatsSchema: Schema<RunStats> = object({
    requestId,
    depth,
    targetSpeedup: speedup,
    tokensPerSecond: num({min: 0, max: 1e7}),
    achievedSpeedup: optional(num({min: 0, max: 1000})),
    whyNoAchievedSpeedup: optional(str({maxLength: MAX_REASON_CHARS})),
    tokens: num({min: 0, max: Number.MAX_SAFE_INTEGER, integer: true}),
    finishedAt: num({min: 0, integer: true}),
    lossless: optional(runSpeculation)
});

/** True when `depth` is a level the model offers: a listed step, or the full model the panel adds. */
export function isOfferedDepth(model: ModelInfo, depth: number): boolean {
    return depth === model.layerCount || model.steps.some((step) => step.depth === depth);
}

const toWebview: Schema<ToWebview> = tagged<ToWebview>({
    state: refine(
        object({
            type: literal("state"),
            model: nullable(modelInfoSchema),
            depth: nullable(depth),
            activeRequestId: nullable(requestId),
            history: optional(array(runStatsSchema, {maxLength: MAX_HISTORY})),
            configured: optional(nullable(configuredModelSchema)),
            lossless: optional(losslessViewSchema),
            atContext: optional(contextPredictionSchema)
        }),
        (state) => {
            if (state.model === null) {
                if (state.depth !== null) return "depth must be null when no model is loaded";
                return state.lossless !== undefined || state.atContext !== undefined ? "Lossless and a context prediction need a loaded model" : undefined;
            }
            if (state.depth === null || !isOfferedDepth(state.model, state.depth)) return `depth ${state.depth} is not one of the model's steps`;
            if (state.lossless !== undefined && state.depth !== state.model.layerCount) return "at the Lossless level the depth is the full model's";
            if (state.lossless?.draftDepth != null && state.lossless.draftDepth > state.model.layerCount) return "the draft depth exceeds the model's layers";
            return undefined;
        }
    ),
    level: object({type: literal("level"), depth}),
    runStats: object({type: literal("runStats"), run: runStatsSchema}),
    requestStarted: object({type: literal("requestStarted"), requestId, title: str({maxLength: 500})}),
    output: object({type: literal("output"), requestId, text: str({maxLength: MAX_CHUNK_CHARS})}),
    requestEnded: object({
        type: literal("requestEnded"),
        requestId,
        stopReason: literal("done", "maxTokens", "cancelled", "error"),
        error: optional(str({maxLength: 2000}))
    })
});

const fromWebview: Schema<FromWebview> = tagged<FromWebview>({
    ready: object({type: literal("ready")}),
    setLevel: object({type: literal("setLevel"), depth, speedup}),
    setLossless: object({type: literal("setLossless")}),
    stop: object({type: literal("stop"), requestId}),
    action: object({type: literal("action"), action: literal("loadModel", "downloadModel", "selectModel", "openWalkthrough")})
});

function parseWith<T>(schema: Schema<T>, message: unknown, onInvalid: InvalidMessageHandler | undefined): T | undefined {
    const parsed = schema.parse(message, "");
    if (parsed.ok) return parsed.value;
    onInvalid?.(parsed.error, message);
    return undefined;
}

/** The typed message, or undefined (after telling onInvalid why) when it does not fit the protocol. */
export function parseToWebview(message: unknown, onInvalid?: InvalidMessageHandler): ToWebview | undefined {
    return parseWith(toWebview, message, onInvalid);
}

/** For the extension: validate what the panel posted before acting on it. */
export function parseFromWebview(message: unknown, onInvalid?: InvalidMessageHandler): FromWebview | undefined {
    return parseWith(fromWebview, message, onInvalid);
}
