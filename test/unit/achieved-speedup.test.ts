// Which runs get an achieved speedup, and the reason every other run carries (engine/achieved-speedup.ts);
// the statistics the speed calibration and bench speed rest on (engine/timing-statistics.ts); and when
// real runs say the calibration drifted (engine/calibration-drift.ts).
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import {achievedSpeedupOf, missingBaselineReason} from "../../engine/achieved-speedup.js";
import {CalibrationDriftMonitor, driftReason} from "../../engine/calibration-drift.js";
import {meanInterval, pairedRatioInterval, studentT975, withoutOutliers} from "../../engine/timing-statistics.js";

const run = {decodeTokensPerSecond: 60, generatedTokens: 64, maxBatch: 1, planChanged: false};

describe("achieved speedup", () => {
    test("a batch-1 run with one plan is divided by the measured 1x rate", () => {
        assert.deepEqual(achievedSpeedupOf(run, {tokensPerSecond: 40}), {achievedSpeedup: 1.5});
    });

    test("without a measured 1x speed there is no number, whatever the run, and the reason says why", () => {
        const missingBecause = missingBaselineReason({layerSkipSupported: true, calibrationError: "decode steps at 24 layers stayed too spread"});
        assert.equal(
            missingBecause,
            "no 1x speed measured on this model, backend and machine because the speed calibration failed: decode steps at 24 layers stayed too spread"
        );
        assert.deepEqual(achievedSpeedupOf(run, {missingBecause}), {achievedSpeedup: null, whyNoAchievedSpeedup: missingBecause});
        assert.match(missingBaselineReason({layerSkipSupported: true, calibrationOff: true}), /: the speed calibration is turned off$/);
        assert.match(missingBaselineReason({layerSkipSupported: false}), /: this model cannot skip layers/);
    });

    test("batched, re-dialled and too-short runs are not compared with the batch-1 rate", () => {
        const baseline = {tokensPerSecond: 40};
        assert.deepEqual(achievedSpeedupOf({...run, maxBatch: 4}, baseline), {
            achievedSpeedup: null,
            whyNoAchievedSpeedup: "4 requests decoded side by side (batch 4), and the 1x speed is measured at batch 1"
        });
        assert.deepEqual(achievedSpeedupOf({...run, planChanged: true}, baseline), {
            achievedSpeedup: null,
            whyNoAchievedSpeedup: "the speed level changed during the run"
        });
        assert.deepEqual(achievedSpeedupOf({...run, generatedTokens: 1}, baseline), {
            achievedSpeedup: null,
            whyNoAchievedSpeedup: "only 1 token decoded, too few to time (3 are needed)"
        });
        assert.deepEqual(achievedSpeedupOf({...run, generatedTokens: 3}, baseline), {achievedSpeedup: 1.5});
    });
});

describe("timing statistics", () => {
    test("the 95% interval of a mean uses Student's t for few samples", () => {
        const interval = meanInterval([10, 12, 14]);
        assert.equal(interval.mean, 12);
        // s = 2, t(2) = 4.303: 4.303 * 2 / sqrt(3)
        assert.ok(Math.abs(interval.halfWidth - (4.303 * 2) / Math.sqrt(3)) < 1e-9);
        assert.ok(Math.abs(interval.relativeHalfWidth - interval.halfWidth / 12) < 1e-12);
        assert.equal(meanInterval([5]).halfWidth, Infinity);
        assert.equal(studentT975(100), 1.96);
    });

    test("only far outliers are dropped: a slow thread wake-up stays, a stolen time slice goes", () => {
        const steps = [10, 10.2, 9.9, 10.1, 10.4, 9.8, 10, 12, 10.1, 60];
        assert.deepEqual(withoutOutliers(steps), {kept: steps.slice(0, 9), rejected: 1});
        assert.deepEqual(withoutOutliers([1, 100, 2]).rejected, 0, "too few samples to call any an outlier");
    });

    test("a ratio's interval pairs the settings of each run, so drift shared by both cancels", () => {
        const slowMachineThenFast = [20, 30, 40];
        const interval = pairedRatioInterval(
            slowMachineThenFast.map((rate) => rate * 1.5),
            slowMachineThenFast
        );
        assert.ok(Math.abs(interval.mean - 1.5) < 1e-12);
        assert.ok(interval.halfWidth < 1e-9);
    });
});

describe("calibration drift", () => {
    test("a window of runs beyond 5%, clear of noise, is drift; noisy or close runs are not", () => {
        const steady = new CalibrationDriftMonitor();
        for (const ratio of [1.03, 0.98, 1.04, 1.01, 0.99, 1.02]) assert.equal(steady.observe(0.1, 0.1 * ratio), undefined);
        assert.equal(steady.drifted, undefined);

        const noisy = new CalibrationDriftMonitor();
        for (const ratio of [1.5, 0.7, 1.3, 0.8, 1.2]) assert.equal(noisy.observe(0.1, 0.1 * ratio), undefined, "a mean of 1.06 whose interval holds 1");

        const loadedMachine = new CalibrationDriftMonitor();
        const spread = [400, 20000, 600, 700, 800].map((ratio) => loadedMachine.observe(1e-6, 1e-6 * ratio));
        assert.ok(spread[4] !== undefined, "runs all far slower than predicted drift, however unevenly");

        const slower = new CalibrationDriftMonitor();
        const verdicts = [1.12, 1.1, 1.14, 1.11, 1.13].map((ratio) => slower.observe(0.1, 0.1 * ratio));
        assert.deepEqual(verdicts.slice(0, 4), [undefined, undefined, undefined, undefined], "judged only over a full window");
        // the geometric mean of the five ratios
        assert.ok(
            verdicts[4] !== undefined &&
                Math.abs(verdicts[4].ratio - Math.exp([1.12, 1.1, 1.14, 1.11, 1.13].reduce((sum, r) => sum + Math.log(r), 0) / 5)) < 1e-12
        );
        assert.equal(
            driftReason(verdicts[4]),
            "the 1x speed measured at load no longer matches this machine: the last 5 runs took 12% longer per token than predicted; reload the model to calibrate again"
        );
    });
});
