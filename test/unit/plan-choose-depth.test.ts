import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {
    InvalidSpeedRatioError,
    UnreachableDepthError,
    buildSchedule,
    dialStops,
    estimateCostModelFromTensorBytes,
    planForDepth,
    planForSpeedup,
    uniformCostModel,
    type PlannerInput,
    type SkipPlan
} from "../../engine/plan/index.js";

// 24 equal layers carrying 85% of full-depth decode time, 15% fixed (output head, norm, overhead)
const realistic24: PlannerInput = {model: {layerCount: 24}, costModel: uniformCostModel(24, 0.15)};
const speedupAt = (depth: number): number => 1 / (0.15 + (0.85 * depth) / 24);

function assertConsistent(plan: SkipPlan): void {
    assert.equal(plan.skipMask.length, plan.layerCount);
    assert.equal(plan.keptLayers.length, plan.depth);
    assert.equal(plan.skippedLayers.length, plan.layerCount - plan.depth);
    for (const layer of plan.keptLayers) assert.equal(plan.skipMask[layer], 0);
    for (const layer of plan.skippedLayers) assert.equal(plan.skipMask[layer], 1);
    assert.deepEqual(
        [...plan.keptLayers, ...plan.skippedLayers].sort((a, b) => a - b),
        Array.from({length: plan.layerCount}, (_, i) => i)
    );
}

describe("choosing a depth for a target speedup", () => {
    it("lands within half a step of 1.25x, 1.5x, 2x and 3x on a 24-layer model", () => {
        for (const target of [1.25, 1.5, 2, 3]) {
            const plan = planForSpeedup(realistic24, target);
            assertConsistent(plan);
            const neighbour = plan.predictedSpeedup < target ? plan.fasterStop : plan.slowerStop;
            assert.ok(neighbour !== null);
            const halfStep = Math.abs(neighbour.predictedSpeedup - plan.predictedSpeedup) / 2;
            assert.ok(
                Math.abs(plan.predictedSpeedup - target) <= halfStep,
                `${target}x → depth ${plan.depth} at ${plan.predictedSpeedup.toFixed(3)}x, half step ${halfStep.toFixed(3)}`
            );
            assert.ok(Math.abs(plan.predictedSpeedup - speedupAt(plan.depth)) < 1e-12);
            assert.equal(plan.message, null);
            assert.equal(plan.requestedSpeedup, target);
        }
        // with these costs: 1.25x → 18 layers, 1.5x → 15, 2x → 10, 3x → 5 (stops at 1.270x, 1.468x, 1.983x, 3.057x)
        assert.deepEqual(
            [1.25, 1.5, 2, 3].map((target) => planForSpeedup(realistic24, target).depth),
            [18, 15, 10, 5]
        );
    });

    it("is the nearest stop of all, and 1x runs every layer", () => {
        const stops = dialStops(buildSchedule(realistic24.model), realistic24.costModel);
        for (let target = 1; target <= 4.5; target += 0.05) {
            const plan = planForSpeedup(realistic24, target);
            const nearest = Math.min(...stops.map((stop) => Math.abs(stop.predictedSpeedup - target)));
            assert.ok(Math.abs(plan.predictedSpeedup - target) <= nearest + 1e-12, `target ${target}`);
        }
        const quality = planForSpeedup(realistic24, 1);
        assert.equal(quality.depth, 24);
        assert.equal(quality.predictedSpeedup, 1);
        assert.deepEqual(quality.skippedLayers, []);
        assert.equal(quality.slowerStop, null);
    });

    it("breaks a tie towards more layers", () => {
        // no fixed cost, 4 layers: the stops are 1x, 4/3x and 2x; 5/3x is exactly between the last two
        const plan = planForSpeedup({model: {layerCount: 4}, costModel: uniformCostModel(4, 0)}, 5 / 3);
        assert.equal(plan.depth, 3);
    });

    it("reports the neighbouring stops so a UI can show the step", () => {
        const plan = planForSpeedup(realistic24, 2);
        assert.equal(plan.slowerStop?.depth, 11);
        assert.ok(Math.abs((plan.slowerStop?.predictedSpeedup ?? 0) - speedupAt(11)) < 1e-12);
        assert.equal(plan.fasterStop?.depth, 9);
        assert.ok(Math.abs((plan.fasterStop?.predictedSpeedup ?? 0) - speedupAt(9)) < 1e-12);
        assert.ok(Math.abs(plan.maxSpeedup - speedupAt(2)) < 1e-12);
    });

    it("caps a target above the fastest stop and says so", () => {
        const plan = planForSpeedup(realistic24, 10);
        assert.equal(plan.depth, 2);
        assert.equal(plan.requestedSpeedup, 10);
        assert.equal(plan.targetSpeedup, plan.maxSpeedup);
        assert.equal(plan.predictedSpeedup, plan.maxSpeedup);
        assert.equal(plan.fasterStop, null);
        assert.match(plan.message ?? "", /10x is beyond this model's fastest setting; using 4\.53x \(2 of 24 layers run\)/);
    });

    it("refuses ratios below 1, NaN and infinities, naming the valid range", () => {
        for (const bad of [0.99, 0, -2, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
            assert.throws(
                () => planForSpeedup(realistic24, bad),
                (e: unknown) => e instanceof InvalidSpeedRatioError && /from 1 \(every layer runs\) to 4\.53x/.test(e.message),
                `ratio ${bad}`
            );
    });

    it("uses per-layer costs: with a heavy layer the speedups are not equally spaced", () => {
        const layerBytes = Array.from({length: 8}, (_, layer) => (layer === 4 ? 5 : 1));
        const input: PlannerInput = {model: {layerCount: 8}, costModel: estimateCostModelFromTensorBytes({layerBytes, fixedBytes: 2, bytesPerSecond: 1})};
        for (let depth = 2; depth <= 8; depth++) {
            const plan = planForDepth(input, depth);
            const seconds = 2 + plan.keptLayers.reduce((sum, layer) => sum + layerBytes[layer], 0);
            assert.ok(Math.abs(plan.predictedSpeedup - 14 / seconds) < 1e-12, `depth ${depth}`);
        }
    });

    it("plans an exact depth and refuses an unreachable one", () => {
        const plan = planForDepth(realistic24, 12);
        assertConsistent(plan);
        assert.equal(plan.depth, 12);
        assert.ok(Math.abs(plan.predictedSpeedup - speedupAt(12)) < 1e-12);
        assert.throws(() => planForDepth(realistic24, 1), UnreachableDepthError);
    });

    it("plans with any strategy", () => {
        const top = planForSpeedup({...realistic24, strategy: "top"}, 2);
        assert.deepEqual(top.skippedLayers, Array.from({length: 14}, (_, i) => 22 - i).reverse());
        const paper = planForSpeedup({...realistic24, strategy: "paper"}, 2);
        assert.equal(paper.strategy, "paper");
        assert.equal(paper.depth, 10);
    });

    it("gives a 1-layer model the only plan it has", () => {
        const plan = planForSpeedup({model: {layerCount: 1}, costModel: uniformCostModel(1, 0.2)}, 2);
        assert.equal(plan.depth, 1);
        assert.equal(plan.maxSpeedup, 1);
        assert.notEqual(plan.message, null);
    });
});
