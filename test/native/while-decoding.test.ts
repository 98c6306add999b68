// LayerSkipContext's whileDecoding hook: work that needs no result of a decode runs while the worker thread
// computes it (the generator streams the previous token's text there). It runs once per call, even when the
// items take several native batches; a hook that throws is reported only after the decode has settled, so
// no decode is left running behind the context's queue; an abort from inside the hook stops that decode.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import type {LlamaModel} from "node-llama-cpp";
import {DecodeAbortedError, type LayerSkipContext} from "../../engine/native/skip-context.js";
import {openContext, patchedLlama, range} from "./harness.js";

const storiesPath = new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;
const pycodePath = new URL("../../../shared/models/pycode-16L.gguf", import.meta.url).pathname;

describe("the whileDecoding hook", () => {
    let model: LlamaModel;
    let context: LayerSkipContext;

    before(async () => {
        model = await (await patchedLlama()).loadModel({modelPath: storiesPath});
        // batches of 16 tokens: a 40-token prompt takes three native batches
        context = await openContext(model, 1, 16);
    });
    after(async () => {
        await context.dispose();
        await model.dispose();
    });

    const prompt = range(40).map((i) => 3 + ((i * 37) % 500));

    test("runs once, after the first batch is queued, even when the items take several batches", async () => {
        await context.removeTokens(0, 0);
        let calls = 0;
        const [output] = await context.decodeReadouts([{sequenceId: 0, firstPosition: 0, tokens: prompt, readout: "greedyToken"}], {
            whileDecoding: () => calls++
        });
        assert.equal(calls, 1);
        assert.equal(output.greedyTokens.length, 1);
    });

    test("a hook that throws fails the call after the decode settled, and the context decodes on", async () => {
        await context.removeTokens(0, 0);
        const [expected] = await context.decodeReadouts([{sequenceId: 0, firstPosition: 0, tokens: prompt.slice(0, 12), readout: "greedyToken"}]);
        await context.removeTokens(0, 0);
        await assert.rejects(
            context.decodeReadouts([{sequenceId: 0, firstPosition: 0, tokens: prompt.slice(0, 12), readout: "greedyToken"}], {
                whileDecoding: () => {
                    throw new Error("the hook broke");
                }
            }),
            /the hook broke/
        );
        // the decode ran to its end: its positions are in the cache, and the next decode continues after them
        const [next] = await context.decodeReadouts([{sequenceId: 0, firstPosition: 12, tokens: [expected.greedyTokens[0]], readout: "greedyToken"}]);
        assert.equal(next.greedyTokens.length, 1);
        await context.removeTokens(0, 0);
        const [again] = await context.decodeReadouts([{sequenceId: 0, firstPosition: 0, tokens: prompt.slice(0, 12), readout: "greedyToken"}]);
        assert.deepEqual(again.greedyTokens, expected.greedyTokens);
    });

    test("an abort from inside the hook stops that decode", async () => {
        // one native batch of 40 tokens through pycode-16L's 16 layers (several ms): only the native abort,
        // not the check before a next batch, can stop it before it ends (stories260K's 12 tokens sometimes
        // finished first)
        const pycode = await (await patchedLlama()).loadModel({modelPath: pycodePath});
        const oneBatch = await openContext(pycode, 1, 64);
        try {
            const tokens = prompt.map((token) => token % 250);
            const controller = new AbortController();
            await assert.rejects(
                oneBatch.decodeReadouts([{sequenceId: 0, firstPosition: 0, tokens, readout: "greedyToken"}], {
                    signal: controller.signal,
                    whileDecoding: () => controller.abort()
                }),
                DecodeAbortedError
            );
            // the same signal, aborted, stops the next call before it starts; a new one decodes
            await assert.rejects(oneBatch.decodeReadouts([{sequenceId: 0, firstPosition: 0, tokens}], {signal: controller.signal}), DecodeAbortedError);
            await oneBatch.removeTokens(0, 0);
            const [output] = await oneBatch.decodeReadouts([{sequenceId: 0, firstPosition: 0, tokens, readout: "greedyToken"}], {
                signal: new AbortController().signal
            });
            assert.equal(output.greedyTokens.length, 1);
        } finally {
            await oneBatch.dispose();
            await pycode.dispose();
        }
    });
});
