import {InvalidCostModelError} from "./errors.js";

/**
 * Seconds per decoded token as a function of which layers run: t(S) = fixedSeconds + Σ_{i∈S} layerSeconds[i].
 * Layers may differ in cost (e.g. MoE layers next to dense ones), so the model keeps one cost per layer
 * rather than a single per-layer constant. A plain JSON-serialisable object so that callers can cache it
 * per model, device and build.
 */
export interface CostModel {
    readonly format: typeof COST_MODEL_FORMAT;
    readonly layerCount: number;
    /** Work that does not depend on the kept layers: output norm, output head, sampling, per-token overhead. */
    readonly fixedSeconds: number;
    /** Seconds each layer adds to a token when it runs. */
    readonly layerSeconds: readonly number[];
    readonly source: "uniform" | "tensor-bytes" | "calibrated";
    /** Present when fitted to timings; the residual says how well the straight line explains them. */
    readonly calibration?: {readonly measurements: number; readonly rmsResidualSeconds: number};
}

export const COST_MODEL_FORMAT = "layer-dial-cost-model/1";

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
        source: "uniform"
    });
}

export function secondsPerToken(model: CostModel, keptLayers: Iterable<number>): number {
    let seconds = model.fixedSeconds;
    for (const layer of keptLayers) seconds += model.layerSeconds[layer];
    return seconds;
}

/** t(all layers) / t(kept layers). */
export function predictedSpeedup(model: CostModel, keptLayers: Iterable<number>): number {
    const all = secondsPerToken(model, model.layerSeconds.keys());
    const kept = secondsPerToken(model, keptLayers);
    // a model with no cost at all predicts no change rather than 0/0
    return kept > 0 ? all / kept : 1;
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
    requireFiniteNonNegative("fixedSeconds", model.fixedSeconds);
    model.layerSeconds.forEach((seconds, layer) => requireFiniteNonNegative(`layerSeconds[${layer}]`, seconds));
    return model;
}

function checked(model: CostModel): CostModel {
    return validateCostModel(model);
}

function requireFiniteNonNegative(what: string, value: number): void {
    if (!(Number.isFinite(value) && value >= 0)) throw new InvalidCostModelError(`${what} must be a finite number ≥ 0, got ${value}`);
}
