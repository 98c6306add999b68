// After any sequence of dial changes, new turns and cancellations, a sequence's logits equal those of a
// fresh evaluation of the same tokens under the same masks: no layer reads KV it never wrote, and the
// same history of masks gives the same answer. (Across requests, a prefix is reused only where it was
// computed under the new prompt's mask: test/engine/reuse-exactness.test.ts.)
import assert from "node:assert/strict";
import {test} from "node:test";
import {seededRandom} from "../../engine/generation/sampler.js";
import {SkipAwareCache} from "../../engine/skip-aware-cache.js";
import {testFixtureFor} from "../fixtures/fixture-models.js";
import {maskOf, maxAbsDifference, openContext, patchedLlama} from "../native/harness.js";

const fixture = testFixtureFor("llama");
// llama.cpp multiplies batches of 64 tokens or more through another kernel path, whose results differ in
// the third decimal from token-by-token ones; batches below that keep both sides on one path, so any
// difference left is the cache's
const batchSize = 32;
const dialMasks = [[], [3], [2, 5], [1, 3, 5], [1, 2, 4, 5, 6]].map((skipped) => maskOf(fixture.layerCount, skipped));
const noSkip = maskOf(fixture.layerCount, []);

for (const prefill of ["full", "skip"] as const) {
    test(`prefill ${prefill}: logits after random dial changes, turns and cancellations equal a fresh evaluation`, async () => {
        const llama = await patchedLlama();
        const model = await llama.loadModel({modelPath: fixture.path});
        const live = new SkipAwareCache(await openContext(model, 2, batchSize));
        const fresh = new SkipAwareCache(await openContext(model, 1, batchSize));
        const next = seededRandom(prefill === "full" ? 7 : 11);
        const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
        let dial = dialMasks[0];
        let checks = 0;
        let recomputed = 0;
        try {
            for (let operation = 0; operation < 40; operation++) {
                const sequenceId = next() < 0.7 ? 0 : 1;
                const ledger = live.ledger(sequenceId);
                const choice = next();
                let result;
                if (choice < 0.25) dial = pick(dialMasks);
                if (choice < 0.4 || ledger.length === 0) {
                    // a new turn: some prompt tokens, through all layers under "full", through the dial under "skip"
                    const prompt = Array.from({length: 2 + Math.floor(next() * 5)}, () => 3 + Math.floor(next() * 200));
                    [result] = await live.evaluate(prefill === "full" ? noSkip : dial, [{sequenceId, tokens: prompt}]);
                } else if (choice < 0.5 && ledger.length > 3) {
                    // a cancelled request leaves a shorter sequence; the next step continues from there
                    await live.truncate(sequenceId, ledger.length - 1 - Math.floor(next() * 3));
                    [result] = await live.evaluate(dial, [{sequenceId, tokens: [5 + Math.floor(next() * 100)]}]);
                } else {
                    // decode steps: both sequences in one batch when both have tokens
                    const items = [{sequenceId, tokens: [7 + Math.floor(next() * 100)]}];
                    const other = 1 - sequenceId;
                    if (live.ledger(other).length > 0) items.push({sequenceId: other, tokens: [9 + Math.floor(next() * 100)]});
                    [result] = await live.evaluate(dial, items);
                }
                recomputed += result.recomputed;

                // the reference: replay this sequence's ledger, segment by segment, on a context that saw nothing else
                await fresh.clear(0);
                const segments = live.ledger(sequenceId).segments();
                let reference: Float32Array | undefined;
                for (const segment of segments)
                    [
                        {
                            logits: [reference]
                        }
                    ] = await fresh.evaluate(segment.mask, [{sequenceId: 0, tokens: segment.tokens}]);
                const delta = maxAbsDifference(result.logits[0], reference!);
                assert.ok(delta <= 1e-5, `operation ${operation}: logits differ from a fresh evaluation by ${delta}`);
                checks++;
            }
            assert.ok(recomputed > 0, "the random walk should have turned the dial back at least once");
            console.log(`prefill ${prefill}: ${checks} checks, ${recomputed} positions recomputed`);
        } finally {
            await live.context.dispose();
            await fresh.context.dispose();
            await model.dispose();
        }
    });
}

test("without the ledger's recomputation, the answer would depend on the cache's history", async () => {
    // guards the test above: a dial turned back to quality really does read unwritten KV cells
    const llama = await patchedLlama();
    const model = await llama.loadModel({modelPath: fixture.path});
    const context = await openContext(model, 1);
    try {
        const prompt = [11, 12, 13, 14, 15];
        await context.decode([{sequenceId: 0, firstPosition: 0, tokens: prompt}]);
        await context.setLayerSkip(dialMasks[3]);
        await context.decode([{sequenceId: 0, firstPosition: 5, tokens: [16, 17]}]);
        await context.setLayerSkip(noSkip);
        const [[stale]] = await context.decode([{sequenceId: 0, firstPosition: 7, tokens: [18]}]);

        await context.removeTokens(0, 0);
        const [[honest]] = await context.decode([{sequenceId: 0, firstPosition: 0, tokens: [...prompt, 16, 17, 18]}]);
        assert.ok(maxAbsDifference(stale, honest) > 1e-3);
    } finally {
        await context.dispose();
        await model.dispose();
    }
});
