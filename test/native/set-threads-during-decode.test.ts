// Changing the thread count while a decode runs must not free the threadpool under that decode: the
// addon defers the swap until the decode settles (native/patches/addon/06), and LayerSkipContext
// queues setThreads behind the decodes it has already accepted.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import type {LlamaModel} from "node-llama-cpp";
import {addonContextOf} from "../../engine/native/internals.js";
import {LayerSkipContext} from "../../engine/native/skip-context.js";
import {testFixtureFor} from "../fixtures/fixture-models.js";
import {maxAbsDifferenceOfRows, patchedLlama, range} from "./harness.js";

describe("setThreads during a decode", () => {
    let model: LlamaModel;
    before(async () => {
        model = await (await patchedLlama()).loadModel({modelPath: testFixtureFor("llama").path});
    });
    after(async () => await model.dispose());

    /** a prompt long enough that the decode is still queued or running when the next JS statement runs */
    const promptTokens = () => range(200).map((i) => 3 + ((i * 7) % 400));

    test("the addon applies a thread count set during a decode only after it settles, and the decode's logits are unchanged", {timeout: 120_000}, async () => {
        const context = await model.createContext({contextSize: 256, sequences: 1, batchSize: 256, threads: 2});
        try {
            const addon = addonContextOf(context);
            const decodeAll = async (setThreadsMidway?: number) => {
                addon.removeTokenCellsFromSequence(0, 0, -1);
                const tokens = promptTokens();
                addon.initBatch(tokens.length);
                const [row] = addon.addToBatch(0, 0, Uint32Array.from(tokens), Uint32Array.from([tokens.length - 1]));
                const decoding = addon.decodeBatch();
                let threadsDuringDecode: number | undefined;
                if (setThreadsMidway !== undefined) {
                    addon.setThreads(setThreadsMidway);
                    threadsDuringDecode = addon.getThreads();
                }
                await decoding;
                return {logits: addon.getLogits(row), threadsDuringDecode, threadsAfter: addon.getThreads()};
            };

            const reference = await decodeAll();
            assert.equal(reference.threadsAfter, 2);
            const swapped = await decodeAll(1);
            assert.equal(swapped.threadsDuringDecode, 2, "the threadpool in use must not change while the decode runs");
            assert.equal(swapped.threadsAfter, 1, "the deferred thread count takes effect when the decode settles");
            assert.equal(maxAbsDifferenceOfRows([swapped.logits], [reference.logits]), 0);

            // with no decode in flight the change is immediate, and decoding on the new pool still works
            addon.setThreads(2);
            assert.equal(addon.getThreads(), 2);
            const again = await decodeAll();
            assert.equal(maxAbsDifferenceOfRows([again.logits], [reference.logits]), 0);

            // Each swap frees the pool the CPU backend last computed with. Before llama.cpp patch 03 the
            // backend kept that pointer and locked the freed pool's mutex on the next decode: a hang or a
            // glibc abort, about once in 40 swaps on this machine. So swap many times, both ways.
            for (let swap = 0; swap < 60; swap++) {
                const threads = swap % 2 === 0 ? 1 : 2;
                const betweenDecodes = swap % 3 === 0;
                if (betweenDecodes) addon.setThreads(threads);
                const result = await decodeAll(betweenDecodes ? undefined : threads);
                assert.equal(maxAbsDifferenceOfRows([result.logits], [reference.logits]), 0, `swap ${swap}`);
                assert.equal(addon.getThreads(), threads);
            }
        } finally {
            await context.dispose();
        }
    });

    test("LayerSkipContext.setThreads waits for the decodes queued before it", async () => {
        const context = await LayerSkipContext.create(model, {contextSize: 256, sequences: 1, threads: 2});
        try {
            const tokens = promptTokens();
            const [[reference]] = await context.decode([{sequenceId: 0, firstPosition: 0, tokens}]);
            await context.removeTokens(0, 0);
            const decoding = context.decode([{sequenceId: 0, firstPosition: 0, tokens}]);
            const threadsSet = context.setThreads(1);
            const [[row]] = await decoding;
            await threadsSet;
            assert.equal(context.threads, 1);
            assert.equal(maxAbsDifferenceOfRows([row], [reference]), 0);
        } finally {
            await context.dispose();
        }
    });
});
