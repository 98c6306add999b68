import {InvalidCostModelError} from "./errors.js";

/**
 * Seconds per decoded token as a function of which layers run and how long the context is:
 *
 *     t(S, n) = fixedSeconds + Σ_{i∈S} (layerSeconds[i] + n · layerSecondsPerContextToken[i])
 *
 * where n is the number of tokens already in the sequence's KV cache when the token is decoded. Each
 * kept layer's attention reads every cached position, so a layer costs more the longer the context, and
 * skipping it saves more: real speedups grow with context. Layers may differ in cost (e.g. MoE layers
 * next to dense ones), so the model keeps one cost per layer rather than a single per-layer constant.
 * Sliding-window layers are treated like full-attention ones (their real context cost stops growing at
 * the window). A calibrated model bends both sums where the timings say they are not straight lines: the
 * layers' through the depth curve, the attention's through the attention depth curve, and n through the
 * context curve (secondsPerToken). A plain JSON-serialisable object so that callers can cache it per model,
 * device and build.
 */
export interface CostModel {
    readonly format: typeof COST_MODEL_FORMAT;
    readonly layerCount: number;
    /** Work that does not depend on the kept layers: output norm, output head, sampling, per-token overhead. */
    readonly fixedSeconds: number;
    /** Seconds each layer adds to a token when it runs, apart from reading the cache (n = 0). */
    readonly layerSeconds: readonly number[];
    /** Seconds each layer adds to a token, when it runs, per token already in the context (its attention).
     *  All zeros for a model made without timings at two context lengths (estimates, uniform models). */
    readonly layerSecondsPerContextToken: readonly number[];
    /** Where the attention's cost is not a straight line in the context (absent: it is). */
    readonly contextCurve?: ContextCurve;
    /** Where the layers' cost is not a straight line in how many run (absent: it is). */
    readonly depthCurve?: DepthCurve;
    /** Where the layers' attention is not a straight line in how many run (absent: it is). */
    readonly attentionDepthCurve?: AttentionDepthCurve;
    readonly source: "uniform" | "tensor-bytes" | "calibrated";
    /** Present when fitted to timings; the residual says how well the model explains them. */
    readonly calibration?: {
        readonly measurements: number;
        readonly rmsResidualSeconds: number;
        /** the same over each timing's own time: 0.02 is a fit within 2% of the timings (absent before format 2) */
        readonly rmsRelativeResidual?: number;
        /** the longest context a timing was taken at (predictions beyond it extrapolate the attention term) */
        readonly maxContextTokens?: number;
        /** what the engine's own generation step adds to a bare decode, measured beside it; part of
         *  fixedSeconds (absent: not measured, as in calibrations before it was) */
        readonly engineStepSeconds?: number;
    };
}

/**
 * The attention's cost per cached token is not constant: on a 2-core CPU, full depth of a 28-layer n_embd 640
 * model paid 1.3 µs per cached token up to 512 tokens, 2.5 up to 1,024 and 3.1 up to 2,048 (the cache
 * outgrows the CPU's caches). The curve maps a context of n cached tokens to the context the straight
 * per-context-token term is evaluated at, piecewise linearly through (0, 0) and the measured knots, and
 * past the last knot along its last piece.
 */
export interface ContextCurve {
    /** cached tokens at each knot, increasing */
    readonly tokens: readonly number[];
    /** what each knot's context costs, in tokens of the straight term: the attention at tokens[k] cached
     *  tokens costs what layerSecondsPerContextToken gives at effectiveTokens[k] */
    readonly effectiveTokens: readonly number[];
}

/**
 * What the kept layers cost is not proportional to how many run: on a 2-core CPU, bare steps of a 28-layer
 * n_embd 640 model rose by 0.17-0.18 ms a layer up to 6 layers and by 0.23-0.31 ms a layer from 9 on (a few
 * layers' weights and the output head stay in the CPU's caches from one token to the next; more do not), so
 * a straight line through every depth promised up to 18% less than the shallow depths gave (3x at batch 1).
 * The curve maps the kept layers' cost, in average layers (Σ layerSeconds of the kept layers ÷ their mean),
 * to what they cost in fact, piecewise linearly through (0, 0) and the depths timed at the shortest context,
 * and past the last knot along its last piece.
 */
export interface DepthCurve {
    /** the kept layers' cost at each knot, in average layers, increasing */
    readonly layers: readonly number[];
    /** what they cost in fact, in the same units: never falling */
    readonly effectiveLayers: readonly number[];
}

