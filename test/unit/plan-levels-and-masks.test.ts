import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {
    AllLayersSkippedError,
    AttentionTypeSkippedError,
    InvalidLayerIndexError,
    InvalidSpeedRatioError,
    SPEED_LEVELS,
    SPEED_LEVEL_NAMES,
    SkipMaskLengthError,
    UnknownSpeedLevelError,
    parseSkipLayerList,
    planForSpeed,
    planForSpeedup,
    planFromSkipMask,
    skipMaskFromLayers,
    uniformCostModel,
    validateSkipMask,
    type ModelShape,
    type PlannerInput
} from "../../engine/plan/index.js";

const realistic24: PlannerInput = {model: {layerCount: 24}, costModel: uniformCostModel(24, 0.15)};
const gemma3: ModelShape = {layerCount: 26, attentionTypes: Array.from({length: 26}, (_, l) => (l % 6 === 5 ? "full" : "swa"))};

describe("speed levels", () => {
    it("are Quality, Lossless, Balanced, Fast, Faster and Max with their ratios", () => {
        assert.deepEqual(SPEED_LEVEL_NAMES, ["Quality", "Lossless", "Balanced", "Fast", "Faster", "Max"]);
        assert.deepEqual(
            SPEED_LEVELS.map((level) => level.targetSpeedup),
            [1, "lossless", 1.25, 1.5, 2, "max"]
        );
    });

    it("map each level to the plan of its ratio; Max to the fastest stop without a cap message", () => {
        for (const level of SPEED_LEVELS) {
            const plan = planForSpeed(realistic24, level.name);
            if (level.targetSpeedup === "max") {
                assert.equal(plan.depth, 2);
                assert.equal(plan.predictedSpeedup, plan.maxSpeedup);
                assert.equal(plan.message, null);
            } else if (level.targetSpeedup === "lossless") {
                // the output runs through every layer: Quality's plan, marked for the drafter
                assert.deepEqual(plan, {...planForSpeedup(realistic24, 1), lossless: true});
            } else {
                assert.deepEqual(plan, planForSpeedup(realistic24, level.targetSpeedup));
            }
        }
        assert.equal(planForSpeed(realistic24, "Quality").depth, 24);
    });

    it("accept names in any case and ratios as numbers or strings like 1.5x", () => {
        assert.equal(planForSpeed(realistic24, "max").depth, 2);
        assert.equal(planForSpeed(realistic24, " FAST ").depth, planForSpeedup(realistic24, 1.5).depth);
        assert.equal(planForSpeed(realistic24, "1.5x").depth, planForSpeedup(realistic24, 1.5).depth);
        assert.equal(planForSpeed(realistic24, "2").depth, planForSpeedup(realistic24, 2).depth);
        assert.equal(planForSpeed(realistic24, 3).depth, planForSpeedup(realistic24, 3).depth);
    });

    it("refuse unknown names and bad ratios with what is allowed", () => {
        assert.throws(
            () => planForSpeed(realistic24, "turbo"),
            (e: unknown) => e instanceof UnknownSpeedLevelError && /Quality, Lossless, Balanced, Fast, Faster, Max or a ratio/.test(e.message)
        );
        assert.throws(() => planForSpeed(realistic24, 0.5), InvalidSpeedRatioError);
        assert.throws(() => planForSpeed(realistic24, "0.5x"), InvalidSpeedRatioError);
    });

    it("cap Faster on a model whose fastest stop is below 2x", () => {
        const headHeavy: PlannerInput = {model: {layerCount: 6}, costModel: uniformCostModel(6, 0.6)};
        const plan = planForSpeed(headHeavy, "Faster");
        assert.equal(plan.depth, 2);
        assert.ok(plan.maxSpeedup < 2);
        assert.match(plan.message ?? "", /2x is beyond this model's fastest setting/);
    });
});

describe("explicit skip masks", () => {
    it("parse layer lists like --skip-layers 3,5,7 and ranges", () => {
        assert.deepEqual(parseSkipLayerList("3,5,7", 24), [3, 5, 7]);
        assert.deepEqual(parseSkipLayerList(" 7, 3 ,10-12,3 ", 24), [3, 7, 10, 11, 12]);
        assert.deepEqual(parseSkipLayerList("", 24), []);
        for (const bad of ["24", "-1", "3.5", "a", "5-3", "3,,x"])
            assert.throws(
                () => parseSkipLayerList(bad, 24),
                (e: unknown) => e instanceof InvalidLayerIndexError && /from 0 to 23/.test(e.message),
                bad
            );
    });

    it("build masks from layer indices and refuse indices out of range", () => {
        assert.deepEqual([...skipMaskFromLayers([1, 3], 5)], [0, 1, 0, 1, 0]);
        assert.throws(() => skipMaskFromLayers([5], 5), InvalidLayerIndexError);
    });

    it("follow the native rules: right length, not everything, not a whole attention type; ends may be skipped", () => {
        assert.throws(
            () => validateSkipMask({layerCount: 4}, new Uint8Array(3)),
            (e: unknown) => e instanceof SkipMaskLengthError && /exactly one entry per layer/.test(e.message)
        );
        assert.throws(
            () => validateSkipMask({layerCount: 4}, new Uint8Array([1, 1, 1, 1])),
            (e: unknown) => e instanceof AllLayersSkippedError && /at least one layer running/.test(e.message)
        );
        assert.throws(
            () => validateSkipMask(gemma3, skipMaskFromLayers([5, 11, 17, 23], 26)),
            (e: unknown) => e instanceof AttentionTypeSkippedError && /"full".*5, 11, 17, 23.*keep one of them/.test(e.message)
        );
        assert.deepEqual([...validateSkipMask({layerCount: 4}, [1, 0, 0, 7])], [1, 0, 0, 1], "ends may be skipped; non-zero means skip");
        assert.doesNotThrow(() => validateSkipMask(gemma3, skipMaskFromLayers([5, 11, 17], 26)));
    });

    it("produce a plan of the same shape with its predicted speedup", () => {
        const plan = planFromSkipMask(realistic24, skipMaskFromLayers(parseSkipLayerList("3,5,7", 24), 24));
        assert.equal(plan.strategy, "explicit");
        assert.equal(plan.depth, 21);
        assert.deepEqual(plan.skippedLayers, [3, 5, 7]);
        assert.deepEqual(
            [...plan.skipMask].flatMap((skip, layer) => (skip === 1 ? [layer] : [])),
            [3, 5, 7]
        );
        const expected = 1 / (0.15 + (0.85 * 21) / 24);
        assert.ok(Math.abs(plan.predictedSpeedup - expected) < 1e-12);
        assert.equal(plan.targetSpeedup, plan.predictedSpeedup);
        assert.equal(plan.maxSpeedup, planForSpeed(realistic24, "Max").maxSpeedup);
        assert.equal(plan.slowerStop, null);
        assert.equal(plan.fasterStop, null);
    });
});
