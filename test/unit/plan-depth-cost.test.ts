// The cost model's depth curve: what the kept layers cost is not proportional to how many run (on a 2-core
// CPU a few layers' weights stay in the caches from one token to the next, more do not), so a straight line
// through every timed depth promised less than the shallow depths gave. With three or more depths timed at
// one context, a prediction at a timed depth is what was timed there, and between two on the line between them.
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {assertClose as close} from "../fixtures/assert-close.js";
import {
    COST_MODEL_FORMAT,
    InvalidCostModelError,
    calibrateCostModel,
    effectiveLayerSeconds,
    predictedSpeedup,
    secondsPerToken,
    uniformCostModel,
    validateCostModel,
    type CostModel,
    type DecodeTiming
} from "../../engine/plan/index.js";

const layerCount = 28;
const prior = uniformCostModel(layerCount, 0.1);
const kept = (depth: number): number[] => Array.from({length: depth}, (_, i) => Math.round((i * (layerCount - 1)) / Math.max(1, depth - 1)));

/** bare steps of the 28-layer n_embd 640 model on 2 cores, each depth timed alone (ms; probe of 2026-11-30) */
const measuredMilliseconds: Record<number, number> = {2: 1.129, 4: 1.493, 6: 1.833, 9: 2.584, 12: 3.504, 16: 4.582, 20: 5.65, 24: 6.533, 28: 7.317};
const timings: DecodeTiming[] = Object.entries(measuredMilliseconds).map(([depth, ms]) => ({keptLayers: kept(Number(depth)), secondsPerToken: ms / 1000}));

describe("the depth curve", () => {
    it("predicts what was timed at each timed depth, where the straight line missed by up to 12%", () => {
        const model = calibrateCostModel(prior, timings);
        assert.ok(model.depthCurve !== undefined);
        assert.equal(model.depthCurve.layers.length, Object.keys(measuredMilliseconds).length);
        const line = {...model, depthCurve: undefined};
        let worstLineMiss = 0;
        for (const [depth, ms] of Object.entries(measuredMilliseconds)) {
            close(secondsPerToken(model, kept(Number(depth))) * 1000, ms, 1e-9, `depth ${depth}`);
            worstLineMiss = Math.max(worstLineMiss, Math.abs(secondsPerToken(line, kept(Number(depth))) * 1000 - ms) / ms);
        }
        assert.ok(worstLineMiss > 0.08, `the straight line missed some depth by ${(worstLineMiss * 100).toFixed(1)}%`);
        // 3x at 6 layers: the measured ratio, where the line said less
        close(predictedSpeedup(model, kept(6)), 7.317 / 1.833, 1e-9, "speedup at 6 layers");
        assert.ok(predictedSpeedup(line, kept(6)) < (7.317 / 1.833) * 0.95);
    });

    it("between two timed depths, is on the line between them", () => {
        const model = calibrateCostModel(prior, timings);
        close(secondsPerToken(model, kept(14)) * 1000, (3.504 + 4.582) / 2, 1e-9, "depth 14, half way from 12 to 16");
        close(secondsPerToken(model, kept(7)) * 1000, 1.833 + (2.584 - 1.833) / 3, 1e-9, "depth 7, a third of the way from 6 to 9");
    });

    it("is left out where the timings are a straight line (then it would change nothing) or cover two depths", () => {
        const straight = timings.map((timing) => ({...timing, secondsPerToken: 0.0005 + timing.keptLayers.length * 0.00025}));
        const model = calibrateCostModel(prior, straight);
        for (const depth of [2, 5, 13, 28]) close(secondsPerToken(model, kept(depth)), 0.0005 + depth * 0.00025, 1e-12, `depth ${depth}`);
        assert.equal(calibrateCostModel(prior, [timings[0]!, timings.at(-1)!]).depthCurve, undefined);
    });

    it("never has a deeper depth cost less than a shallower one, whatever the noise", () => {
        const noisy = timings.map((timing) => (timing.keptLayers.length === 12 ? {...timing, secondsPerToken: 0.0024} : timing));
        const {depthCurve} = calibrateCostModel(prior, noisy);
        assert.ok(depthCurve !== undefined);
        for (let knot = 1; knot < depthCurve.effectiveLayers.length; knot++)
            assert.ok(depthCurve.effectiveLayers[knot]! >= depthCurve.effectiveLayers[knot - 1]!, depthCurve.effectiveLayers.join(", "));
    });

    it("maps the kept layers' seconds through its knots, and past the last along its last piece", () => {
        const model: CostModel = {
            format: COST_MODEL_FORMAT,
            layerCount: 4,
            fixedSeconds: 0,
            layerSeconds: [1, 1, 1, 1],
            layerSecondsPerContextToken: [0, 0, 0, 0],
            depthCurve: {layers: [1, 2], effectiveLayers: [0.5, 2]},
            source: "calibrated"
        };
        close(effectiveLayerSeconds(model, 0.5), 0.25, 1e-12, "below the first knot, toward (0, 0)");
        close(effectiveLayerSeconds(model, 1.5), 1.25, 1e-12, "between the knots");
        close(effectiveLayerSeconds(model, 4), 5, 1e-12, "past the last knot");
        assert.equal(effectiveLayerSeconds({...model, depthCurve: undefined}, 3), 3);
    });

    it("a cached curve that falls, or whose knots do not match, is refused with what to do", () => {
        const base = calibrateCostModel(prior, timings);
        assert.throws(() => validateCostModel({...base, depthCurve: {layers: [2, 4], effectiveLayers: [3, 2]}}), InvalidCostModelError);
        assert.throws(() => validateCostModel({...base, depthCurve: {layers: [4, 2], effectiveLayers: [1, 2]}}), /must rise/);
        assert.throws(() => validateCostModel({...base, depthCurve: {layers: [2], effectiveLayers: []}}), /re-measure the speed calibration/);
    });
});