/**
 * What the kept layers' attention costs is not proportional to how many run either: on a 2-core CPU, bare
 * steps of a 36-layer n_embd 1024 model grew from ~100 to ~1,500 cached tokens by 3.29 ms at 9 layers and
 * 12.21 at 36 (one process, 12 rounds), 0.269 of it where a cost per layer gives 0.25, and the dial promised
 * its 9-layer level 3-7% more speed at ~1,500 tokens than it gave in four bench runs of four. The curve maps
 * the kept layers' attention, in average layers (Σ layerSecondsPerContextToken of the kept layers ÷ their
 * mean), to what it costs in fact, piecewise linearly through (0, 0) and the depths timed at the longest
 * context (where the calibration puts them on the least-squares line through what each timed), and past the
 * last knot along its last piece; the context term is n (through the context curve) times that.
 */
export interface AttentionDepthCurve {
    /** the kept layers' attention at each knot, in average layers, increasing */
    readonly layers: readonly number[];
    /** what it costs in fact, in the same units: never falling */
    readonly effectiveLayers: readonly number[];
}

/** Where a prediction is made: how many tokens the context holds. */
export type PredictionContext = {
    /** tokens already in the KV cache when a token is decoded. Defaults to DEFAULT_CONTEXT_TOKENS. */
    readonly contextTokens?: number;
};

/**
 * The context a prediction assumes when none is given: an empty cache, so only the per-token cost counts
 * (what the first tokens of a short prompt pay, and what the cost models before format 2 predicted). Plans
 * pick their depth at it, so a level keeps the same layers however long the context grows; predictions
 * at the real context (run stats, the current context) pass it explicitly.
 */
export const DEFAULT_CONTEXT_TOKENS = 0;

/** 2: the per-context-token attention term (layerSecondsPerContextToken); format 1 files are re-measured */
export const COST_MODEL_FORMAT = "layer-dial-cost-model/2";

/**
 * Decode on CPU (and, at batch size 1, mostly on GPU) streams every weight it uses once per token, so time
 * is close to bytes read / memory bandwidth. The default bandwidth is a laptop-class guess; it only
 * matters relative to overheadSecondsPerToken, because speedups are ratios.
 */
export const DEFAULT_BYTES_PER_SECOND = 40e9;

export interface TensorBytesEstimate {
    /** Weight bytes each layer reads per token (see layerAndFixedBytes for computing them from GGUF tensors). */
    readonly layerBytes: readonly number[];
    /** Bytes read per token outside the layers: the output head (n_embd × n_vocab) and output norm dominate. */
    readonly fixedBytes: number;
    readonly bytesPerSecond?: number;
    /** Time per token that reads no weights (graph launch, sampling, detokenising). */
    readonly overheadSecondsPerToken?: number;
}

export function estimateCostModelFromTensorBytes(estimate: TensorBytesEstimate): CostModel {
    const bytesPerSecond = estimate.bytesPerSecond ?? DEFAULT_BYTES_PER_SECOND;
    const overhead = estimate.overheadSecondsPerToken ?? 0;
    requireFiniteNonNegative("fixedBytes", estimate.fixedBytes);
    requireFiniteNonNegative("overheadSecondsPerToken", overhead);
    if (!(Number.isFinite(bytesPerSecond) && bytesPerSecond > 0))
        throw new InvalidCostModelError(`bytesPerSecond must be a positive number, got ${bytesPerSecond}`);
    estimate.layerBytes.forEach((bytes, layer) => requireFiniteNonNegative(`layerBytes[${layer}]`, bytes));
    return checked({
        format: COST_MODEL_FORMAT,
        layerCount: estimate.layerBytes.length,
        fixedSeconds: estimate.fixedBytes / bytesPerSecond + overhead,
        layerSeconds: estimate.layerBytes.map((bytes) => bytes / bytesPerSecond),
        // bytes say nothing about the attention's reads of the cache; only timings at two contexts do
        layerSecondsPerContextToken: estimate.layerBytes.map(() => 0),
        source: "tensor-bytes"
    });
}

/**
 * Equal layers, with `fixedShare` of the full-depth time spent outside them; a stand-in before tensor
 * sizes or timings are known.
 */
