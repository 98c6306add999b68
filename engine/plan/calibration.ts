import {
    COST_MODEL_FORMAT,
    piecewiseLinear,
    validateCostModel,
    type AttentionDepthCurve,
    type ContextCurve,
    type CostModel,
    type DepthCurve
} from "./cost-model.js";
import {InsufficientCalibrationError, UnusableCalibrationError} from "./errors.js";

export interface DecodeTiming {
    /** The layers that ran while this was measured. */
    readonly keptLayers: readonly number[];
    /** Measured wall time per decoded token at batch size 1. */
    readonly secondsPerToken: number;
    /** Tokens already in the KV cache when each timed token was decoded (their mean). Defaults to 0. */
    readonly contextTokens?: number;
}

/**
 * Timings must span at least this many tokens of context before the attention term is fitted: closer
 * contexts cannot tell the attention's cost from noise, so the term then stays 0.
 */
export const MIN_CONTEXT_SPREAD_TOKENS = 64;

/**
 * Fits t(S, n) = fixed + scale · w(S) + contextScale · n · u(S) to measured timings by least squares,
 * where w(S) is the prior's relative cost of the kept layers (their bytes) and u(S) the relative cost of
 * their attention per cached token (the prior's per-context-token costs, or the same for every layer
 * when the prior has none: each layer's attention reads the same cache). The prior supplies only the
 * *relative* costs; the fit supplies what byte counts cannot know: the device's real speed, the overhead
 * that does not scale with depth, and what reading the cache costs. Two timings at different depths
 * determine the first two; the context term needs timings MIN_CONTEXT_SPREAD_TOKENS or more apart in
 * context (else it stays 0). More timings average out noise.
 * Each timing counts by its relative error, (measured − fitted) / measured: every point is timed to the
 * same relative interval, and a step at 1,000 cached tokens can take ten times one at 8, so absolute
 * errors would let the long points decide the fixed and per-layer cost. Relative errors are also what
 * a predicted ratio inherits.
 * The fixed cost and the context term are never negative (noise, or a prior that overstates some layers,
 * can push them there): of the fits with either or both of them left at 0, the one that explains the
 * timings best wins.
 * The straight line is fitted to the timings at the shortest and the longest context. Timings between
 * them (a context that is neither) say how far the attention's cost departs from that line: each gives
 * the context at which the line costs what was measured, and those make the model's context curve.
 * Likewise, with three or more depths timed at the shortest context, each depth gives what its layers
 * cost in fact, and those make the depth curve: a prediction at a timed depth is what was timed there,
 * and between two timed depths it is on the line between them.
 */
