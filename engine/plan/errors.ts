// One class per thing that can be wrong with a planning request. Every message says what to do instead,
// because these reach users through the CLI (--speed, --skip-layers) and the speed panel.

export class InvalidModelShapeError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InvalidModelShapeError";
    }
}

export class UnknownStrategyError extends Error {
    constructor(strategy: string, known: readonly string[]) {
        super(`Unknown skip strategy "${strategy}"; pick one of ${known.join(", ")}`);
        this.name = "UnknownStrategyError";
    }
}

export class InvalidRemovalOrderError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InvalidRemovalOrderError";
    }
}

export class UnreachableDepthError extends Error {
    constructor(depth: number, minDepth: number, layerCount: number) {
        super(
            `Depth ${depth} cannot be planned for this ${layerCount}-layer model; ` + `ask for a whole number of kept layers from ${minDepth} to ${layerCount}`
        );
        this.name = "UnreachableDepthError";
    }
}

export class InvalidCostModelError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InvalidCostModelError";
    }
}

/** Calibration needs timings at two or more different depths to separate the fixed cost from the per-layer cost. */
export class InsufficientCalibrationError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InsufficientCalibrationError";
    }
}

/** The timings contradict the model (decoding did not get faster with fewer layers). */
export class UnusableCalibrationError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UnusableCalibrationError";
    }
}

export class InvalidSpeedRatioError extends Error {
    constructor(requested: number, maxSpeedup: number) {
        super(
            `Speed ratio ${requested} is not valid; give a finite number from 1 (every layer runs) ` +
                `to ${formatSpeedup(maxSpeedup)} (this model's fastest setting); larger values are capped at the fastest setting`
        );
        this.name = "InvalidSpeedRatioError";
    }
}

export class UnknownSpeedLevelError extends Error {
    constructor(level: string, known: readonly string[]) {
        super(`Unknown speed level "${level}"; use one of ${known.join(", ")} or a ratio such as 1.5`);
        this.name = "UnknownSpeedLevelError";
    }
}

export class SkipMaskLengthError extends Error {
    constructor(length: number, layerCount: number) {
        super(`The skip mask has ${length} entries but the model has ${layerCount} layers; give exactly one entry per layer`);
        this.name = "SkipMaskLengthError";
    }
}

export class AllLayersSkippedError extends Error {
    constructor(layerCount: number) {
        super(`The skip mask skips all ${layerCount} layers; leave at least one layer running`);
        this.name = "AllLayersSkippedError";
    }
}

export class AttentionTypeSkippedError extends Error {
    constructor(attentionType: string, layersOfType: readonly number[]) {
        super(
            `The skip mask skips every "${attentionType}" attention layer (${layersOfType.join(", ")}); ` +
                `the model needs at least one layer of each attention type, so keep one of them`
        );
        this.name = "AttentionTypeSkippedError";
    }
}

export class InvalidLayerIndexError extends Error {
    constructor(entry: string, layerCount: number) {
        super(`"${entry}" is not a layer of this model; list whole layer numbers from 0 to ${layerCount - 1}, separated by commas (e.g. 3,5,7)`);
        this.name = "InvalidLayerIndexError";
    }
}

export function formatSpeedup(speedup: number): string {
    return `${Number(speedup.toFixed(2))}x`;
}
