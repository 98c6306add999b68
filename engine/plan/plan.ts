import {predictedSpeedup, validateCostModel, type CostModel, type PredictionContext} from "./cost-model.js";
import {formatSpeedup, InvalidSpeedRatioError} from "./errors.js";
import type {ModelShape} from "./model-shape.js";
import {buildSchedule, keptLayersAtDepth, reachableDepths, type ScheduleOptions, type SkipSchedule} from "./schedule.js";
import type {StrategyName} from "./strategies.js";

export interface PlannerInput extends ScheduleOptions {
    readonly model: ModelShape;
    readonly costModel: CostModel;
}

/** A depth the dial can stop at, with what the cost model predicts for it. */
export interface DialStop {
    readonly depth: number;
    readonly predictedSpeedup: number;
}

/** Everything a caller needs to apply a plan (skipMask) and to show it (the rest). */
export interface SkipPlan {
    readonly layerCount: number;
    /** "explicit" for a mask the user gave (e.g. --skip-layers). */
    readonly strategy: StrategyName | "explicit";
    /** The ratio asked for, before capping at maxSpeedup. */
    readonly requestedSpeedup: number;
    /** The ratio planned for: requestedSpeedup capped at maxSpeedup. */
    readonly targetSpeedup: number;
    /** Number of layers that run. */
    readonly depth: number;
    readonly keptLayers: readonly number[];
    readonly skippedLayers: readonly number[];
    /** One entry per layer, 1 = skip: what the native setLayerSkip takes. */
    readonly skipMask: Uint8Array;
    /** At DEFAULT_CONTEXT_TOKENS (an empty cache): the depth is chosen at it, so it does not move as the
     *  context grows. The speedup at a real context is predictedSpeedup(costModel, keptLayers, {contextTokens}). */
    readonly predictedSpeedup: number;
    /** The next stop towards quality (one more layer), or null at full depth. */
    readonly slowerStop: DialStop | null;
    /** The next stop towards speed (one layer fewer), or null at the fastest stop. */
    readonly fasterStop: DialStop | null;
    /** Predicted speedup of the fastest reachable stop (normally 2 kept layers). */
    readonly maxSpeedup: number;
    /** Set when the request was capped, in words a user can read. */
    readonly message: string | null;
    /** True at the Lossless level: every layer runs for the output, and a drafter's skipped layers only
     *  propose tokens (the speedup is the drafter's to predict, see lossless.ts). */
    readonly lossless?: boolean;
}

/** Every stop of the dial, full depth first, with its speedup at a context (DEFAULT_CONTEXT_TOKENS unless given). */
export function dialStops(schedule: SkipSchedule, costModel: CostModel, at: PredictionContext = {}): DialStop[] {
    validateCostModel(costModel, schedule.layerCount);
    return reachableDepths(schedule)
        .reverse()
        .map((depth) => ({
            depth,
            predictedSpeedup: predictedSpeedup(costModel, keptLayersAtDepth(schedule, depth), at)
        }));
}

/**
 * Picks the stop whose predicted speedup is nearest to targetSpeedup; on a tie, the one with more layers
 * (quality wins when speed is a wash). Ratios above the fastest stop are capped with a message; ratios
 * below 1, NaN and infinities are refused.
 */
export function planForSpeedup(input: PlannerInput, targetSpeedup: number): SkipPlan {
    const schedule = buildSchedule(input.model, input);
    const stops = dialStops(schedule, input.costModel);
    const maxSpeedup = Math.max(...stops.map((stop) => stop.predictedSpeedup));
    if (!(Number.isFinite(targetSpeedup) && targetSpeedup >= 1)) throw new InvalidSpeedRatioError(targetSpeedup, maxSpeedup);

    const clamped = targetSpeedup > maxSpeedup;
    const target = clamped ? maxSpeedup : targetSpeedup;
    let best = stops[0];
    for (const stop of stops) {
        // stops run from most to fewest layers, so only a strictly nearer stop replaces the current one
        if (Math.abs(stop.predictedSpeedup - target) < Math.abs(best.predictedSpeedup - target) - 1e-12) best = stop;
    }
    const fastest = stops.find((stop) => stop.predictedSpeedup === maxSpeedup) ?? stops[stops.length - 1];
    const message = clamped
        ? `${formatSpeedup(targetSpeedup)} is beyond this model's fastest setting; using ${formatSpeedup(maxSpeedup)} ` +
          `(${fastest.depth} of ${schedule.layerCount} layers run)`
        : null;
    return buildPlan(schedule, stops, best.depth, {requestedSpeedup: targetSpeedup, targetSpeedup: target, maxSpeedup, message});
}

/** The plan for an exact number of kept layers (e.g. a benchmark sweep over depths). */
export function planForDepth(input: PlannerInput, depth: number): SkipPlan {
    const schedule = buildSchedule(input.model, input);
    const kept = keptLayersAtDepth(schedule, depth);
    const stops = dialStops(schedule, input.costModel);
    const speedup = predictedSpeedup(input.costModel, kept);
    const maxSpeedup = Math.max(...stops.map((stop) => stop.predictedSpeedup));
    return buildPlan(schedule, stops, depth, {requestedSpeedup: speedup, targetSpeedup: speedup, maxSpeedup, message: null});
}

interface PlanRequest {
    readonly requestedSpeedup: number;
    readonly targetSpeedup: number;
    readonly maxSpeedup: number;
    readonly message: string | null;
}

function buildPlan(schedule: SkipSchedule, stops: readonly DialStop[], depth: number, request: PlanRequest): SkipPlan {
    const keptLayers = keptLayersAtDepth(schedule, depth);
    const stopAt = (d: number): DialStop | null => stops.find((stop) => stop.depth === d) ?? null;
    return {
        ...describeKeptLayers(schedule.layerCount, keptLayers),
        strategy: schedule.strategy,
        ...request,
        predictedSpeedup: stopAt(depth)?.predictedSpeedup ?? 1,
        slowerStop: stopAt(depth + 1),
        fasterStop: stopAt(depth - 1)
    };
}

/** 1 for every layer not in keptLayers: what LayerSkipContext.setLayerSkip takes. */
export function skipMaskKeeping(layerCount: number, keptLayers: Iterable<number>): Uint8Array {
    const mask = new Uint8Array(layerCount).fill(1);
    for (const layer of keptLayers) mask[layer] = 0;
    return mask;
}

/** The parts of a plan that follow from the kept layers alone. */
export function describeKeptLayers(
    layerCount: number,
    keptLayers: readonly number[]
): Pick<SkipPlan, "layerCount" | "depth" | "keptLayers" | "skippedLayers" | "skipMask"> {
    const skipMask = skipMaskKeeping(layerCount, keptLayers);
    const skippedLayers: number[] = [];
    skipMask.forEach((skip, layer) => {
        if (skip === 1) skippedLayers.push(layer);
    });
    return {layerCount, depth: layerCount - skippedLayers.length, keptLayers: [...keptLayers].sort((a, b) => a - b), skippedLayers, skipMask};
}