export function calibrateCostModel(prior: CostModel, timings: readonly DecodeTiming[]): CostModel {
    validateCostModel(prior);
    const shape = relativeCosts(prior.layerSeconds);
    const contextShape = relativeCosts(prior.layerSecondsPerContextToken);
    const allPoints = timings.map((timing, index) => {
        if (!(Number.isFinite(timing.secondsPerToken) && timing.secondsPerToken > 0))
            throw new UnusableCalibrationError(`Timing ${index} is ${timing.secondsPerToken} s/token; measure a positive, finite time per token`);
        const contextTokens = timing.contextTokens ?? 0;
        if (!(Number.isFinite(contextTokens) && contextTokens >= 0))
            throw new UnusableCalibrationError(
                `Timing ${index} was taken at a context of ${contextTokens} tokens; give the cached tokens, a finite number ≥ 0`
            );
        const kept = new Set(timing.keptLayers);
        for (const layer of kept)
            if (!Number.isInteger(layer) || layer < 0 || layer >= prior.layerCount)
                throw new UnusableCalibrationError(
                    `Timing ${index} lists layer ${layer}, which this ${prior.layerCount}-layer model does not have; record the kept layers of the plan that was timed`
                );
        let layers = 0;
        let attention = 0;
        for (const layer of kept) {
            layers += shape[layer];
            attention += contextShape[layer];
        }
        return {layers, attentionPerToken: attention, attention: contextTokens * attention, contextTokens, y: timing.secondsPerToken};
    });
    const shortestContext = Math.min(...allPoints.map((p) => p.contextTokens));
    const longestContext = Math.max(...allPoints.map((p) => p.contextTokens));
    // the line through the ends; the timings in between shape the curve below
    const points = allPoints.filter((p) => p.contextTokens === shortestContext || p.contextTokens === longestContext);
    const between = allPoints.filter((p) => p.contextTokens !== shortestContext && p.contextTokens !== longestContext);

    // costs that differ only by rounding are the same depth; fitting to them would amplify noise
    const largest = Math.max(...points.map((p) => p.layers));
    const distinctDepths = new Set(points.map((p) => Math.round((p.layers / largest) * 1e9))).size;
    if (distinctDepths < 2)
        throw new InsufficientCalibrationError(
            `Calibration needs timings at two or more different depths (got ${points.length} timing(s) at ${distinctDepths}); time the full model and one faster setting`
        );
    const contexts = points.map((p) => p.contextTokens);
    const fitsContext = Math.max(...contexts) - Math.min(...contexts) >= MIN_CONTEXT_SPREAD_TOKENS;

    // columns: 0 the fixed cost, 1 the layers, 2 the attention over the cache; the layers always take part
    const columns = [() => 1, (p: (typeof points)[number]) => p.layers, (p: (typeof points)[number]) => p.attention];
    const candidates = fitsContext ? [[0, 1, 2], [0, 1], [1, 2], [1]] : [[0, 1], [1]];
    let best: {coefficients: number[]; squaredError: number} | undefined;
    for (const used of candidates) {
        // rows divided by the measured time: least squares of the relative errors
        const solution = leastSquares(
            points.map((p) => used.map((column) => columns[column](p) / p.y)),
            points.map(() => 1)
        );
        if (solution === undefined) continue;
        const coefficients = [0, 0, 0];
        used.forEach((column, i) => (coefficients[column] = solution[i]));
        if (coefficients[0] < 0 || coefficients[2] < 0) continue;
        // a fit that leaves the layers costing nothing once their attention is counted is no device's: the
        // long points put a cost that grows with the context whatever the layers into the fixed cost (on
        // stories260K, 0.15 ms steps at 8 tokens, 2 and 5 layers took 1.0 and 1.9 ms at 1,024) and pushed
        // the layers' own cost below 0 in 2 of 5 loads. The next best fit is taken; its misfit shows in the
        // residual, and the depth curve still holds the short depths to what was timed
        if (coefficients[2] > 0 && !(coefficients[1] > 0)) continue;
        const squaredError = points.reduce((sum, p) => sum + ((p.y - predict(coefficients, p)) / p.y) ** 2, 0);
        if (best === undefined || squaredError < best.squaredError) best = {coefficients, squaredError};
    }
    const [fixed, scale, contextScale] = best?.coefficients ?? [0, 0, 0];
    if (!(scale > 0))
        throw new UnusableCalibrationError(
            "The timings do not get faster with fewer layers, so they cannot calibrate the dial; time longer runs (more tokens) with nothing else loading the machine"
        );

    const coefficients = [fixed, scale, contextScale];
    const residuals = points.map((p) => p.y - predict(coefficients, p));
    const maxContextTokens = Math.max(...contexts);
    const depthCurve = curveThroughDepths(
        points.filter((p) => p.contextTokens === shortestContext),
        (p) => p.layers,
        (p) => (p.y - fixed - contextScale * p.attention) / scale
    );
    // what a timing leaves to the attention once the fixed cost and the layers' own (through the depth curve)
    // are taken off; layers and attention are in average layers (shape and contextShape have a mean of 1)
    const attentionLeft = (p: (typeof points)[number]) =>
        p.y - fixed - scale * (depthCurve === undefined ? p.layers : piecewiseLinear(depthCurve.layers, depthCurve.effectiveLayers, p.layers));
    const attentionDepthCurve =
        contextScale > 0
            ? alongLineOfKnots(
                  curveThroughDepths(
                      points.filter((p) => p.contextTokens === longestContext),
                      (p) => p.attentionPerToken,
                      (p) => attentionLeft(p) / (contextScale * longestContext)
                  )
              )
            : undefined;
    const attentionLayers = (attentionPerToken: number) =>
        attentionDepthCurve === undefined
            ? attentionPerToken
            : piecewiseLinear(attentionDepthCurve.layers, attentionDepthCurve.effectiveLayers, attentionPerToken);
    const contextCurve =
        contextScale > 0
            ? fitContextCurve(between, (p) => attentionLeft(p) / (contextScale * attentionLayers(p.attentionPerToken)), maxContextTokens)
            : undefined;
    return validateCostModel({
        format: COST_MODEL_FORMAT,
        layerCount: prior.layerCount,
        fixedSeconds: fixed,
        layerSeconds: shape.map((w) => w * scale),
        layerSecondsPerContextToken: contextShape.map((u) => u * contextScale),
        ...(contextCurve !== undefined ? {contextCurve} : {}),
        ...(depthCurve !== undefined ? {depthCurve} : {}),
        ...(attentionDepthCurve !== undefined ? {attentionDepthCurve} : {}),
        source: "calibrated",
        calibration: {
            measurements: allPoints.length,
            rmsResidualSeconds: Math.sqrt(residuals.reduce((sum, r) => sum + r * r, 0) / points.length),
            rmsRelativeResidual: Math.sqrt((best?.squaredError ?? 0) / points.length),
            ...(maxContextTokens > 0 ? {maxContextTokens} : {})
        }
    });

    function predict(coefficients: readonly number[], p: (typeof points)[number]): number {
        return coefficients[0] + coefficients[1] * p.layers + coefficients[2] * p.attention;
    }
}

