// A sampling temperature's readout (native/patches/addon/08) returns only the tokens of a row that the
// sampler can pick, (logit - max) / temperature ≥ -25, with their logits, found natively. Sampled
// generation reads only these, so they must be exactly what a JS scan of the whole row keeps, and the
// sampler must draw the same tokens from them as from the row.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import type {LlamaModel} from "node-llama-cpp";
import {Generator} from "../../engine/generation/generator.js";
import {TokenSampler} from "../../engine/generation/sampler.js";
import type {LayerSkipContext} from "../../engine/native/skip-context.js";
import {SkipAwareCache} from "../../engine/skip-aware-cache.js";
import {benchShapeFixture, ensureFixture} from "../fixtures/fixture-models.js";
import {maskOf, openContext, patchedLlama, range, withOneOutputRow} from "./harness.js";

const storiesPath = new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;

/** what the sampler's own scan of a whole row keeps at `temperature`, in token order */
function scanOfRow(row: Float32Array, temperature: number): {tokens: number[]; logits: number[]} {
    let max = -Infinity;
    for (const logit of row) max = Math.max(max, logit);
    const tokens = range(row.length).filter((token) => !((row[token] - max) / temperature < -25));
    return {tokens, logits: tokens.map((token) => row[token])};
}

// a trained 512-token vocabulary (few candidates at a low temperature), and a random 32000-token one,
// whose flat rows keep thousands
for (const which of ["stories260K", "a random 2x128 llama"] as const) {
    describe(`sampling candidates, ${which}`, () => {
        let model: LlamaModel;
        let context: LayerSkipContext;

        before(async () => {
            let modelPath = storiesPath;
            if (which !== "stories260K") {
                const fixture = benchShapeFixture("2x128");
                await ensureFixture(fixture);
                modelPath = fixture.path;
            }
            model = await (await patchedLlama()).loadModel({modelPath});
            context = await openContext(model, 2);
        });
        after(async () => {
            await context.dispose();
            await model.dispose();
        });

        const prompt = range(32).map((i) => 3 + ((i * 37) % 500));

        for (const skipped of [[], [1]]) {
            test(`are exactly the row's tokens a JS scan keeps, at 0.2, 0.8 and 1.5, skipping layers [${skipped.join(", ")}]`, async () => {
                await context.setLayerSkip(maskOf(context.layerCount, skipped));
                // every row of the small vocabulary; six of the large one (deepEqual of 32000-entry rows is slow)
                const rows = which === "stories260K" ? range(prompt.length) : range(6).map((i) => prompt.length - 1 - i * 5);
                await context.removeTokens(0, 0);
                const [{logits}] = await context.decodeReadouts([{sequenceId: 0, firstPosition: 0, tokens: prompt, logitIndexes: rows, readout: "logits"}]);
                const counts: number[] = [];
                for (const temperature of [0.2, 0.8, 1.5]) {
                    await context.removeTokens(0, 0);
                    const [output] = await context.decodeReadouts([
                        {sequenceId: 0, firstPosition: 0, tokens: prompt, logitIndexes: rows, readout: {samplingTemperature: temperature}}
                    ]);
                    assert.deepEqual(output.logits, []);
                    assert.equal(output.candidates.length, rows.length);
                    output.candidates.forEach((candidates, row) => {
                        const expected = scanOfRow(logits[row], temperature);
                        assert.deepEqual([...candidates.tokens], expected.tokens, `row ${row} at ${temperature}: tokens`);
                        assert.deepEqual([...candidates.logits], expected.logits, `row ${row} at ${temperature}: logits`);
                        // and the sampler draws from the same distribution, so a seed gives the same tokens
                        const sampler = new TokenSampler({temperature, seed: 11});
                        assert.deepEqual(sampler.distribution(candidates), sampler.distribution(logits[row]));
                        counts.push(candidates.tokens.length);
                    });
                }
                // not a trivial comparison: rows keep more than one token; the trained model's keep fewer than
                // its whole vocabulary (the random model's rows are so flat that they may keep all of it)
                assert.ok(Math.max(...counts) > 1, `candidates per row: ${Math.min(...counts)}..${Math.max(...counts)}`);
                if (which === "stories260K") assert.ok(Math.min(...counts) < logits[0].length);
            });
        }

        test("a temperature of 0 or none is a TypeError; a row that was not an output a RangeError", async () => {
            await withOneOutputRow(model, prompt.slice(0, 8), (addon, row) => {
                assert.ok(addon.getSamplingCandidates(row, 1).tokens.length > 0);
                assert.throws(() => addon.getSamplingCandidates(row, 0), TypeError);
                assert.throws(() => addon.getSamplingCandidates(row, -1), TypeError);
                assert.throws(() => (addon.getSamplingCandidates as (row: number) => unknown)(row), TypeError);
                assert.throws(() => addon.getSamplingCandidates(row + 5, 1), RangeError);
            });
        });
    });
}

describe("sampled generation", () => {
    test("emits the tokens a step-by-step loop sampling the whole row with the same seed gives", async () => {
        const model = await (await patchedLlama()).loadModel({modelPath: storiesPath});
        const context = await openContext(model, 2);
        try {
            const prompt = range(16).map((i) => 3 + ((i * 37) % 500));
            const mask = maskOf(context.layerCount, [2]);
            const generator = new Generator({model, cache: new SkipAwareCache(context), currentMask: () => mask, prefill: () => "full"});
            const output = await generator.generate({promptTokens: prompt, maxTokens: 32, temperature: 0.9, seed: 5, stopAtEndOfGeneration: false});

            // the same steps by hand on the other sequence: prompt through every layer, then decode under the mask
            const sampler = new TokenSampler({temperature: 0.9, seed: 5});
            await context.setLayerSkip(new Uint8Array(context.layerCount));
            const [[promptRow]] = await context.decode([{sequenceId: 1, firstPosition: 0, tokens: prompt}]);
            const expected = [sampler.sample(promptRow)];
            await context.setLayerSkip(mask);
            while (expected.length < 32) {
                const [[row]] = await context.decode([{sequenceId: 1, firstPosition: 15 + expected.length, tokens: [expected.at(-1)!]}]);
                expected.push(sampler.sample(row));
            }
            assert.deepEqual(output.tokens, expected);
            // a draw, not a greedy run in disguise: the sampled answer leaves the argmax path somewhere
            assert.ok(new Set(expected).size > 4);
        } finally {
            await context.dispose();
            await model.dispose();
        }
    });
});