export function uniformCostModel(layerCount: number, fixedShare: number, secondsPerTokenAtFullDepth = 1): CostModel {
    if (!(fixedShare >= 0 && fixedShare < 1))
        throw new InvalidCostModelError(`fixedShare is the fraction of decode time outside the layers; give a number in [0, 1), got ${fixedShare}`);
    requireFiniteNonNegative("secondsPerTokenAtFullDepth", secondsPerTokenAtFullDepth);
    return checked({
        format: COST_MODEL_FORMAT,
        layerCount,
        fixedSeconds: fixedShare * secondsPerTokenAtFullDepth,
        layerSeconds: Array.from({length: layerCount}, () => ((1 - fixedShare) * secondsPerTokenAtFullDepth) / layerCount),
        layerSecondsPerContextToken: Array.from({length: layerCount}, () => 0),
        source: "uniform"
    });
}

/** t(S, n): seconds per decoded token with `keptLayers` running and `contextTokens` tokens in the cache (default 0). */
export function secondsPerToken(model: CostModel, keptLayers: Iterable<number>, at: PredictionContext = {}): number {
    const contextTokens = effectiveContextTokens(model, contextTokensOf(at));
    let layers = 0;
    let attentionPerToken = 0;
    for (const layer of keptLayers) {
        layers += model.layerSeconds[layer];
        attentionPerToken += model.layerSecondsPerContextToken[layer];
    }
    return model.fixedSeconds + effectiveLayerSeconds(model, layers) + contextTokens * effectiveAttentionSeconds(model, attentionPerToken);
}

/** the kept layers' `seconds` (Σ layerSeconds) through the model's depth curve (themselves without one) */
export function effectiveLayerSeconds(model: CostModel, seconds: number): number {
    return throughCurve(model.depthCurve, model.layerSeconds, seconds);
}

/** `seconds` of some layers' costs (a sum of `perLayer`) through a curve in average layers; themselves without one */
function throughCurve(curve: DepthCurve | AttentionDepthCurve | undefined, perLayer: readonly number[], seconds: number): number {
    if (curve === undefined || curve.layers.length === 0) return seconds;
    const averageLayer = perLayer.reduce((sum, value) => sum + value, 0) / perLayer.length;
    if (!(averageLayer > 0)) return seconds;
    return piecewiseLinear(curve.layers, curve.effectiveLayers, seconds / averageLayer) * averageLayer;
}

/** the kept layers' attention per cached token (Σ layerSecondsPerContextToken) through the model's attention
 *  depth curve (itself without one) */
export function effectiveAttentionSeconds(model: CostModel, secondsPerToken: number): number {
    return throughCurve(model.attentionDepthCurve, model.layerSecondsPerContextToken, secondsPerToken);
}

/** t(all layers, n) / t(kept layers, n): the speedup at a context of n tokens (default 0). */
export function predictedSpeedup(model: CostModel, keptLayers: Iterable<number>, at: PredictionContext = {}): number {
    const all = secondsPerToken(model, model.layerSeconds.keys(), at);
    const kept = secondsPerToken(model, keptLayers, at);
    // a model with no cost at all predicts no change rather than 0/0
    return kept > 0 ? all / kept : 1;
}

/**
 * The mean context a run's decode rate was measured over: a run of `generatedTokens` after a prompt of
 * `promptTokens` decodes its 2nd..last token at contexts promptTokens .. promptTokens + generatedTokens − 2
 * (the first comes out of the prompt's batch, and decode tokens/s leaves it out). t(S, n) is linear in n,
 * so the mean time per token is the time at this mean context.
 */
export function meanDecodeContextTokens(promptTokens: number, generatedTokens: number): number {
    return promptTokens + Math.max(0, generatedTokens - 2) / 2;
}

/** n through the model's context curve (n itself without one): the context the straight attention term is evaluated at */
export function effectiveContextTokens(model: CostModel, contextTokens: number): number {
    const curve = model.contextCurve;
    if (curve === undefined || curve.tokens.length === 0) return contextTokens;
    return piecewiseLinear(curve.tokens, curve.effectiveTokens, contextTokens);
}

/** through (0, 0) and the knots (x increasing), on the piece that holds x, or past the last knot along the last piece */
export function piecewiseLinear(xs: readonly number[], ys: readonly number[], x: number): number {
    let knot = 0;
    while (knot < xs.length - 1 && x > xs[knot]) knot++;
    const fromX = knot === 0 ? 0 : xs[knot - 1];
    const fromY = knot === 0 ? 0 : ys[knot - 1];
    return fromY + ((x - fromX) * (ys[knot] - fromY)) / (xs[knot] - fromX);
}