/**
 * `model` with `seconds` of the engine's own work per decode step added to its fixed cost, which bare decode
 * timings leave out, and said in its calibration: it weighs the same at every depth, so most where a step is
 * shortest.
 */
export function withEngineStepSeconds(model: CostModel, seconds: number): CostModel {
    if (!(Number.isFinite(seconds) && seconds >= 0))
        throw new UnusableCalibrationError(`The engine's own cost per step is ${seconds} s; measure a finite time ≥ 0`);
    if (model.calibration === undefined)
        throw new UnusableCalibrationError("Only a calibrated cost model has an engine step measured beside its timings; calibrate first");
    return validateCostModel({...model, fixedSeconds: model.fixedSeconds + seconds, calibration: {...model.calibration, engineStepSeconds: seconds}});
}

/**
 * The context curve from timings between the shortest and the longest context, given what each such timing
 * leaves to the attention in tokens of the straight term (`effectiveTokens`: the context at which the model
 * costs what was measured): at each such context the mean over its timings, kept rising and within the
 * line's end, with the longest context as the last knot (the model passes there by its fit). Undefined
 * without such timings.
 */
function fitContextCurve<Point extends {attentionPerToken: number; contextTokens: number}>(
    between: readonly Point[],
    effectiveTokens: (point: Point) => number,
    longestContext: number
): ContextCurve | undefined {
    const byContext = new Map<number, number[]>();
    for (const p of between) {
        if (!(p.attentionPerToken > 0)) continue;
        const effective = effectiveTokens(p);
        const atContext = byContext.get(p.contextTokens);
        if (atContext !== undefined) atContext.push(effective);
        else byContext.set(p.contextTokens, [effective]);
    }
    if (byContext.size === 0) return undefined;
    const tokens = [...byContext.keys()].sort((a, b) => a - b);
    // noise can put a knot past the line's own end, too
    const effectiveTokensAt = nonFallingMeans(tokens.map((context) => byContext.get(context)!)).map((value) => Math.min(value, longestContext));
    return {tokens: [...tokens, longestContext], effectiveTokens: [...effectiveTokensAt, longestContext]};
}

/**
 * A curve through the depths of timings at one context: at each depth (`layersOf`, in average layers) the mean
 * of what its timings say those layers cost in fact (`effectiveOf`, in the same units), kept from falling.
 * Undefined with fewer than three depths, where the line, fitted through them, is the curve. The depth curve
 * reads the layers' own cost at the shortest context, the attention depth curve the attention at the longest.
 */
function curveThroughDepths<Point>(
    atOneContext: readonly Point[],
    layersOf: (point: Point) => number,
    effectiveOf: (point: Point) => number
): (DepthCurve & AttentionDepthCurve) | undefined {
    const byDepth = new Map<number, {layers: number; effective: number[]}>();
    for (const p of atOneContext) {
        const layers = layersOf(p);
        if (!(layers > 0)) continue;
        // costs that differ only by rounding are the same depth
        const key = Math.round(layers * 1e6);
        const atDepth = byDepth.get(key);
        if (atDepth !== undefined) atDepth.effective.push(effectiveOf(p));
        else byDepth.set(key, {layers, effective: [effectiveOf(p)]});
    }
    if (byDepth.size < 3) return undefined;
    const knots = [...byDepth.values()].sort((a, b) => a.layers - b.layers);
    return {layers: knots.map(({layers}) => layers), effectiveLayers: nonFallingMeans(knots.map(({effective}) => effective))};
}

