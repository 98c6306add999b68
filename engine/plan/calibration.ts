import {COST_MODEL_FORMAT, secondsPerToken, validateCostModel, type CostModel} from "./cost-model.js";
import {InsufficientCalibrationError, UnusableCalibrationError} from "./errors.js";

export interface DecodeTiming {
    /** The layers that ran while this was measured. */
    readonly keptLayers: readonly number[];
    /** Measured wall time per decoded token at batch size 1. */
    readonly secondsPerToken: number;
}

/**
 * Fits t(S) = fixed + scale · w(S) to measured timings by least squares, where w(S) is the prior's cost
 * of the kept layers. The prior supplies only the *relative* cost of layers (their bytes); the fit
 * supplies the two things byte counts cannot know: the device's real speed and the overhead that does
 * not scale with depth. Two timings at different depths determine both; more average out noise.
 * A negative fixed cost (noise, or a prior that overstates some layers) is clamped to 0 and the scale
 * refitted through the origin.
 */
export function calibrateCostModel(prior: CostModel, timings: readonly DecodeTiming[]): CostModel {
    validateCostModel(prior);
    const shape = relativeLayerCosts(prior);
    const points = timings.map((timing, index) => {
        if (!(Number.isFinite(timing.secondsPerToken) && timing.secondsPerToken > 0))
            throw new UnusableCalibrationError(`Timing ${index} is ${timing.secondsPerToken} s/token; measure a positive, finite time per token`);
        for (const layer of timing.keptLayers)
            if (!Number.isInteger(layer) || layer < 0 || layer >= prior.layerCount)
                throw new UnusableCalibrationError(
                    `Timing ${index} lists layer ${layer}, which this ${prior.layerCount}-layer model does not have; record the kept layers of the plan that was timed`
                );
        return {x: secondsPerToken({...prior, fixedSeconds: 0, layerSeconds: shape}, new Set(timing.keptLayers)), y: timing.secondsPerToken};
    });

    // costs that differ only by rounding are the same depth; fitting to them would amplify noise
    const largest = Math.max(...points.map((p) => p.x));
    const distinctDepths = new Set(points.map((p) => Math.round((p.x / largest) * 1e9))).size;
    if (distinctDepths < 2)
        throw new InsufficientCalibrationError(
            `Calibration needs timings at two or more different depths (got ${points.length} timing(s) at ${distinctDepths}); time the full model and one faster setting`
        );

    let {fixed, scale} = leastSquaresLine(points);
    if (fixed < 0) {
        fixed = 0;
        scale = points.reduce((sum, p) => sum + p.x * p.y, 0) / points.reduce((sum, p) => sum + p.x * p.x, 0);
    }
    if (!(scale > 0))
        throw new UnusableCalibrationError(
            "The timings do not get faster with fewer layers, so they cannot calibrate the dial; time longer runs (more tokens) with nothing else loading the machine"
        );

    const residuals = points.map((p) => p.y - (fixed + scale * p.x));
    return validateCostModel({
        format: COST_MODEL_FORMAT,
        layerCount: prior.layerCount,
        fixedSeconds: fixed,
        layerSeconds: shape.map((w) => w * scale),
        source: "calibrated",
        calibration: {
            measurements: points.length,
            rmsResidualSeconds: Math.sqrt(residuals.reduce((sum, r) => sum + r * r, 0) / residuals.length)
        }
    });
}

/** The prior's layer costs scaled to a mean of 1 (all 1 when the prior has none), so the fitted scale is in seconds per average layer. */
function relativeLayerCosts(prior: CostModel): number[] {
    const total = prior.layerSeconds.reduce((sum, s) => sum + s, 0);
    if (total <= 0) return prior.layerSeconds.map(() => 1);
    return prior.layerSeconds.map((s) => (s * prior.layerCount) / total);
}

function leastSquaresLine(points: readonly {x: number; y: number}[]): {fixed: number; scale: number} {
    const n = points.length;
    const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
    const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
    let covariance = 0;
    let variance = 0;
    for (const p of points) {
        covariance += (p.x - meanX) * (p.y - meanY);
        variance += (p.x - meanX) ** 2;
    }
    const scale = covariance / variance;
    return {fixed: meanY - scale * meanX, scale};
}
