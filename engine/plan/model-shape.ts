import {InvalidModelShapeError} from "./errors.js";

/**
 * What the planner needs to know about a model: how many layers, and for iSWA models (gemma2, gemma3)
 * which attention each layer uses. Labels are free-form ("swa"/"full", or the "sliding"/"full" of
 * engine/gguf): the only rule that depends on them is "keep at least one layer of every label".
 */
export interface ModelShape {
    readonly layerCount: number;
    /** One label per layer; omit when every layer uses the same attention. */
    readonly attentionTypes?: readonly string[];
}

export function validateModelShape(shape: ModelShape): void {
    if (!Number.isSafeInteger(shape.layerCount) || shape.layerCount < 1)
        throw new InvalidModelShapeError(`layerCount must be a positive whole number, got ${shape.layerCount}`);
    if (shape.attentionTypes !== undefined && shape.attentionTypes.length !== shape.layerCount)
        throw new InvalidModelShapeError(
            `attentionTypes has ${shape.attentionTypes.length} entries for ${shape.layerCount} layers; give one per layer or leave it out`
        );
}

/** Layers grouped by attention label, in layer order; one group when the model has no labels. */
export function layersByAttentionType(shape: ModelShape): Map<string, number[]> {
    const groups = new Map<string, number[]>();
    for (let layer = 0; layer < shape.layerCount; layer++) {
        const label = shape.attentionTypes?.[layer] ?? "";
        const group = groups.get(label);
        if (group === undefined) groups.set(label, [layer]);
        else group.push(layer);
    }
    return groups;
}

/** The first attention label with no layer left running, or null when every label keeps one. */
export function firstUncoveredAttentionType(shape: ModelShape, isKept: (layer: number) => boolean): string | null {
    for (const [label, layers] of layersByAttentionType(shape)) if (!layers.some(isKept)) return label;
    return null;
}
