import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {
    InvalidModelShapeError,
    STRATEGY_NAMES,
    UnreachableDepthError,
    buildSchedule,
    keptLayersAtDepth,
    paperKeptLayersForRatio,
    planForSpeed,
    reachableDepths,
    uniformCostModel,
    type ModelShape
} from "../../engine/plan/index.js";

/** gemma3's stock pattern: every 6th layer (1-based) is global (full) attention, the rest sliding-window. */
function gemma3Like(layerCount: number): ModelShape {
    return {layerCount, attentionTypes: Array.from({length: layerCount}, (_, layer) => (layer % 6 === 5 ? "full" : "swa"))};
}

function typesKept(shape: ModelShape, kept: readonly number[]): Set<string> {
    return new Set(kept.map((layer) => shape.attentionTypes?.[layer] ?? ""));
}

describe("attention-type constraint (iSWA)", () => {
    const gemma3 = gemma3Like(26); // full attention at 5, 11, 17, 23; both ends are sliding-window

    it("a naive spacing at 3x drops every global layer of a 26-layer gemma3-like model", () => {
        const naive = paperKeptLayersForRatio(26, 3);
        assert.deepEqual(naive, [0, 3, 6, 9, 12, 15, 18, 25]);
        assert.deepEqual(typesKept(gemma3, naive), new Set(["swa"]));
    });

    it("every strategy keeps at least one layer of each type at every reachable depth", () => {
        for (const strategy of STRATEGY_NAMES) {
            const calibratedOrder =
                strategy === "calibrated" ? [5, 11, 17, 23, ...Array.from({length: 24}, (_, i) => i + 1).filter((l) => l % 6 !== 5)] : undefined;
            const schedule = buildSchedule(gemma3, {strategy, calibratedOrder});
            assert.equal(schedule.minDepth, 3, `${strategy}: one global must stay besides the two ends`);
            for (const depth of reachableDepths(schedule)) {
                const kept = keptLayersAtDepth(schedule, depth);
                assert.equal(kept.length, depth, `${strategy} depth ${depth}`);
                assert.deepEqual(typesKept(gemma3, kept), new Set(["swa", "full"]), `${strategy} depth ${depth}: ${kept.join(",")}`);
            }
        }
    });

    it("the planner at 3x and at Max keeps a global layer", () => {
        const input = {model: gemma3, costModel: uniformCostModel(26, 0.15)};
        for (const strategy of ["even", "paper"] as const) {
            for (const speed of [3, "Max"] as const) {
                const plan = planForSpeed({...input, strategy}, speed);
                assert.ok(
                    plan.keptLayers.some((layer) => layer % 6 === 5),
                    `${strategy} ${speed}: ${plan.keptLayers.join(",")}`
                );
            }
        }
    });

    it("skips over the last layer of a type in the order and keeps it for good (nested strategies)", () => {
        // "top" removes 24, 23, 22, …: 23 is removed while 17, 11, 5 remain, and 5 becomes the protected one
        const schedule = buildSchedule(gemma3, {strategy: "top"});
        assert.deepEqual(schedule.protectedLayers, [5]);
        assert.deepEqual(keptLayersAtDepth(schedule, 3), [0, 5, 25]);
        // nesting survives the skip-over
        for (let depth = 3; depth < 26; depth++) {
            const slower = keptLayersAtDepth(schedule, depth + 1);
            assert.ok(keptLayersAtDepth(schedule, depth).every((layer) => slower.includes(layer)));
        }
    });

    it("needs no protection when the ends already cover both types (gemma2: alternating, even layer count)", () => {
        const gemma2: ModelShape = {layerCount: 26, attentionTypes: Array.from({length: 26}, (_, l) => (l % 2 === 0 ? "sliding" : "full"))};
        const schedule = buildSchedule(gemma2);
        assert.equal(schedule.minDepth, 2);
        assert.deepEqual(schedule.protectedLayers, []);
    });

    it("refuses depths below what the types allow", () => {
        assert.throws(
            () => keptLayersAtDepth(buildSchedule(gemma3), 2),
            (e: unknown) => e instanceof UnreachableDepthError && /from 3 to 26/.test(e.message)
        );
    });

    it("refuses a type list of the wrong length", () => {
        assert.throws(
            () => buildSchedule({layerCount: 4, attentionTypes: ["swa", "full"]}),
            (e: unknown) => e instanceof InvalidModelShapeError && /one per layer/.test(e.message)
        );
        assert.throws(() => buildSchedule({layerCount: 0}), InvalidModelShapeError);
    });
});
