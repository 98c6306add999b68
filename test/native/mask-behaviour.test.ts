// A changed mask takes effect on the very next decode (graph reuse must not hide it), refused masks
// raise JS errors and the process carries on, and a real trained model still writes text.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import type {LlamaModel, Token} from "node-llama-cpp";
import {LayerSkipMaskError, type LayerSkipContext} from "../../engine/native/skip-context.js";
import {testFixtureFor} from "../fixtures/fixture-models.js";
import {argmax, maskOf, maxAbsDifference, openContext, patchedLlama, range} from "./harness.js";

const storiesPath = new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;

describe("a changed mask takes effect on the very next decode", () => {
    let model: LlamaModel;
    before(async () => {
        model = await (await patchedLlama()).loadModel({modelPath: testFixtureFor("llama").path});
    });
    after(async () => await model.dispose());

    /** prompt under `first`, then one decode step under `second`, all single-token steps so the graph could be reused */
    async function stepAfterMaskChange(context: LayerSkipContext, first: Uint8Array, second: Uint8Array, breakReuse: boolean) {
        const prompt = model.tokenize("The quick brown fox", false);
        await context.setLayerSkip(first);
        await context.decode([{sequenceId: 0, firstPosition: 0, tokens: prompt}]);
        await context.decode([{sequenceId: 0, firstPosition: prompt.length, tokens: [prompt[0]]}]);
        if (breakReuse)
            // a batch of another shape in between makes llama.cpp build a fresh graph
            await context.decode([{sequenceId: 1, firstPosition: 0, tokens: prompt.slice(0, 3)}]);
        await context.setLayerSkip(second);
        const [[row]] = await context.decode([{sequenceId: 0, firstPosition: prompt.length + 1, tokens: [prompt[1]]}]);
        return row;
    }

    test("the step after a change equals the same step on a freshly built graph, and differs from the old mask's", async () => {
        const layerCount = testFixtureFor("llama").layerCount;
        const before = maskOf(layerCount, [2]);
        const afterChange = maskOf(layerCount, [2, 4, 5]);
        const contexts = await Promise.all([openContext(model), openContext(model), openContext(model)]);
        try {
            const changed = await stepAfterMaskChange(contexts[0], before, afterChange, false);
            const reference = await stepAfterMaskChange(contexts[1], before, afterChange, true);
            const unchanged = await stepAfterMaskChange(contexts[2], before, before, false);
            assert.equal(maxAbsDifference(changed, reference), 0);
            assert.ok(maxAbsDifference(changed, unchanged) > 1e-3, "the new mask must change the logits");
        } finally {
            await Promise.all(contexts.map((context) => context.dispose()));
        }
    });
});

describe("masks that would break the graph are refused with a JS error", () => {
    test("every layer skipped, wrong lengths, and every layer of one attention type (iSWA)", async () => {
        const llama = await patchedLlama();
        const llamaFixture = testFixtureFor("llama");
        const gemma = testFixtureFor("gemma2");
        const llamaModel = await llama.loadModel({modelPath: llamaFixture.path});
        const gemmaModel = await llama.loadModel({modelPath: gemma.path});
        const llamaContext = await openContext(llamaModel);
        const gemmaContext = await openContext(gemmaModel);
        try {
            await llamaContext.setLayerSkip(maskOf(llamaFixture.layerCount, [1, 2]));
            await assert.rejects(
                llamaContext.setLayerSkip(maskOf(llamaFixture.layerCount, range(llamaFixture.layerCount))),
                (error: Error) => error instanceof LayerSkipMaskError && /skips every layer/.test(error.message)
            );
            await assert.rejects(
                llamaContext.setLayerSkip(new Uint8Array(llamaFixture.layerCount - 1)),
                (error: Error) => error instanceof LayerSkipMaskError && /one entry per model layer/.test(error.message)
            );
            await assert.rejects(llamaContext.setLayerSkip(new Uint8Array(llamaFixture.layerCount + 1)), LayerSkipMaskError);
            // a refused mask leaves the previous one in force
            assert.deepEqual([...llamaContext.getLayerSkip()], [...maskOf(llamaFixture.layerCount, [1, 2])]);

            const slidingLayers = range(gemma.layerCount).filter((layer) => gemma.attentionTypes[layer] !== gemma.attentionTypes[gemma.layerCount - 1]);
            assert.ok(slidingLayers.length > 0 && slidingLayers.length < gemma.layerCount);
            await assert.rejects(
                gemmaContext.setLayerSkip(maskOf(gemma.layerCount, slidingLayers)),
                (error: Error) => error instanceof LayerSkipMaskError && /attention type/.test(error.message)
            );
            await gemmaContext.setLayerSkip(maskOf(gemma.layerCount, slidingLayers.slice(1)));

            // the process and the contexts still work
            const [[row]] = await llamaContext.decode([{sequenceId: 0, firstPosition: 0, tokens: llamaModel.tokenize("still alive", false)}]);
            assert.ok(row.every(Number.isFinite));
            const [[gemmaRow]] = await gemmaContext.decode([{sequenceId: 0, firstPosition: 0, tokens: gemmaModel.tokenize("still alive", false)}]);
            assert.ok(gemmaRow.every(Number.isFinite));
        } finally {
            await llamaContext.dispose();
            await gemmaContext.dispose();
            await llamaModel.dispose();
            await gemmaModel.dispose();
        }
    });
});

describe("a real trained model (stories260K)", () => {
    async function greedy(context: LayerSkipContext, model: LlamaModel, prompt: string, count: number) {
        const tokens = [model.tokens.bos!, ...model.tokenize(prompt, false)];
        await context.removeTokens(0, 0);
        let [[row]] = await context.decode([{sequenceId: 0, firstPosition: 0, tokens}]);
        const generated: Token[] = [];
        for (let i = 0; i < count; i++) {
            generated.push(argmax(row) as Token);
            [[row]] = await context.decode([{sequenceId: 0, firstPosition: tokens.length + i, tokens: [generated[i]]}]);
        }
        return model.detokenize(generated);
    }

    test("writes the known story at 1x and still writes text with layers skipped", async () => {
        const model = await (await patchedLlama()).loadModel({modelPath: storiesPath});
        const context = await openContext(model, 1);
        try {
            const full = await greedy(context, model, "Once upon a time", 12);
            const expected = "Once upon a time, there was a little girl named Lily";
            assert.ok(`Once upon a time${full}`.startsWith(expected), `greedy 1x text was ${JSON.stringify(full)}`);

            await context.setLayerSkip(maskOf(context.layerCount, [2]));
            const skipped = await greedy(context, model, "Once upon a time", 12);
            assert.notEqual(skipped, full);
            assert.match(skipped, /[a-z]{3,}/i, "the skipped model should still write words");
            console.log(`stories260K 1x: ${JSON.stringify(full)}; layer 2 skipped: ${JSON.stringify(skipped)}`);
        } finally {
            await context.dispose();
            await model.dispose();
        }
    });
});
