// A request's answer is exactly what a fresh replay of that request under its own policy gives, whatever
// the cache held before: a reused prefix must have been computed under the mask the request's prompt
// runs with. Under prefill "skip" (and for inline completions, whose prompt runs at their own level), a
// prefix computed at a slower level is evaluated again at the faster one instead of being kept.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import type {LlamaModel} from "node-llama-cpp";
import {Generator, type GenerateRequest, type PrefillPolicy} from "../../engine/generation/generator.js";
import {SkipAwareCache} from "../../engine/skip-aware-cache.js";
import {testFixtureFor} from "../fixtures/fixture-models.js";
import {maskOf, openContext, patchedLlama, range} from "../native/harness.js";

const fixture = testFixtureFor("llama");
// batches below 64 tokens keep llama.cpp on one kernel path (see kv-consistency.test.ts)
const batchSize = 32;
const quality = maskOf(fixture.layerCount, []);
const faster = maskOf(fixture.layerCount, [1, 3, 5, 6]);

describe("a reused prefix gives the answer a fresh run gives", () => {
    let model: LlamaModel;
    before(async () => {
        model = await (await patchedLlama()).loadModel({modelPath: fixture.path});
    });
    after(async () => await model.dispose());

    async function withGenerator<T>(
        prefill: PrefillPolicy,
        run: (generate: (request: GenerateRequest, mask: Uint8Array) => ReturnType<Generator["generate"]>) => Promise<T>
    ) {
        const cache = new SkipAwareCache(await openContext(model, 1, batchSize));
        let mask = quality;
        const generator = new Generator({model, cache, currentMask: () => mask, prefill: () => prefill});
        try {
            return await run((request, requestMask) => {
                mask = requestMask;
                return generator.generate(request);
            });
        } finally {
            await cache.context.dispose();
        }
    }

    const firstPrompt = range(40).map((i) => 3 + ((i * 37) % 400));
    const greedy = {maxTokens: 16, stopAtEndOfGeneration: false, temperature: 0} as const;

    for (const prefill of ["skip", "full"] as const)
        test(`prefill ${prefill}: a follow-up at a faster level after an answer at Quality equals a fresh run of the follow-up`, async () => {
            const {followUp, live} = await withGenerator(prefill, async (generate) => {
                const first = await generate({promptTokens: firstPrompt, ...greedy}, quality);
                const followUp = [...firstPrompt, ...first.tokens, ...range(8).map((i) => 11 + i * 5)];
                const live = await generate({promptTokens: followUp, ...greedy}, faster);
                return {followUp, live};
            });
            const fresh = await withGenerator(prefill, (generate) => generate({promptTokens: followUp, ...greedy}, faster));
            assert.deepEqual(live.tokens, fresh.tokens);
            // under "skip" nothing computed through more layers than the follow-up's prompt runs is kept; under
            // "full" the prompt runs through every layer, as the first prompt and answer (at Quality) did, so all
            // of it is reused but the answer's last token, which was never evaluated
            assert.equal(live.timings.reusedPromptTokens, prefill === "skip" ? 0 : firstPrompt.length + greedy.maxTokens - 1);
        });

    test("prefill skip: at the same level the prefix is reused, and the answer still equals a fresh run", async () => {
        const {followUp, live} = await withGenerator("skip", async (generate) => {
            const first = await generate({promptTokens: firstPrompt, ...greedy}, faster);
            const followUp = [...firstPrompt, ...first.tokens, ...range(8).map((i) => 11 + i * 5)];
            const live = await generate({promptTokens: followUp, ...greedy}, faster);
            return {followUp, live};
        });
        const fresh = await withGenerator("skip", (generate) => generate({promptTokens: followUp, ...greedy}, faster));
        assert.deepEqual(live.tokens, fresh.tokens);
        assert.ok(live.timings.reusedPromptTokens >= firstPrompt.length, `reused ${live.timings.reusedPromptTokens}`);
    });

    test("a completion-like request at its own faster mask, after one at Quality on the same text, equals a fresh run", async () => {
        const {live} = await withGenerator("full", async (generate) => {
            await generate({promptTokens: firstPrompt, ...greedy, skipMask: quality, prefill: "skip"}, quality);
            const live = await generate({promptTokens: firstPrompt, ...greedy, skipMask: faster, prefill: "skip"}, quality);
            return {live};
        });
        const fresh = await withGenerator("full", (generate) => generate({promptTokens: firstPrompt, ...greedy, skipMask: faster, prefill: "skip"}, quality));
        assert.deepEqual(live.tokens, fresh.tokens);
        assert.equal(live.timings.reusedPromptTokens, 0);
    });
});
