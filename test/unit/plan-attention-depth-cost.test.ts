// The cost model's attention depth curve: what the kept layers' attention costs per cached token is not
// proportional to how many run either (bare steps of the 36-layer n_embd 1024 model on 2 cores grew by 3.29 ms
// at 9 layers and 12.21 ms at 36 from ~100 to ~1,500 cached tokens: 0.269 of it, where a cost per layer gives
// 0.25), so with full depth and the fewest layers alone at the long context the dial promised its 9-layer
// level more speed there than it gave. With three or more depths timed at the longest context, the curve's
// knots lie on the least-squares line through what each of them timed (a cost per step plus one per layer):
// on a device whose attention is such a line a prediction at a timed depth is what was timed there, and one
// knot timed low by noise moves the levels beside it less than a curve through it would.
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {assertClose as close} from "../fixtures/assert-close.js";
import {
    COST_MODEL_FORMAT,
    InvalidCostModelError,
    calibrateCostModel,
    effectiveAttentionSeconds,
    predictedSpeedup,
    secondsPerToken,
    uniformCostModel,
    validateCostModel,
    type CostModel,
    type DecodeTiming
} from "../../engine/plan/index.js";

const layerCount = 36;
const prior = uniformCostModel(layerCount, 0.1);
const kept = (depth: number): number[] => Array.from({length: depth}, (_, i) => Math.round((i * (layerCount - 1)) / Math.max(1, depth - 1)));

/** a device like the probe's: 1.9 ms a step, 0.535 ms a layer, and per cached token 0.229 µs whatever the
 *  depth and 0.236 µs a layer (which puts the 9 layers' growth at 0.269 of full depth's) */
const stepMilliseconds = (depth: number, contextTokens: number) => 1.9 + 0.535 * depth + contextTokens * (0.000229 + 0.000236 * depth);
const timed = (depths: readonly number[], contextTokens: number): DecodeTiming[] =>
    depths.map((depth) => ({keptLayers: kept(depth), secondsPerToken: stepMilliseconds(depth, contextTokens) / 1000, contextTokens}));
const shortTimings = timed([36, 27, 18, 9, 4, 2], 8);
/** what the calibration times: full depth, a half, a quarter and the fewest layers at the long context */
const timings = [...shortTimings, ...timed([36, 18, 9, 2], 2048)];

