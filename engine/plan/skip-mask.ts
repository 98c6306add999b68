import {predictedSpeedup, validateCostModel} from "./cost-model.js";
import {AllLayersSkippedError, AttentionTypeSkippedError, InvalidLayerIndexError, SkipMaskLengthError} from "./errors.js";
import {layersByAttentionType, validateModelShape, type ModelShape} from "./model-shape.js";
import {describeKeptLayers, dialStops, type PlannerInput, type SkipPlan} from "./plan.js";
import {buildSchedule} from "./schedule.js";

/**
 * Checks a mask someone chose by hand against exactly the rules the patched llama.cpp enforces
 * (llama_set_layer_skip), so that a bad mask is refused here with the same reasons and never reaches a
 * context: one entry per layer, at least one layer runs, and on iSWA models at least one layer of each
 * attention type runs. The first and last layer may be skipped; that is the user's call.
 * Any non-zero entry means skip, as in llama.cpp. Returns a 0/1 copy.
 */
export function validateSkipMask(model: ModelShape, mask: ArrayLike<number>): Uint8Array {
    validateModelShape(model);
    if (mask.length !== model.layerCount) throw new SkipMaskLengthError(mask.length, model.layerCount);
    const normalised = Uint8Array.from({length: mask.length}, (_, layer) => (mask[layer] !== 0 ? 1 : 0));
    if (normalised.every((skip) => skip === 1)) throw new AllLayersSkippedError(model.layerCount);
    for (const [label, layers] of layersByAttentionType(model))
        if (layers.every((layer) => normalised[layer] === 1)) throw new AttentionTypeSkippedError(label, layers);
    return normalised;
}

/** "3,5,7" (spaces allowed, ranges "10-12" too) → [3, 5, 7]; duplicates are harmless and dropped. */
export function parseSkipLayerList(text: string, layerCount: number): number[] {
    const layers = new Set<number>();
    for (const rawEntry of text.split(",")) {
        const entry = rawEntry.trim();
        if (entry === "") continue;
        const range = /^(\d+)\s*-\s*(\d+)$/.exec(entry);
        const [from, to] = range !== null ? [Number(range[1]), Number(range[2])] : [Number(entry), Number(entry)];
        if (!/^\d+$/.test(entry) && range === null) throw new InvalidLayerIndexError(entry, layerCount);
        if (from > to || to >= layerCount) throw new InvalidLayerIndexError(entry, layerCount);
        for (let layer = from; layer <= to; layer++) layers.add(layer);
    }
    return [...layers].sort((a, b) => a - b);
}

export function skipMaskFromLayers(skippedLayers: readonly number[], layerCount: number): Uint8Array {
    const mask = new Uint8Array(layerCount);
    for (const layer of skippedLayers) {
        if (!Number.isInteger(layer) || layer < 0 || layer >= layerCount) throw new InvalidLayerIndexError(String(layer), layerCount);
        mask[layer] = 1;
    }
    return mask;
}

/**
 * A plan for a hand-chosen mask, in the same shape as the dial's plans. Its maxSpeedup and neighbouring
 * stops are those of the model's dial for the chosen strategy (default "even"), so a UI shows both on
 * one scale; an explicit mask is not on the dial, so it has no stops of its own.
 */
export function planFromSkipMask(input: PlannerInput, mask: ArrayLike<number>): SkipPlan {
    const normalised = validateSkipMask(input.model, mask);
    validateCostModel(input.costModel, input.model.layerCount);
    const keptLayers: number[] = [];
    normalised.forEach((skip, layer) => {
        if (skip === 0) keptLayers.push(layer);
    });
    const speedup = predictedSpeedup(input.costModel, keptLayers);
    const stops = dialStops(buildSchedule(input.model, input), input.costModel);
    return {
        ...describeKeptLayers(input.model.layerCount, keptLayers),
        strategy: "explicit",
        requestedSpeedup: speedup,
        targetSpeedup: speedup,
        predictedSpeedup: speedup,
        slowerStop: null,
        fasterStop: null,
        maxSpeedup: Math.max(...stops.map((stop) => stop.predictedSpeedup)),
        message: null
    };
}
