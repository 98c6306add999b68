// TeacherForcedScorer against a fake decoder whose logits depend on the mask in a known way.
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import type {DecodeItem} from "../../engine/native/skip-context.js";
import {buildSchedule, skipMaskKeeping, uniformCostModel} from "../../engine/plan/index.js";
import {
    QualityMeasurementCancelledError,
    TeacherForcedScorer,
    measureScheduleQuality,
    prepareTeacherForcedText,
    type SkipDecoder,
    type TextTokenizer
} from "../../engine/quality/index.js";

const VOCAB = 6;
const BOS = 5;

/** The full model predicts token (t+1) mod 5 after t; every skipped layer pulls probability towards (t+2) mod 5. */
class FakeDecoder implements SkipDecoder {
    readonly contextSize = 32;
    mask: Uint8Array;
    decodes: {tokens: number[]; mask: number[]}[] = [];
    removals = 0;
    constructor(readonly layerCount: number) {
        this.mask = new Uint8Array(layerCount);
    }
    async setLayerSkip(mask: Uint8Array): Promise<void> {
        this.mask = Uint8Array.from(mask);
    }
    async decode(items: readonly DecodeItem[]): Promise<Float32Array[][]> {
        const skipped = this.mask.reduce((sum, value) => sum + value, 0);
        return items.map((item) => {
            this.decodes.push({tokens: [...item.tokens], mask: [...this.mask]});
            return (item.logitIndexes ?? [item.tokens.length - 1]).map((index) => {
                const token = item.tokens[index];
                const logits = new Float32Array(VOCAB);
                logits[(token + 1) % 5] = 4;
                logits[(token + 2) % 5] = 1.5 * skipped;
                return logits;
            });
        });
    }
    async removeTokens(): Promise<void> {
        this.removals++;
    }
}

const tokenizer: TextTokenizer = {
    tokenize: (text) => [...text].map((char) => Number(char)),
    detokenize: (tokens) => tokens.join(""),
    bos: BOS
};
// a text the full model predicts perfectly after its first token: 0 1 2 3 4 0 1 ...
const text = Array.from({length: 70}, (_, i) => i % 5).join("");

describe("teacher-forced scorer", () => {
    it("scores the full model as perfect agreement and a skipped one by how far it drifts", async () => {
        const decoder = new FakeDecoder(4);
        const prepared = prepareTeacherForcedText(tokenizer, text, {windowTokens: 16, contextTokens: 4});
        const scorer = await TeacherForcedScorer.create(decoder, prepared);
        assert.equal(scorer.fullModel.top1Agreement, 1);
        assert.equal(scorer.fullModel.meanKl, 0);
        assert.equal(scorer.fullModel.positions, 70);

        const unchanged = await scorer.score(new Uint8Array(4));
        assert.equal(unchanged.top1Agreement, 1);
        assert.ok(unchanged.meanKl < 1e-9);
        const one = await scorer.score(Uint8Array.from([0, 1, 0, 0]));
        const two = await scorer.score(Uint8Array.from([0, 1, 1, 0]));
        // one or two skipped layers (logit 1.5, 3) stay below the full model's 4: the top token holds, KL grows
        assert.equal(one.top1Agreement, 1);
        assert.ok(one.meanKl > 0 && two.meanKl > one.meanKl);
        assert.ok(two.bitsPerByte > one.bitsPerByte && one.bitsPerByte > scorer.fullModel.bitsPerByte);
        const three = await scorer.score(Uint8Array.from([0, 1, 1, 1]));
        // 4.5 > 4: the skipped model now prefers another token everywhere but after BOS
        assert.ok(three.top1Agreement < 0.05, `${three.top1Agreement}`);
        assert.equal(scorer.evaluations, 4);
    });

    it("decodes every window whole from position 0 and clears it afterwards, full and skipped alike", async () => {
        const decoder = new FakeDecoder(4);
        const prepared = prepareTeacherForcedText(tokenizer, text, {windowTokens: 16, contextTokens: 4});
        const scorer = await TeacherForcedScorer.create(decoder, prepared);
        await scorer.score(Uint8Array.from([0, 1, 0, 0]));
        const windows = prepared.plan.windows.length;
        assert.equal(decoder.decodes.length, 2 * windows);
        assert.equal(decoder.removals, 2 * windows);
        // the same token windows go in for the reference and the skipped run: only the mask differs
        assert.deepEqual(
            decoder.decodes.slice(windows).map((call) => call.tokens),
            decoder.decodes.slice(0, windows).map((call) => call.tokens)
        );
        assert.ok(decoder.decodes.slice(0, windows).every((call) => call.mask.every((value) => value === 0)));
        assert.ok(decoder.decodes.slice(windows).every((call) => call.mask[1] === 1));
    });

    it("gives the same scores when the reference does not fit in memory and is recomputed per window", async () => {
        const prepared = prepareTeacherForcedText(tokenizer, text, {windowTokens: 16, contextTokens: 4});
        const mask = Uint8Array.from([0, 1, 1, 0]);
        const kept = await (await TeacherForcedScorer.create(new FakeDecoder(4), prepared)).score(mask);
        const decoder = new FakeDecoder(4);
        const recomputing = await TeacherForcedScorer.create(decoder, prepared, {referenceMemoryBytes: 0});
        assert.deepEqual(await recomputing.score(mask), kept);
        assert.equal(decoder.decodes.length, 3 * prepared.plan.windows.length);
    });

    it("refuses windows larger than the context and masks of the wrong length", async () => {
        const prepared = prepareTeacherForcedText(tokenizer, text, {windowTokens: 64, contextTokens: 4});
        await assert.rejects(TeacherForcedScorer.create(new FakeDecoder(4), prepared), {name: "InvalidWindowingError"});
        const scorer = await TeacherForcedScorer.create(new FakeDecoder(4), prepareTeacherForcedText(tokenizer, text, {windowTokens: 16, contextTokens: 4}));
        await assert.rejects(scorer.score(new Uint8Array(3)), RangeError);
    });

    it("stops between windows when its signal is aborted", async () => {
        const scorer = await TeacherForcedScorer.create(new FakeDecoder(4), prepareTeacherForcedText(tokenizer, text, {windowTokens: 16, contextTokens: 4}));
        const controller = new AbortController();
        controller.abort();
        await assert.rejects(scorer.score(Uint8Array.from([0, 1, 0, 0]), controller.signal), QualityMeasurementCancelledError);
    });

    it("sweeps a schedule's depths with their predicted speedups, taking full depth from the reference", async () => {
        const decoder = new FakeDecoder(6);
        const scorer = await TeacherForcedScorer.create(decoder, prepareTeacherForcedText(tokenizer, text, {windowTokens: 16, contextTokens: 4}));
        const schedule = buildSchedule({layerCount: 6}, {strategy: "even"});
        const seen: number[] = [];
        const rows = await measureScheduleQuality(scorer, schedule, uniformCostModel(6, 0), {onResult: (row) => seen.push(row.depth)});
        assert.deepEqual(
            rows.map((row) => row.depth),
            [6, 5, 4, 3, 2]
        );
        assert.deepEqual(seen, [6, 5, 4, 3, 2]);
        assert.equal(rows[0].meanKl, 0);
        assert.equal(scorer.evaluations, 4);
        rows.forEach((row) => assert.ok(Math.abs(row.predictedSpeedup - 6 / row.depth) < 1e-9));
        for (let i = 1; i < rows.length; i++) assert.ok(rows[i].meanKl > rows[i - 1].meanKl);
        assert.deepEqual([...skipMaskKeeping(6, rows[2].keptLayers)].filter((value) => value === 1).length, 2);
    });
});
