// Panel data shaped like the planner's: a cost model with a fixed per-token cost plus one unit per
// kept layer, layers removed evenly with the first and last always kept.
import type {ModelInfo, RunStats, SpeedStep} from "../../common/panel-messages.js";

/** Kept layers for depth k of n, spread evenly, first and last included. */
export function evenKeptLayers(layerCount: number, depth: number): number[] {
    if (depth >= layerCount) return Array.from({length: layerCount}, (_, i) => i);
    if (depth === 1) return [0];
    return Array.from({length: depth}, (_, i) => Math.round((i * (layerCount - 1)) / (depth - 1)));
}

export function predictedSpeedup(layerCount: number, depth: number, fixedCost: number): number {
    return Number(((fixedCost + layerCount) / (fixedCost + depth)).toFixed(4));
}

export interface FixtureModelOptions {
    readonly layerCount?: number;
    readonly minDepth?: number;
    readonly fixedCost?: number;
    readonly withQuality?: boolean;
    readonly includeFullModel?: boolean;
}

export function fixtureModel(options: FixtureModelOptions = {}): ModelInfo {
    const {layerCount = 32, minDepth = 12, fixedCost = 4, withQuality = true, includeFullModel = true} = options;
    const steps: SpeedStep[] = [];
    for (let depth = includeFullModel ? layerCount : layerCount - 1; depth >= minDepth; depth--) {
        const step: SpeedStep = {
            depth,
            predictedSpeedup: predictedSpeedup(layerCount, depth, fixedCost),
            keptLayers: evenKeptLayers(layerCount, depth)
        };
        steps.push(withQuality ? {...step, quality: {top1Agreement: 1 - 0.6 * ((layerCount - depth) / layerCount) ** 1.5}} : step);
    }
    return {
        name: "qwen2.5-coder-1.5b-instruct-q8_0.gguf",
        layerCount,
        gpu: "CPU · 2 threads",
        build: "llama.cpp b6500 + layer-dial patches",
        layerOrder: "calibrated",
        steps
    };
}

export function fixtureRun(overrides: Partial<RunStats> = {}): RunStats {
    return {
        requestId: "req-1",
        depth: 20,
        targetSpeedup: predictedSpeedup(32, 20, 4),
        tokensPerSecond: 41.3,
        achievedSpeedup: 1.42,
        tokens: 128,
        finishedAt: Date.UTC(2025, 0, 1, 12, 0, 0),
        ...overrides
    };
}