/**
 * The attention depth curve with its knots moved on to the least-squares line through them (an attention
 * per step that does not scale with the layers, plus one that does): each knot is one long point timed to
 * about ±2.5%, some ±5-8% of its attention, and a curve through every knot put that noise into the levels
 * between them. On 28x1152 at batch 4 the half depth's knot came out at 12.82 average layers for 14 (full
 * 28.19, a quarter 7.35), and the dial promised 13 layers 6% more at ~1,500 tokens than they gave. Replayed
 * on the five calibrations of sessions 25-26 (36x1024, 20x1792 and 28x1152, batch 1 and 4; their bench
 * rows' achieved speedups against each model's predictions at the same depths), the 20 cells at ~1,500
 * tokens were off by at most 6.0% through every knot, 5.3% along the line the attention term alone gives
 * (no curve), and 3.6% along this one. Undefined where the line does not rise.
 */
function alongLineOfKnots(curve: AttentionDepthCurve | undefined): AttentionDepthCurve | undefined {
    if (curve === undefined) return undefined;
    const solution = leastSquares(
        curve.layers.map((layers) => [1, layers]),
        curve.effectiveLayers
    );
    if (solution === undefined || !(solution[1] > 0)) return undefined;
    const [perStep, perLayer] = solution;
    // a line that crosses 0 inside the shallowest knot holds at 0 below it, so the curve never falls
    return {layers: [...curve.layers], effectiveLayers: curve.layers.map((layers) => Math.max(0, perStep + perLayer * layers))};
}

/**
 * Each group's mean, raised to the one before it where it falls: noise can put a knot of a curve below the
 * knot before it (a deeper depth cheaper than a shallower one, a longer context cheaper than a shorter one).
 */
function nonFallingMeans(groups: readonly (readonly number[])[]): number[] {
    let floor = 0;
    return groups.map((values) => (floor = Math.max(floor, values.reduce((sum, value) => sum + value, 0) / values.length)));
}

/** costs scaled to a mean of 1 (all 1 when there are none), so a fitted scale is in seconds per average layer */
function relativeCosts(costs: readonly number[]): number[] {
    const total = costs.reduce((sum, s) => sum + s, 0);
    if (total <= 0) return costs.map(() => 1);
    return costs.map((s) => (s * costs.length) / total);
}

/**
 * The least-squares solution of rows · β ≈ y through the normal equations (a handful of columns), or
 * undefined when the columns do not determine it (too few rows, or columns that move together).
 */
function leastSquares(rows: readonly (readonly number[])[], y: readonly number[]): number[] | undefined {
    const k = rows[0]?.length ?? 0;
    if (rows.length < k) return undefined;
    // scale each column to unit size so that seconds, layers and tokens × layers condition alike
    const norms = Array.from({length: k}, (_, j) => Math.sqrt(rows.reduce((sum, row) => sum + row[j] ** 2, 0)));
    if (norms.some((norm) => !(norm > 0))) return undefined;
    const a = Array.from({length: k}, () => new Array<number>(k + 1).fill(0));
    for (const [r, row] of rows.entries())
        for (let i = 0; i < k; i++) {
            for (let j = 0; j < k; j++) a[i][j] += (row[i] / norms[i]) * (row[j] / norms[j]);
            a[i][k] += (row[i] / norms[i]) * y[r];
        }
    // Gauss-Jordan with partial pivoting; a pivot this small means the columns are (nearly) dependent
    for (let col = 0; col < k; col++) {
        let pivot = col;
        for (let row = col + 1; row < k; row++) if (Math.abs(a[row][col]) > Math.abs(a[pivot][col])) pivot = row;
        if (Math.abs(a[pivot][col]) < 1e-9) return undefined;
        [a[col], a[pivot]] = [a[pivot], a[col]];
        for (let row = 0; row < k; row++) {
            if (row === col) continue;
            const factor = a[row][col] / a[col][col];
            for (let j = col; j <= k; j++) a[row][j] -= factor * a[col][j];
        }
    }
    return Array.from({length: k}, (_, i) => a[i][k] / a[i][i] / norms[i]);
}
