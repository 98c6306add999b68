import {evenRemovalOrder} from "./even-order.js";
import {InvalidRemovalOrderError, UnknownStrategyError} from "./errors.js";

// Every strategy except "paper" is a removal order: interior layers 1..L-2, first removed first.
// The first and last layer are never in it: layer 0 turns token embeddings into the residual stream the
// others expect, and the last layer produces what the output norm and head read.

export const STRATEGY_NAMES = ["even", "paper", "top", "bottom", "middle", "calibrated"] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];
export const DEFAULT_STRATEGY: StrategyName = "even";

export function parseStrategyName(name: string): StrategyName {
    const found = STRATEGY_NAMES.find((known) => known === name.trim().toLowerCase());
    if (found === undefined) throw new UnknownStrategyError(name, STRATEGY_NAMES);
    return found;
}

function interiorLayers(layerCount: number): number[] {
    return Array.from({length: Math.max(0, layerCount - 2)}, (_, i) => i + 1);
}

/** Skips a contiguous block just below the last layer, growing downwards: the nearest thing to early exit. */
export function topRemovalOrder(layerCount: number): number[] {
    return interiorLayers(layerCount).reverse();
}

/** Skips a contiguous block just above layer 0, growing upwards. */
export function bottomRemovalOrder(layerCount: number): number[] {
    return interiorLayers(layerCount);
}

/** Skips a contiguous block centred on the middle of the stack; of two equally central layers the lower goes first. */
export function middleRemovalOrder(layerCount: number): number[] {
    const centre = (layerCount - 1) / 2;
    return interiorLayers(layerCount).sort((a, b) => Math.abs(a - centre) - Math.abs(b - centre) || a - b);
}

/**
 * The paper's formula (Liu, Meng & Zhou 2024, §3): keep = int(L/r), interval = int(L/(keep-1)); keep
 * layers 0, interval, 2·interval, … (keep-1 of them) and the last layer.
 * Because interval is rounded down, the kept layers bunch at the bottom and the top of the stack is
 * skipped as one block: at L = 32, r = 1.5 it keeps 0..19 and 31 (an 11-layer block skipped), at
 * L = 32, r = 3 it keeps 0, 3, …, 24, 31 (layers 25..30, a 6-layer block). It is also not nested.
 */
export function paperKeptLayersForRatio(layerCount: number, ratio: number): number[] {
    const keep = Math.min(layerCount, Math.max(2, Math.floor(layerCount / ratio)));
    return paperKeptLayersAtDepth(layerCount, keep);
}

/** The paper's kept set with `depth` layers kept; always `depth` distinct layers for 2 ≤ depth ≤ L. */
export function paperKeptLayersAtDepth(layerCount: number, depth: number): number[] {
    if (depth >= layerCount) return Array.from({length: layerCount}, (_, i) => i);
    const interval = Math.floor(layerCount / (depth - 1));
    const kept = Array.from({length: depth - 1}, (_, i) => i * interval);
    kept.push(layerCount - 1);
    return kept;
}

/** Checks that an order measured elsewhere (e.g. by a per-layer quality sweep) is a permutation of 1..L-2. */
export function validateCalibratedOrder(order: readonly number[], layerCount: number): number[] {
    const expected = Math.max(0, layerCount - 2);
    const what = `A calibrated removal order for a ${layerCount}-layer model lists each of the layers 1..${layerCount - 2} exactly once`;
    const seen = new Set<number>();
    for (const layer of order) {
        if (!Number.isInteger(layer) || layer < 1 || layer > layerCount - 2)
            throw new InvalidRemovalOrderError(`${what} (the first and last layer always run); it contains ${layer}`);
        if (seen.has(layer)) throw new InvalidRemovalOrderError(`${what}; layer ${layer} appears twice`);
        seen.add(layer);
    }
    if (order.length !== expected) {
        const missing = interiorLayers(layerCount).filter((layer) => !seen.has(layer));
        throw new InvalidRemovalOrderError(`${what}; it is missing ${missing.join(", ")}`);
    }
    return [...order];
}

/** The removal order of a nested strategy; "paper" has none (see paperKeptLayersAtDepth). */
export function removalOrderFor(strategy: Exclude<StrategyName, "paper">, layerCount: number, calibratedOrder?: readonly number[]): number[] {
    switch (strategy) {
        case "even":
            return evenRemovalOrder(layerCount);
        case "top":
            return topRemovalOrder(layerCount);
        case "bottom":
            return bottomRemovalOrder(layerCount);
        case "middle":
            return middleRemovalOrder(layerCount);
        case "calibrated":
            if (calibratedOrder === undefined)
                throw new InvalidRemovalOrderError(
                    `The "calibrated" strategy needs a removal order measured for this model; pass calibratedOrder or pick another strategy`
                );
            return validateCalibratedOrder(calibratedOrder, layerCount);
    }
}
