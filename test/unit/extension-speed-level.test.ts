// The speed levels as the status bar and its quick pick show them, and the mapping between the panel's
// depths and the setting's level names.
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import type {LosslessInfo, PlanInfo, SpeedLevelName} from "../../common/engine-protocol.js";
import {
    formatRatio,
    LOAD_A_MODEL_TO_SEE,
    levelForDepth,
    levelPickRows,
    levelRatioText,
    losslessLine,
    nominalSpeedup,
    statusBarText,
    statusTooltipLines
} from "../../extension/speed-level.js";

function plan(kept: number, layerCount: number, predicted: number, overrides: Partial<PlanInfo> = {}): PlanInfo {
    const keptLayers = Array.from({length: kept}, (_, index) => index);
    return {
        layerCount,
        depth: kept,
        keptLayers,
        skippedLayers: Array.from({length: layerCount - kept}, (_, index) => kept + index),
        strategy: "even",
        requestedSpeedup: predicted,
        targetSpeedup: predicted,
        predictedSpeedup: predicted,
        maxSpeedup: 2.21,
        message: null,
        ...overrides
    };
}

const previews = new Map<SpeedLevelName, PlanInfo>([
    ["Quality", plan(28, 28, 1)],
    [
        "Lossless",
        plan(28, 28, 1.31, {
            lossless: {mode: "draft", draftDepth: 20, draftLength: 4, acceptanceRate: 0.8, predictedSpeedup: 1.31, depths: []}
        })
    ],
    ["Balanced", plan(22, 28, 1.24)],
    ["Fast", plan(18, 28, 1.49)],
    ["Faster", plan(13, 28, 1.98)],
    ["Max", plan(12, 28, 2.21)]
]);

describe("level ratios", () => {
    test("each named level maps to its nominal ratio; Max has none of its own", () => {
        assert.equal(nominalSpeedup("Quality"), 1);
        assert.equal(nominalSpeedup("Balanced"), 1.25);
        assert.equal(nominalSpeedup("Fast"), 1.5);
        assert.equal(nominalSpeedup("Faster"), 2);
        assert.equal(nominalSpeedup("Max"), undefined);
        assert.equal(nominalSpeedup("Lossless"), undefined);
    });

    test("Lossless shows its drafter's predicted speedup, or 'lossless' without a model", () => {
        assert.equal(levelRatioText("Lossless"), "lossless");
        assert.equal(levelRatioText("Lossless", previews.get("Lossless")), "lossless 1.31x");
    });

    test("ratios print without trailing zeros, at most two decimals", () => {
        assert.equal(formatRatio(1), "1x");
        assert.equal(formatRatio(1.25), "1.25x");
        assert.equal(formatRatio(1.5), "1.5x");
        assert.equal(formatRatio(2), "2x");
        assert.equal(formatRatio(2.2149), "2.21x");
    });

    test("Max shows the loaded model's maximum, or 'max' without a model", () => {
        assert.equal(levelRatioText("Max"), "max");
        assert.equal(levelRatioText("Max", plan(12, 28, 2.21)), "2.21x");
        assert.equal(levelRatioText("Fast", plan(12, 28, 2.21)), "1.5x");
    });
});