describe("the attention depth curve", () => {
    it("predicts what was timed at each depth timed at the longest context, and 9 layers' speedup at ~1,500 tokens", () => {
        const model = calibrateCostModel(prior, timings);
        assert.ok(model.attentionDepthCurve !== undefined);
        assert.equal(model.attentionDepthCurve.layers.length, 4);
        for (const depth of [36, 18, 9, 2])
            close(secondsPerToken(model, kept(depth), {contextTokens: 2048}) * 1000, stepMilliseconds(depth, 2048), 1e-9, `${depth} layers at 2,048`);
        // the short context stays what was timed there, within what its 8 tokens' attention moves (the depth
        // curve is fitted with the line's attention)
        for (const depth of [36, 9, 2])
            close(
                secondsPerToken(model, kept(depth), {contextTokens: 8}) * 1000,
                stepMilliseconds(depth, 8),
                stepMilliseconds(depth, 8) * 0.001,
                `${depth} layers at 8`
            );
        const truth = stepMilliseconds(36, 1500) / stepMilliseconds(9, 1500);
        close(predictedSpeedup(model, kept(9), {contextTokens: 1500}), truth, truth * 0.001, "9 layers' speedup at 1,500 tokens");
        // the attention as a cost per layer (the line) promised more than that
        const line = {...model, attentionDepthCurve: undefined};
        assert.ok(
            predictedSpeedup(line, kept(9), {contextTokens: 1500}) > truth * 1.01,
            `${predictedSpeedup(line, kept(9), {contextTokens: 1500})} against ${truth}`
        );
    });

    it("between two timed depths, is on the line between them", () => {
        const model = calibrateCostModel(prior, timings);
        // the device's attention is a straight line in the depth, so the curve's pieces meet it between knots
        for (const depth of [27, 13, 5])
            close(secondsPerToken(model, kept(depth), {contextTokens: 2048}) * 1000, stepMilliseconds(depth, 2048), 0.02, `${depth} layers at 2,048`);
    });

    it("is left out with fewer than three depths at the longest context: the line is fitted through them", () => {
        const twoDepths = calibrateCostModel(prior, [...shortTimings, ...timed([36, 2], 2048)]);
        assert.equal(twoDepths.attentionDepthCurve, undefined);
        assert.equal(calibrateCostModel(prior, shortTimings).attentionDepthCurve, undefined);
    });

    it("never has a deeper depth's attention cost less than a shallower one's, whatever the noise", () => {
        const noisy = timings.map((timing) =>
            timing.contextTokens === 2048 && timing.keptLayers.length === 18 ? {...timing, secondsPerToken: stepMilliseconds(9, 2048) / 1000} : timing
        );
        const {attentionDepthCurve} = calibrateCostModel(prior, noisy);
        assert.ok(attentionDepthCurve !== undefined);
        for (let knot = 1; knot < attentionDepthCurve.effectiveLayers.length; knot++)
            assert.ok(
                attentionDepthCurve.effectiveLayers[knot]! >= attentionDepthCurve.effectiveLayers[knot - 1]!,
                attentionDepthCurve.effectiveLayers.join(", ")
            );
    });

    it("puts its knots on the least-squares line through them, so one timed low does not carry its noise into the levels beside it", () => {
        // the half depth's long point 4% low (its attention some 9% low), as on 28x1152 at batch 4
        const lowHalf = timings.map((timing) =>
            timing.contextTokens === 2048 && timing.keptLayers.length === 18 ? {...timing, secondsPerToken: (0.96 * stepMilliseconds(18, 2048)) / 1000} : timing
        );
        const model = calibrateCostModel(prior, lowHalf);
        const curve = model.attentionDepthCurve;
        assert.ok(curve !== undefined);
        const slopes = curve.layers
            .slice(1)
            .map((layers, knot) => (curve.effectiveLayers[knot + 1]! - curve.effectiveLayers[knot]!) / (layers - curve.layers[knot]!));
        for (const slope of slopes) close(slope, slopes[0]!, 1e-9, `the knots' slopes ${slopes.join(", ")}`);
        // the low point is not what the model says of 18 layers there, and 14 layers (between a quarter and a
        // half) stay within 1.5% of the device, where a curve through the low knot put them 2.8% under it
        const at = (depth: number) => secondsPerToken(model, kept(depth), {contextTokens: 2048}) * 1000;
        assert.ok(at(18) > 0.97 * stepMilliseconds(18, 2048), `${at(18)} ms at 18 layers, timed ${0.96 * stepMilliseconds(18, 2048)}`);
        close(at(14), stepMilliseconds(14, 2048), 0.015 * stepMilliseconds(14, 2048), "14 layers at 2,048");
    });

    it("maps the kept layers' attention through its knots, and past the last along its last piece", () => {
        const model: CostModel = {
            format: COST_MODEL_FORMAT,
            layerCount: 4,
            fixedSeconds: 0,
            layerSeconds: [1, 1, 1, 1],
            layerSecondsPerContextToken: [2, 2, 2, 2],
            attentionDepthCurve: {layers: [1, 2], effectiveLayers: [1.5, 2]},
            source: "calibrated"
        };
        close(effectiveAttentionSeconds(model, 1), 1.5, 1e-12, "half an average layer, toward (0, 0)");
        close(effectiveAttentionSeconds(model, 3), 3.5, 1e-12, "between the knots");
        close(effectiveAttentionSeconds(model, 8), 6, 1e-12, "past the last knot");
        assert.equal(effectiveAttentionSeconds({...model, attentionDepthCurve: undefined}, 6), 6);
        // and a step pays the context times that
        close(secondsPerToken(model, [0, 1], {contextTokens: 10}), 2 + 10 * 4, 1e-9, "two layers at 10 tokens: 2 average layers' attention, as the knot says");
    });

    it("a cached curve that falls, or whose knots do not match, is refused with what to do", () => {
        const base = calibrateCostModel(prior, timings);
        assert.throws(() => validateCostModel({...base, attentionDepthCurve: {layers: [2, 4], effectiveLayers: [3, 2]}}), InvalidCostModelError);
        assert.throws(() => validateCostModel({...base, attentionDepthCurve: {layers: [4, 2], effectiveLayers: [1, 2]}}), /attention depth curve must rise/);
        assert.throws(() => validateCostModel({...base, attentionDepthCurve: {layers: [2], effectiveLayers: []}}), /re-measure the speed calibration/);
    });
});
