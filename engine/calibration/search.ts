// The two ways of ordering a model's middle layers for removal. Both only need a function that scores a
// skip mask, so they are tested with synthetic scores and run on a real model through TeacherForcedScorer.
import {QualityMeasurementCancelledError} from "../quality/errors.js";
import type {QualityScore} from "../quality/metrics.js";
import {validateModelShape, type ModelShape} from "../plan/index.js";
import {CalibrationCancelledError, CalibrationUnsupportedError} from "./errors.js";
import type {CalibrationMethod, CalibrationProgress, LayerOrderLevel} from "./progress.js";

export type MaskScorer = (mask: Uint8Array, signal?: AbortSignal) => Promise<QualityScore>;

export type LayerSearchOptions = {
    shape: ModelShape;
    score: MaskScorer;
    signal?: AbortSignal;
    onProgress?: (progress: CalibrationProgress) => void;
    /** seconds, for progress; replaceable in tests */
    clock?: () => number;
};

export type LayerSearchResult = {
    method: CalibrationMethod;
    /** every layer 1..L-2 once, first removed first: what buildSchedule's calibratedOrder takes */
    order: number[];
    /** greedy: quality at each depth reached (L-1 down to 2). single-layer: each layer skipped alone. */
    levels: LayerOrderLevel[];
    evaluations: number;
};

/**
 * Greedy removal by KL: at each depth, try removing each remaining middle layer and keep the removal that
 * raises mean KL(full‖skipped) least. The sets it yields are nested, so one search orders the whole dial.
 * On iSWA models a layer whose removal would leave its attention type with no running layer is not a
 * candidate (llama.cpp cannot build the graph); such layers go at the end of the order, where the
 * planner's respectAttentionTypes keeps them.
 */
export async function greedyRemovalOrder(options: LayerSearchOptions): Promise<LayerSearchResult> {
    const {layerCount, middle} = middleLayers(options.shape);
    const progress = progressReporter("greedy-kl", (middle.length * (middle.length + 1)) / 2, options);
    const mask = new Uint8Array(layerCount);
    const order: number[] = [];
    const levels: LayerOrderLevel[] = [];
    let remaining = [...middle];
    for (;;) {
        const candidates = remaining.filter((layer) => removable(options.shape, mask, layer));
        if (candidates.length === 0) break;
        let best: {layer: number; score: QualityScore} | undefined;
        for (const layer of candidates) {
            mask[layer] = 1;
            const score = await scoreOrCancel(options, mask);
            mask[layer] = 0;
            progress.evaluated(order);
            // ties go to the lower layer, so the order is deterministic
            if (best === undefined || score.meanKl < best.score.meanKl) best = {layer, score};
        }
        if (best === undefined) break;
        mask[best.layer] = 1;
        order.push(best.layer);
        remaining = remaining.filter((layer) => layer !== best.layer);
        const level = levelOf(layerCount - order.length, best.layer, best.score);
        levels.push(level);
        progress.report(order, level);
    }
    return {method: "greedy-kl", order: [...order, ...remaining], levels, evaluations: progress.done()};
}

/**
 * The one-pass estimate: skip each middle layer alone and remove the least harmful first. It ignores how
 * removals interact, so it is cheaper (L-2 scores instead of (L-2)(L-1)/2) and usually worse than greedy.
 */
export async function singleLayerRemovalOrder(options: LayerSearchOptions): Promise<LayerSearchResult> {
    const {layerCount, middle} = middleLayers(options.shape);
    const progress = progressReporter("single-layer-kl", middle.length, options);
    const levels: LayerOrderLevel[] = [];
    for (const layer of middle) {
        const mask = new Uint8Array(layerCount);
        mask[layer] = 1;
        const level = levelOf(layerCount - 1, layer, await scoreOrCancel(options, mask));
        levels.push(level);
        progress.evaluated(
            levels.map((entry) => entry.removed),
            level
        );
    }
    const ranked = [...levels].sort((a, b) => a.meanKl - b.meanKl || a.removed - b.removed).map((level) => level.removed);
    // the same attention-type rule as greedy: a type's last layer moves to the end
    const mask = new Uint8Array(layerCount);
    const order: number[] = [];
    const held: number[] = [];
    for (const layer of ranked) {
        if (removable(options.shape, mask, layer)) {
            mask[layer] = 1;
            order.push(layer);
        } else {
            held.push(layer);
        }
    }
    return {method: "single-layer-kl", order: [...order, ...held], levels, evaluations: progress.done()};
}

function middleLayers(shape: ModelShape): {layerCount: number; middle: number[]} {
    validateModelShape(shape);
    if (shape.layerCount < 3)
        throw new CalibrationUnsupportedError(`A ${shape.layerCount}-layer model has no middle layers to order (the first and last always run)`);
    return {layerCount: shape.layerCount, middle: Array.from({length: shape.layerCount - 2}, (_, i) => i + 1)};
}

/** whether skipping `layer` on top of `mask` still leaves a running layer of its attention type */
function removable(shape: ModelShape, mask: Uint8Array, layer: number): boolean {
    const types = shape.attentionTypes;
    if (types === undefined) return true;
    return types.some((type, other) => other !== layer && type === types[layer] && mask[other] === 0);
}

function levelOf(depth: number, removed: number, score: QualityScore): LayerOrderLevel {
    return {depth, removed, meanKl: score.meanKl, top1Agreement: score.top1Agreement, bitsPerByte: score.bitsPerByte};
}

async function scoreOrCancel(options: LayerSearchOptions, mask: Uint8Array): Promise<QualityScore> {
    if (options.signal?.aborted === true) throw new CalibrationCancelledError();
    try {
        // a copy: the search keeps changing its own mask while the scorer may still hold this one
        return await options.score(Uint8Array.from(mask), options.signal);
    } catch (error) {
        if (error instanceof QualityMeasurementCancelledError) throw new CalibrationCancelledError();
        throw error;
    }
}

function progressReporter(method: CalibrationMethod, total: number, options: LayerSearchOptions) {
    const clock = options.clock ?? (() => performance.now() / 1000);
    const started = clock();
    let done = 0;
    const report = (removed: readonly number[], level?: LayerOrderLevel): void => {
        const elapsedSeconds = clock() - started;
        options.onProgress?.({
            method,
            phase: "search",
            evaluationsDone: done,
            evaluationsTotal: total,
            fraction: total > 0 ? done / total : 1,
            removed: [...removed],
            ...(level !== undefined ? {level} : {}),
            elapsedSeconds,
            remainingSeconds: done > 0 ? (elapsedSeconds / done) * (total - done) : null
        });
    };
    return {
        /** one mask scored: reported without a level unless it completes one (for a progress bar) */
        evaluated(removed: readonly number[], level?: LayerOrderLevel): void {
            done++;
            report(removed, level);
        },
        /** a greedy step has chosen its layer */
        report,
        done: () => done
    };
}
