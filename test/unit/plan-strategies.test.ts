import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {
    InvalidRemovalOrderError,
    STRATEGY_NAMES,
    UnknownStrategyError,
    UnreachableDepthError,
    bottomRemovalOrder,
    buildSchedule,
    keptLayersAtDepth,
    middleRemovalOrder,
    paperKeptLayersAtDepth,
    paperKeptLayersForRatio,
    parseStrategyName,
    reachableDepths,
    topRemovalOrder,
    validateCalibratedOrder
} from "../../engine/plan/index.js";

function isContiguous(layers: readonly number[]): boolean {
    const sorted = [...layers].sort((a, b) => a - b);
    return sorted.every((layer, i) => i === 0 || layer === sorted[i - 1] + 1);
}

describe("contiguous-block strategies", () => {
    it("top removes a block just below the last layer, growing downwards", () => {
        assert.deepEqual(topRemovalOrder(8), [6, 5, 4, 3, 2, 1]);
    });

    it("bottom removes a block just above layer 0, growing upwards", () => {
        assert.deepEqual(bottomRemovalOrder(8), [1, 2, 3, 4, 5, 6]);
    });

    it("middle removes a block centred on the middle, contiguous at every depth", () => {
        for (const layerCount of [3, 8, 9, 24, 25]) {
            const order = middleRemovalOrder(layerCount);
            const centre = (layerCount - 1) / 2;
            for (let removed = 1; removed <= order.length; removed++) {
                const block = order.slice(0, removed);
                assert.ok(isContiguous(block), `L=${layerCount}: ${block.join(",")}`);
                const blockCentre = (Math.min(...block) + Math.max(...block)) / 2;
                assert.ok(Math.abs(blockCentre - centre) <= 0.5, `L=${layerCount}: block ${block.join(",")} off centre`);
            }
        }
        assert.deepEqual(middleRemovalOrder(8).slice(0, 2), [3, 4]);
    });

    it("schedules of every strategy keep first and last layer at every depth", () => {
        for (const strategy of STRATEGY_NAMES) {
            const calibratedOrder = strategy === "calibrated" ? [5, 1, 9, 3, 7, 2, 8, 4, 6, 10] : undefined;
            const schedule = buildSchedule({layerCount: 12}, {strategy, calibratedOrder});
            for (const depth of reachableDepths(schedule)) {
                const kept = keptLayersAtDepth(schedule, depth);
                assert.equal(kept.length, depth, `${strategy} depth ${depth}`);
                assert.equal(kept[0], 0);
                assert.equal(kept[kept.length - 1], 11);
            }
        }
    });
});

describe("paper strategy", () => {
    it("implements keep = int(L/r), interval = int(L/(keep-1))", () => {
        assert.deepEqual(paperKeptLayersForRatio(32, 2), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 31]);
        assert.deepEqual(paperKeptLayersForRatio(24, 3), [0, 3, 6, 9, 12, 15, 18, 23]);
        assert.deepEqual(
            paperKeptLayersForRatio(24, 1),
            Array.from({length: 24}, (_, i) => i)
        );
        assert.deepEqual(paperKeptLayersForRatio(24, 100), [0, 23], "never fewer than 2 layers");
    });

    it("keeps exactly depth distinct layers at every depth", () => {
        for (let layerCount = 2; layerCount <= 64; layerCount++)
            for (let depth = 2; depth <= layerCount; depth++)
                assert.equal(new Set(paperKeptLayersAtDepth(layerCount, depth)).size, depth, `L=${layerCount} k=${depth}`);
    });

    it("is not nested: a faster depth can run a layer the slower one skipped", () => {
        const slower = paperKeptLayersAtDepth(32, 12); // interval 2: 0, 2, …, 20, 31
        const faster = paperKeptLayersAtDepth(32, 11); // interval 3: 0, 3, …, 27, 31
        assert.ok(faster.some((layer) => !slower.includes(layer)));
        assert.equal(buildSchedule({layerCount: 32}, {strategy: "paper"}).removalOrder, null);
    });
});

describe("calibrated strategy", () => {
    it("accepts a permutation of 1..L-2", () => {
        const schedule = buildSchedule({layerCount: 6}, {strategy: "calibrated", calibratedOrder: [4, 1, 3, 2]});
        assert.deepEqual(keptLayersAtDepth(schedule, 4), [0, 2, 3, 5]);
    });

    it("refuses orders that are not a permutation of the interior layers, saying what is wrong", () => {
        assert.throws(
            () => validateCalibratedOrder([1, 2, 3], 6),
            (e: unknown) => e instanceof InvalidRemovalOrderError && /missing 4/.test(e.message)
        );
        assert.throws(
            () => validateCalibratedOrder([1, 2, 2, 3], 6),
            (e: unknown) => e instanceof InvalidRemovalOrderError && /appears twice/.test(e.message)
        );
        assert.throws(
            () => validateCalibratedOrder([0, 1, 2, 3], 6),
            (e: unknown) => e instanceof InvalidRemovalOrderError && /first and last layer always run/.test(e.message)
        );
        assert.throws(() => validateCalibratedOrder([1, 2, 3, 5], 6), InvalidRemovalOrderError);
        assert.throws(() => validateCalibratedOrder([1, 2.5, 3, 4], 6), InvalidRemovalOrderError);
        assert.throws(
            () => buildSchedule({layerCount: 6}, {strategy: "calibrated"}),
            (e: unknown) => e instanceof InvalidRemovalOrderError && /pass calibratedOrder/.test(e.message)
        );
    });
});

describe("strategy names and depths", () => {
    it("parses names case-insensitively and refuses unknown ones with the list", () => {
        assert.equal(parseStrategyName(" Even "), "even");
        assert.throws(
            () => parseStrategyName("random"),
            (e: unknown) => e instanceof UnknownStrategyError && /even, paper, top, bottom, middle, calibrated/.test(e.message)
        );
        assert.throws(() => buildSchedule({layerCount: 8}, {strategy: "nope"}), UnknownStrategyError);
    });

    it("refuses depths outside minDepth..L", () => {
        const schedule = buildSchedule({layerCount: 8});
        assert.deepEqual(reachableDepths(schedule), [2, 3, 4, 5, 6, 7, 8]);
        for (const depth of [1, 9, 2.5, Number.NaN])
            assert.throws(
                () => keptLayersAtDepth(schedule, depth),
                (e: unknown) => e instanceof UnreachableDepthError && /from 2 to 8/.test(e.message)
            );
    });

    it("handles models too small to skip anything", () => {
        for (const layerCount of [1, 2]) {
            const schedule = buildSchedule({layerCount});
            assert.deepEqual(reachableDepths(schedule), [layerCount]);
            assert.equal(keptLayersAtDepth(schedule, layerCount).length, layerCount);
        }
    });
});