function contextTokensOf(at: PredictionContext): number {
    const contextTokens = at.contextTokens ?? DEFAULT_CONTEXT_TOKENS;
    if (!(Number.isFinite(contextTokens) && contextTokens >= 0))
        throw new InvalidCostModelError(`contextTokens is a count of cached tokens; give a finite number ≥ 0, got ${contextTokens}`);
    return contextTokens;
}

/** Checks a cost model read back from a cache (or built by hand) before planning with it. */
export function validateCostModel(model: CostModel, layerCount?: number): CostModel {
    if (model.format !== COST_MODEL_FORMAT)
        throw new InvalidCostModelError(
            `Cost model format "${String(model.format)}" is not ${COST_MODEL_FORMAT}; discard the cached model and estimate or calibrate a new one`
        );
    if (!Number.isSafeInteger(model.layerCount) || model.layerCount < 1 || model.layerSeconds.length !== model.layerCount)
        throw new InvalidCostModelError(
            `Cost model lists ${model.layerSeconds.length} layer costs for layerCount ${model.layerCount}; rebuild it from the model file`
        );
    if (layerCount !== undefined && model.layerCount !== layerCount)
        throw new InvalidCostModelError(
            `Cost model is for ${model.layerCount} layers but the model has ${layerCount}; it belongs to another model, so estimate or calibrate one for this model`
        );
    if (!Array.isArray(model.layerSecondsPerContextToken) || model.layerSecondsPerContextToken.length !== model.layerCount)
        throw new InvalidCostModelError(
            `Cost model lists ${String((model.layerSecondsPerContextToken as readonly number[] | undefined)?.length)} per-context-token layer costs for layerCount ${model.layerCount}; give one per layer (zeros when not measured)`
        );
    requireFiniteNonNegative("fixedSeconds", model.fixedSeconds);
    model.layerSeconds.forEach((seconds, layer) => requireFiniteNonNegative(`layerSeconds[${layer}]`, seconds));
    model.layerSecondsPerContextToken.forEach((seconds, layer) => requireFiniteNonNegative(`layerSecondsPerContextToken[${layer}]`, seconds));
    if (model.contextCurve !== undefined) validateContextCurve(model.contextCurve);
    if (model.depthCurve !== undefined) validateDepthCurve(model.depthCurve, "depthCurve", "depth");
    if (model.attentionDepthCurve !== undefined) validateDepthCurve(model.attentionDepthCurve, "attentionDepthCurve", "attention depth");
    return model;
}

/** a curve through depths (the depth curve, the attention depth curve), named in its errors */
function validateDepthCurve(curve: DepthCurve | AttentionDepthCurve, field: string, name: string): void {
    validateCurve(curve.layers, curve.effectiveLayers, {
        field,
        x: "layers",
        y: "effectiveLayers",
        name,
        knots: "depths",
        values: "effective costs"
    });
}

function validateContextCurve(curve: ContextCurve): void {
    validateCurve(curve.tokens, curve.effectiveTokens, {
        field: "contextCurve",
        x: "tokens",
        y: "effectiveTokens",
        name: "context",
        knots: "contexts",
        values: "effective contexts"
    });
}

/** a curve's knots rise from above 0 and its values never fall; `words` name it and its fields in the errors */
function validateCurve(
    xs: readonly number[],
    ys: readonly number[],
    words: {field: string; x: string; y: string; name: string; knots: string; values: string}
): void {
    if (!Array.isArray(xs) || !Array.isArray(ys) || xs.length !== ys.length || xs.length === 0)
        throw new InvalidCostModelError(
            `Cost model's ${words.name} curve needs as many ${words.values} as knots, at least one; re-measure the speed calibration`
        );
    xs.forEach((value, knot) => {
        requireFiniteNonNegative(`${words.field}.${words.x}[${knot}]`, value);
        requireFiniteNonNegative(`${words.field}.${words.y}[${knot}]`, ys[knot]);
        if (value <= (knot === 0 ? 0 : xs[knot - 1]) || ys[knot] < (knot === 0 ? 0 : ys[knot - 1]))
            throw new InvalidCostModelError(
                `Cost model's ${words.name} curve must rise: knots at increasing ${words.knots} above 0, ${words.values} that never fall; re-measure the speed calibration`
            );
    });
}

function checked(model: CostModel): CostModel {
    return validateCostModel(model);
}

function requireFiniteNonNegative(what: string, value: number): void {
    if (!(Number.isFinite(value) && value >= 0)) throw new InvalidCostModelError(`${what} must be a finite number ≥ 0, got ${value}`);
}
