// The greedy and one-pass layer orders, on synthetic scores where the right answer is known.
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {
    CalibrationCancelledError,
    greedyRemovalOrder,
    singleLayerRemovalOrder,
    formatCalibrationProgress,
    type CalibrationProgress,
    type MaskScorer
} from "../../engine/calibration/index.js";
import {buildSchedule, keptLayersAtDepth, validateCalibratedOrder} from "../../engine/plan/index.js";
import type {QualityScore} from "../../engine/quality/index.js";

const score = (meanKl: number): QualityScore => ({positions: 1, top1Agreement: Math.exp(-meanKl), meanKl, bitsPerToken: 1 + meanKl, bitsPerByte: 1 + meanKl});

/** KL = sum of per-layer costs, plus a penalty when two given layers are both skipped */
function additiveScorer(costs: readonly number[], pair?: {a: number; b: number; penalty: number}): MaskScorer & {calls: number} {
    const scorer = Object.assign(
        async (mask: Uint8Array) => {
            scorer.calls++;
            let kl = 0;
            mask.forEach((skip, layer) => {
                if (skip === 1) kl += costs[layer];
            });
            if (pair !== undefined && mask[pair.a] === 1 && mask[pair.b] === 1) kl += pair.penalty;
            return score(kl);
        },
        {calls: 0}
    );
    return scorer;
}

describe("greedy removal order", () => {
    it("removes the cheapest layer first and scores (L-2)(L-1)/2 masks", async () => {
        const costs = [9, 0.5, 0.1, 0.9, 0.3, 0.7, 0.2, 0.6, 0.4, 0.8, 9];
        const scorer = additiveScorer(costs);
        const progress: CalibrationProgress[] = [];
        const result = await greedyRemovalOrder({shape: {layerCount: 11}, score: scorer, onProgress: (p) => progress.push(p)});
        assert.deepEqual(result.order, [2, 6, 4, 8, 1, 7, 5, 9, 3]);
        assert.equal(result.evaluations, 45);
        assert.equal(scorer.calls, 45);
        validateCalibratedOrder(result.order, 11);
        assert.deepEqual(
            result.levels.map((level) => level.depth),
            [10, 9, 8, 7, 6, 5, 4, 3, 2]
        );
        assert.ok(Math.abs(result.levels[1].meanKl - 0.3) < 1e-12);
        // a report per mask, and one more per chosen layer carrying the level it reached
        assert.equal(progress.filter((p) => p.level === undefined).length, 45);
        assert.equal(progress.filter((p) => p.level !== undefined).length, 9);
        assert.equal(progress.at(-1)?.fraction, 1);
        assert.match(formatCalibrationProgress(progress.at(-1)!), /100% 45\/45 masks scored; without layer 3: 2 layers/);
    });

    it("accounts for interactions a one-pass ranking cannot see", async () => {
        // layers 1 and 2 are each cheap alone, but skipping both is expensive
        const costs = [9, 0.1, 0.11, 0.3, 0.4, 9];
        const pair = {a: 1, b: 2, penalty: 5};
        const greedy = await greedyRemovalOrder({shape: {layerCount: 6}, score: additiveScorer(costs, pair)});
        const estimate = await singleLayerRemovalOrder({shape: {layerCount: 6}, score: additiveScorer(costs, pair)});
        assert.deepEqual(estimate.order, [1, 2, 3, 4]);
        assert.deepEqual(greedy.order, [1, 3, 4, 2]);
        assert.equal(estimate.evaluations, 4);
        assert.deepEqual(
            estimate.levels.map((level) => level.removed),
            [1, 2, 3, 4]
        );
    });

    it("yields nested kept sets that keep the first and last layer (the even order's balance is tested in plan-even-order.test.ts)", async () => {
        const costs = Array.from({length: 16}, (_, layer) => ((layer * 7919) % 13) / 10 + 0.01);
        const {order} = await greedyRemovalOrder({shape: {layerCount: 16}, score: additiveScorer(costs)});
        const schedule = buildSchedule({layerCount: 16}, {strategy: "calibrated", calibratedOrder: order});
        for (let depth = 2; depth < 16; depth++) {
            const kept = keptLayersAtDepth(schedule, depth);
            assert.ok(kept.includes(0) && kept.includes(15));
            assert.ok(kept.every((layer) => keptLayersAtDepth(schedule, depth + 1).includes(layer)));
        }
    });

    it("never removes the last layer of an attention type, and puts it at the end of the order", async () => {
        const attentionTypes = ["sliding", "sliding", "full", "sliding", "sliding", "full"];
        // layer 2, the only full-attention middle layer, is the cheapest, but layer 5 is the last full one
        const costs = [9, 0.3, 0.01, 0.2, 0.4, 9];
        const shape = {layerCount: 6, attentionTypes};
        for (const search of [greedyRemovalOrder, singleLayerRemovalOrder]) {
            const {order} = await search({shape, score: additiveScorer(costs)});
            assert.equal(order[0], 2, "layer 2 can go: layer 5 keeps full attention running");
        }
        const gemmaLike = {layerCount: 6, attentionTypes: ["sliding", "full", "full", "full", "sliding", "full"]};
        // layer 4 is the only sliding middle layer, but layer 0 (always running) is sliding too, so 4 may go
        const {order} = await greedyRemovalOrder({shape: gemmaLike, score: additiveScorer([9, 1, 1, 1, 0.1, 9])});
        assert.equal(order[0], 4);
        const onlyInMiddle = {layerCount: 5, attentionTypes: ["full", "full", "sliding", "full", "full"]};
        const result = await greedyRemovalOrder({shape: onlyInMiddle, score: additiveScorer([9, 1, 0.01, 1, 9])});
        assert.deepEqual(result.order, [1, 3, 2], "the only sliding layer is never scored for removal and comes last");
        assert.equal(result.evaluations, 3);
        assert.deepEqual(buildSchedule(onlyInMiddle, {strategy: "calibrated", calibratedOrder: result.order}).protectedLayers, [2]);
    });

    it("stops with CalibrationCancelledError when its signal is aborted", async () => {
        const controller = new AbortController();
        const scorer = additiveScorer(Array.from({length: 12}, (_, layer) => layer / 10));
        const search = greedyRemovalOrder({
            shape: {layerCount: 12},
            score: scorer,
            signal: controller.signal,
            onProgress: (p) => {
                if (p.evaluationsDone === 3) controller.abort();
            }
        });
        await assert.rejects(search, CalibrationCancelledError);
        assert.equal(scorer.calls, 3);
    });

    it("turns a scorer's own cancellation into CalibrationCancelledError", async () => {
        const {QualityMeasurementCancelledError} = await import("../../engine/quality/index.js");
        const failing: MaskScorer = async () => {
            throw new QualityMeasurementCancelledError();
        };
        await assert.rejects(singleLayerRemovalOrder({shape: {layerCount: 4}, score: failing}), CalibrationCancelledError);
        await assert.rejects(greedyRemovalOrder({shape: {layerCount: 2}, score: failing}), {name: "CalibrationUnsupportedError"});
    });
});
