// The "greedyToken" readout (native/patches/addon/07, its scan vectorised in 09) returns each output row's
// most likely token without copying the row to JS. Greedy generation reads only this, so it must be exactly argmax of the logits
// the "logits" readout returns for the same decode, under any mask and for every row of a verify batch.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import type {LlamaModel} from "node-llama-cpp";
import {Generator} from "../../engine/generation/generator.js";
import type {LayerSkipContext} from "../../engine/native/skip-context.js";
import {SkipAwareCache} from "../../engine/skip-aware-cache.js";
import {argmax, maskOf, openContext, patchedLlama, range, withOneOutputRow} from "./harness.js";

const storiesPath = new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;
const pycodePath = new URL("../../../shared/models/pycode-16L.gguf", import.meta.url).pathname;

/** every row of `prompt`, decoded from an empty sequence 0, read as `readout` */
async function readEveryRow(context: LayerSkipContext, prompt: number[], readout: "logits" | "greedyToken") {
    await context.removeTokens(0, 0);
    const [output] = await context.decodeReadouts([{sequenceId: 0, firstPosition: 0, tokens: prompt, logitIndexes: range(prompt.length), readout}]);
    return output;
}

describe("the greedyToken readout", () => {
    let model: LlamaModel;
    let context: LayerSkipContext;

    before(async () => {
        model = await (await patchedLlama()).loadModel({modelPath: storiesPath});
        context = await openContext(model, 2);
    });
    after(async () => {
        await context.dispose();
        await model.dispose();
    });

    const prompt = range(48).map((i) => 3 + ((i * 37) % 500));

    for (const skipped of [[], [1, 3]]) {
        test(`is argmax of every row's logits, skipping layers [${skipped.join(", ")}]`, async () => {
            await context.setLayerSkip(maskOf(context.layerCount, skipped));
            const withLogits = await readEveryRow(context, prompt, "logits");
            const withTokens = await readEveryRow(context, prompt, "greedyToken");
            assert.equal(withLogits.logits.length, prompt.length);
            assert.deepEqual(withLogits.greedyTokens, []);
            assert.deepEqual(withTokens.logits, []);
            assert.deepEqual(
                withTokens.greedyTokens,
                withLogits.logits.map((row) => argmax(row))
            );
            // a real model's next tokens differ along the text: the comparison is not of one repeated token
            assert.ok(new Set(withTokens.greedyTokens).size > 5);
        });
    }

    test("items of one batch may read differently", async () => {
        await context.setLayerSkip(new Uint8Array(context.layerCount));
        for (const sequenceId of [0, 1]) await context.removeTokens(sequenceId, 0);
        const [logitsItem, tokensItem] = await context.decodeReadouts([
            {sequenceId: 0, firstPosition: 0, tokens: prompt.slice(0, 20), logitIndexes: [18, 19]},
            {sequenceId: 1, firstPosition: 0, tokens: prompt.slice(0, 24), logitIndexes: [22, 23], readout: "greedyToken"}
        ]);
        assert.equal(logitsItem.logits.length, 2);
        assert.equal(tokensItem.greedyTokens.length, 2);
        assert.ok(tokensItem.greedyTokens.every((token) => Number.isInteger(token) && token >= 0 && token < logitsItem.logits[0].length));
    });

    test("asking for a row that was not an output is a RangeError, as for getLogits", async () => {
        await withOneOutputRow(model, prompt.slice(0, 8), (addon, row) => {
            assert.equal(addon.getGreedyToken(row), argmax(addon.getLogits(row)));
            // the batch had one output row; llama.cpp has no logits for a sixth
            assert.throws(() => addon.getGreedyToken(row + 5), RangeError);
            assert.throws(() => addon.getLogits(row + 5), RangeError);
        });
    });

    test("greedy generation emits the tokens a step-by-step argmax of the full logits gives", async () => {
        for (const sequenceId of [0, 1]) await context.removeTokens(sequenceId, 0);
        const mask = maskOf(context.layerCount, [2]);
        const cache = new SkipAwareCache(context);
        const generator = new Generator({model, cache, currentMask: () => mask, prefill: () => "full"});
        const output = await generator.generate({promptTokens: prompt.slice(0, 16), maxTokens: 24, temperature: 0, stopAtEndOfGeneration: false});

        // the same steps by hand on the other sequence: prompt through every layer, then decode under the mask
        await context.setLayerSkip(new Uint8Array(context.layerCount));
        const [[promptRow]] = await context.decode([{sequenceId: 1, firstPosition: 0, tokens: prompt.slice(0, 16)}]);
        const expected = [argmax(promptRow)];
        await context.setLayerSkip(mask);
        while (expected.length < 24) {
            const [[row]] = await context.decode([{sequenceId: 1, firstPosition: 15 + expected.length, tokens: [expected.at(-1)!]}]);
            expected.push(argmax(row));
        }
        assert.deepEqual(output.tokens, expected);
    });
});

// the native scan takes the vocabulary in blocks of 64, then the tokens after the last whole block:
// stories260K's 512 tokens are whole blocks, pycode-16L's 260 leave 4 over
test("the greedyToken readout is argmax on a vocabulary that is not a whole number of blocks", async () => {
    const model = await (await patchedLlama()).loadModel({modelPath: pycodePath});
    const context = await openContext(model, 1);
    try {
        const prompt = range(64).map((i) => 3 + ((i * 13) % 250));
        const withLogits = await readEveryRow(context, prompt, "logits");
        assert.equal(withLogits.logits[0].length % 64, 260 % 64, "pycode-16L's vocabulary leaves tokens after the last whole block");
        const withTokens = await readEveryRow(context, prompt, "greedyToken");
        assert.deepEqual(
            withTokens.greedyTokens,
            withLogits.logits.map((row) => argmax(row))
        );
        assert.ok(new Set(withTokens.greedyTokens).size > 5);
        assert.ok(
            withTokens.greedyTokens.some((token) => token >= 256),
            "some row's most likely token is one of the 4 after the last whole block (this prompt has several)"
        );
    } finally {
        await context.dispose();
        await model.dispose();
    }
});