describe("status bar", () => {
    test("the text is $(dashboard) and the level's ratio", () => {
        assert.equal(statusBarText("Quality"), "$(dashboard) 1x");
        assert.equal(statusBarText("Fast"), "$(dashboard) 1.5x");
        assert.equal(statusBarText("Fast", previews.get("Fast")), "$(dashboard) 1.5x");
        assert.equal(statusBarText("Max", previews.get("Max")), "$(dashboard) 2.21x");
        assert.equal(statusBarText("Quality", undefined, 1.37), "$(dashboard) 1.37x");
    });

    test("the tooltip names the level, the layers and, after a run, what it achieved", () => {
        assert.deepEqual(statusTooltipLines("Balanced", undefined, undefined), [
            "Layer Dial speed: Balanced (1.25x)",
            `Layers: ${LOAD_A_MODEL_TO_SEE}`,
            "Click to change the speed level"
        ]);
        const lines = statusTooltipLines("Fast", previews.get("Fast"), {
            tokens: 64,
            stats: {
                promptTokens: 10,
                reusedPromptTokens: 0,
                generatedTokens: 64,
                recomputedTokens: 0,
                promptTokensPerSecond: 300,
                decodeTokensPerSecond: 41.25,
                keptLayers: 18,
                layerCount: 28,
                targetSpeedup: 1.5,
                predictedSpeedup: 1.49,
                achievedSpeedup: 1.463,
                batch: 1,
                compute: "cpu"
            }
        });
        assert.equal(lines[1], "Layers: 18/28 kept · predicted 1.49x");
        assert.equal(lines[2], "Last run: achieved 1.46x · 41.3 tokens/s · 64 tokens");
    });

    test("once a request has run, the tooltip adds the prediction at that request's context", () => {
        const fast = previews.get("Fast")!;
        const lines = statusTooltipLines("Fast", {...fast, atContext: {contextTokens: 1480, predictedSpeedup: 1.734}}, undefined);
        assert.equal(lines[1], `Layers: 18/28 kept · predicted ${formatRatio(fast.predictedSpeedup)}`);
        assert.equal(lines[2], "At 1,480 tokens of context (the last request's): predicted 1.73x");
        assert.equal(
            statusTooltipLines("Fast", fast, undefined).some((line) => line.startsWith("At ")),
            false
        );
    });

    test("a run without an achieved speedup shows — and, on a line of its own, why", () => {
        const lines = statusTooltipLines("Quality", previews.get("Quality"), {
            tokens: 64,
            stats: {
                promptTokens: 10,
                reusedPromptTokens: 0,
                generatedTokens: 64,
                recomputedTokens: 0,
                promptTokensPerSecond: 300,
                decodeTokensPerSecond: 114.2,
                keptLayers: 28,
                layerCount: 28,
                targetSpeedup: 1,
                predictedSpeedup: 1,
                achievedSpeedup: null,
                whyNoAchievedSpeedup: "4 requests decoded side by side (batch 4), and the 1x speed is measured at batch 1",
                batch: 4,
                compute: "cpu"
            }
        });
        assert.equal(lines[2], "Last run: achieved — · 114.2 tokens/s · 64 tokens");
        assert.equal(lines[3], "No achieved speedup: 4 requests decoded side by side (batch 4), and the 1x speed is measured at batch 1");
    });

    test("with a model loaded, the tooltip says where it runs", () => {
        const lines = statusTooltipLines("Fast", previews.get("Fast"), undefined, undefined, "CUDA · NVIDIA H200 · 29/29 layers offloaded");
        assert.equal(lines[2], "Runs on: CUDA · NVIDIA H200 · 29/29 layers offloaded");
    });
});

describe("the Lossless level in the tooltip", () => {
    test("says what the drafter does: drafting (with its choice and acceptance), not paying, or still measuring", () => {
        const lines = statusTooltipLines("Lossless", previews.get("Lossless"), undefined);
        assert.equal(lines[2], "Lossless: drafts 4 tokens with 20/28 layers · 80% accepted · predicted 1.31x");
        const plain: LosslessInfo = {mode: "plain", draftDepth: 20, draftLength: 1, acceptanceRate: 0.4, predictedSpeedup: 1, depths: []};
        assert.match(losslessLine(plain, 28), /does not pay on this machine/);
        assert.match(losslessLine({...plain, mode: "learning"}, 28), /measures how often/);
        assert.equal(statusTooltipLines("Quality", previews.get("Quality"), undefined).length, 3, "no Lossless line at other levels");
    });
});

describe("quick pick rows", () => {
    test("without a model: every level, labelled by name, saying to load a model", () => {
        const rows = levelPickRows("Fast");
        assert.deepEqual(
            rows.map((row) => row.label),
            ["Quality", "Lossless", "Balanced", "Fast", "Faster", "Max"]
        );
        assert.deepEqual(
            rows.map((row) => row.current),
            [false, false, false, true, false, false]
        );
        for (const row of rows) assert.match(row.description, /load a model to see$/);
        assert.equal(rows[3].description, "1.5x · load a model to see");
    });

    test("with a model: kept/total layers and the predicted speedup", () => {
        const rows = levelPickRows("Quality", previews);
        assert.equal(rows[0].description, "1x · 28/28 layers · predicted 1x");
        assert.equal(rows[1].description, "lossless 1.31x · 28/28 layers · predicted 1.31x");
        assert.equal(rows[3].description, "1.5x · 18/28 layers · predicted 1.49x");
        assert.equal(rows[5].description, "2.21x · 12/28 layers · predicted 2.21x");
        assert.ok(rows.every((row) => row.label.startsWith(row.level)));
    });

    test("a clamped plan's message becomes the row's detail", () => {
        const clamped = new Map(previews);
        clamped.set("Faster", plan(12, 28, 2.21, {message: "2x is above this model's maximum; using 2.21x"}));
        assert.equal(levelPickRows("Quality", clamped)[4].detail, "2x is above this model's maximum; using 2.21x");
    });
});

describe("panel depth to level", () => {
    test("a depth a named level lands on maps to that level; others map to none", () => {
        assert.equal(levelForDepth(18, previews), "Fast");
        assert.equal(levelForDepth(28, previews), "Quality");
        assert.equal(levelForDepth(20, previews), undefined);
    });

    test("when two levels land on one depth, the slower name wins (the setting keeps the user's intent)", () => {
        const same = new Map(previews);
        same.set("Faster", plan(12, 28, 2.21));
        assert.equal(levelForDepth(12, same), "Faster");
    });
});
