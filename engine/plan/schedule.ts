import {UnreachableDepthError} from "./errors.js";
import {firstUncoveredAttentionType, layersByAttentionType, validateModelShape, type ModelShape} from "./model-shape.js";
import {DEFAULT_STRATEGY, paperKeptLayersAtDepth, parseStrategyName, removalOrderFor, type StrategyName} from "./strategies.js";

/**
 * A strategy applied to one model: which layers run at every reachable depth (number of kept layers).
 *
 * iSWA models must keep at least one layer of each attention type (llama.cpp cannot build a graph
 * without one). A nested order handles that by skipping over a layer whose removal would take away the
 * last of its type: that layer stays for good (types only lose layers as the dial turns), and is listed
 * in protectedLayers. Every depth from minDepth = 2 + protectedLayers.length up to L stays reachable;
 * only the depths below it are not.
 */
export interface SkipSchedule {
    readonly strategy: StrategyName;
    readonly layerCount: number;
    readonly attentionTypes?: readonly string[];
    /** Nested strategies: the layers actually removed, first removed first. Null for "paper" (not nested). */
    readonly removalOrder: readonly number[] | null;
    /** Layers the strategy would have removed but that stay to keep an attention type present. */
    readonly protectedLayers: readonly number[];
    /** The fewest kept layers this schedule reaches; every depth from here to layerCount is reachable. */
    readonly minDepth: number;
}

export interface ScheduleOptions {
    /** Default "even". */
    readonly strategy?: StrategyName | string;
    /** Required by the "calibrated" strategy: interior layers in the order they should be removed. */
    readonly calibratedOrder?: readonly number[];
}

export function buildSchedule(shape: ModelShape, options: ScheduleOptions = {}): SkipSchedule {
    validateModelShape(shape);
    const strategy = options.strategy === undefined ? DEFAULT_STRATEGY : parseStrategyName(options.strategy);
    const base = {strategy, layerCount: shape.layerCount, attentionTypes: shape.attentionTypes};
    if (strategy === "paper") {
        const endsMissing = attentionTypesMissingFromEnds(shape);
        return {...base, removalOrder: null, protectedLayers: [], minDepth: Math.min(shape.layerCount, 2 + endsMissing)};
    }
    const {removed, protectedLayers} = respectAttentionTypes(shape, removalOrderFor(strategy, shape.layerCount, options.calibratedOrder));
    return {...base, removalOrder: removed, protectedLayers, minDepth: shape.layerCount - removed.length};
}

/** Walks the order and leaves in place every layer that is the last one of its attention type. */
export function respectAttentionTypes(shape: ModelShape, order: readonly number[]): {removed: number[]; protectedLayers: number[]} {
    const labelOf = (layer: number): string => shape.attentionTypes?.[layer] ?? "";
    const running = new Map<string, number>();
    for (const [label, layers] of layersByAttentionType(shape)) running.set(label, layers.length);
    const removed: number[] = [];
    const protectedLayers: number[] = [];
    for (const layer of order) {
        const left = running.get(labelOf(layer)) ?? 0;
        if (left <= 1) {
            protectedLayers.push(layer);
            continue;
        }
        running.set(labelOf(layer), left - 1);
        removed.push(layer);
    }
    return {removed, protectedLayers};
}

/** Sorted indices of the layers that run at `depth`. */
export function keptLayersAtDepth(schedule: SkipSchedule, depth: number): number[] {
    if (!Number.isInteger(depth) || depth < schedule.minDepth || depth > schedule.layerCount)
        throw new UnreachableDepthError(depth, schedule.minDepth, schedule.layerCount);
    if (schedule.removalOrder === null) return paperKeptLayersRespectingTypes(schedule, depth);
    const removed = new Set(schedule.removalOrder.slice(0, schedule.layerCount - depth));
    return Array.from({length: schedule.layerCount}, (_, i) => i).filter((layer) => !removed.has(layer));
}

export function reachableDepths(schedule: SkipSchedule): number[] {
    return Array.from({length: schedule.layerCount - schedule.minDepth + 1}, (_, i) => schedule.minDepth + i);
}

function attentionTypesMissingFromEnds(shape: ModelShape): number {
    let missing = 0;
    for (const layers of layersByAttentionType(shape).values()) if (!layers.includes(0) && !layers.includes(shape.layerCount - 1)) missing++;
    return missing;
}

/**
 * The paper's set at this depth; when it leaves out an attention type, the kept interior layer closest to
 * a layer of that type is swapped for it, which keeps the depth and moves one layer as little as possible.
 */
function paperKeptLayersRespectingTypes(schedule: SkipSchedule, depth: number): number[] {
    const shape: ModelShape = {layerCount: schedule.layerCount, attentionTypes: schedule.attentionTypes};
    const kept = new Set(paperKeptLayersAtDepth(schedule.layerCount, depth));
    for (let label = firstUncoveredAttentionType(shape, (l) => kept.has(l)); label !== null; label = firstUncoveredAttentionType(shape, (l) => kept.has(l))) {
        const groups = layersByAttentionType(shape);
        const candidates = groups.get(label) ?? [];
        const labelOf = (layer: number): string => schedule.attentionTypes?.[layer] ?? "";
        const sharesItsType = (layer: number): boolean => (groups.get(labelOf(layer)) ?? []).some((other) => other !== layer && kept.has(other));
        let best: {out: number; in: number} | null = null;
        for (const out of kept) {
            // swapping out the only kept layer of another type would just move the problem
            if (out === 0 || out === schedule.layerCount - 1 || !sharesItsType(out)) continue;
            for (const into of candidates) if (best === null || Math.abs(into - out) < Math.abs(best.in - best.out)) best = {out, in: into};
        }
        if (best === null) throw new UnreachableDepthError(depth, schedule.minDepth, schedule.layerCount);
        kept.delete(best.out);
        kept.add(best.in);
    }
    return [...kept].sort((a, b) => a - b);
}
