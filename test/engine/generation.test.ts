// Generation on a real trained model: streaming, concurrent requests in one batch, cancellation, seeds.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import type {LlamaModel} from "node-llama-cpp";
import {Generator} from "../../engine/generation/generator.js";
import {SkipAwareCache} from "../../engine/skip-aware-cache.js";
import {maskOf, openContext, patchedLlama} from "../native/harness.js";

const storiesPath = new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;

describe("generation", () => {
    let model: LlamaModel;
    let cache: SkipAwareCache;
    let generator: Generator;
    let mask: Uint8Array;

    before(async () => {
        model = await (await patchedLlama()).loadModel({modelPath: storiesPath});
        cache = new SkipAwareCache(await openContext(model, 2));
        mask = maskOf(cache.context.layerCount, []);
        generator = new Generator({model, cache, currentMask: () => mask, prefill: () => "full"});
    });
    after(async () => {
        await cache.context.dispose();
        await model.dispose();
    });

    test("streams the known greedy story as plain completion", async () => {
        const pieces: string[] = [];
        const output = await generator.generate({prompt: "Once upon a time", maxTokens: 12, onText: (piece) => pieces.push(piece)});
        assert.ok(output.text.startsWith(", there was a little girl named Lily"), output.text);
        assert.equal(pieces.join(""), output.text);
        assert.ok(pieces.length > 3, "text should arrive in pieces");
        assert.equal(output.stopReason, "maxTokens");
        assert.equal(output.tokens.length, 12);
        assert.ok(output.timings.decodeTokensPerSecond > 0 && output.timings.promptTokens > 3);
    });

    test("onToken hears each generated token as it is chosen, and the decode time runs from the first to the last", async () => {
        const heard: {token: number; at: number}[] = [];
        const started = performance.now();
        const output = await generator.generate({
            prompt: "Once upon a time",
            maxTokens: 10,
            onToken: (token) => heard.push({token, at: performance.now()})
        });
        const finished = performance.now();
        assert.deepEqual(
            heard.map((entry) => entry.token),
            output.tokens
        );
        // the clock between the first token and the last: every step between them, nothing before or after
        const betweenTokens = (heard.at(-1)!.at - heard[0].at) / 1000;
        assert.ok(
            output.timings.decodeSeconds >= betweenTokens * 0.99 && output.timings.decodeSeconds <= betweenTokens * 1.01 + 1e-4,
            `${output.timings.decodeSeconds} s against ${betweenTokens} s between the first and the last token`
        );
        assert.ok(output.timings.decodeSeconds < (finished - started) / 1000);
        assert.equal(output.timings.decodeTokensPerSecond, (output.tokens.length - 1) / output.timings.decodeSeconds);
        // a throwing onToken is logged and generation goes on
        const quiet = console.error;
        console.error = () => undefined;
        try {
            const after = await generator.generate({
                prompt: "Once upon a time",
                maxTokens: 4,
                onToken: () => {
                    throw new Error("a listener's bug");
                }
            });
            assert.deepEqual(after.tokens, output.tokens.slice(0, 4));
        } finally {
            console.error = quiet;
        }
    });

    test("two concurrent requests share decode batches and both complete", async () => {
        const [first, second] = await Promise.all([
            generator.generate({prompt: "Once upon a time", maxTokens: 16}),
            generator.generate({prompt: "The dog was", maxTokens: 16})
        ]);
        assert.equal(first.tokens.length, 16);
        assert.equal(second.tokens.length, 16);
        assert.equal(first.timings.maxBatch, 2);
        assert.ok(first.text.startsWith(", there was a little girl named Lily"), first.text);
    });

    test("a third request waits for a free sequence instead of failing", async () => {
        const outputs = await Promise.all([1, 2, 3].map((n) => generator.generate({prompt: `Tom had ${n} ball`, maxTokens: 6})));
        assert.deepEqual(
            outputs.map((output) => output.tokens.length),
            [6, 6, 6]
        );
    });

    test("aborting stops within a token, keeps the partial text, and the next request works", async () => {
        const controller = new AbortController();
        const pieces: string[] = [];
        const output = await generator.generate({
            prompt: "Once upon a time",
            maxTokens: 100,
            signal: controller.signal,
            onText: (piece) => {
                pieces.push(piece);
                if (pieces.length === 3) controller.abort();
            }
        });
        assert.equal(output.stopReason, "aborted");
        assert.ok(output.tokens.length <= 4, `generated ${output.tokens.length} tokens after the abort`);
        const next = await generator.generate({prompt: "Once upon a time", maxTokens: 8});
        assert.equal(next.stopReason, "maxTokens");
        assert.ok(next.timings.reusedPromptTokens > 0, "the cached prompt should be reused");
    });

    test("the same seed gives the same sample; temperature 0 ignores the seed", async () => {
        const sampled = (seed: number) => generator.generate({prompt: "Lily saw a", maxTokens: 10, temperature: 1, topP: 0.9, seed});
        const a = await sampled(42);
        const b = await sampled(42);
        assert.deepEqual(a.tokens, b.tokens);
        const runs = await Promise.all([1, 2, 3, 4].map((seed) => sampled(seed)));
        assert.ok(new Set(runs.map((run) => run.text)).size > 1, "different seeds should not all give the same text");
    });

    test("a dial change mid-generation applies to the next token and recomputes when turned back", async () => {
        let steps = 0;
        const layerCount = cache.context.layerCount;
        const output = await generator.generate({
            prompt: "Once upon a time",
            maxTokens: 12,
            onText: () => {
                steps++;
                if (steps === 3) mask = maskOf(layerCount, [1, 2]);
                if (steps === 7) mask = maskOf(layerCount, []);
            }
        });
        mask = maskOf(layerCount, []);
        assert.ok(output.timings.recomputedTokens > 0, "turning back to 1x must recompute the skipped positions");
    });
});

describe("generation: a request whose admission fails", () => {
    // the timeout only turns the old failure (a request pending for good) into a failure instead of a hang
    test("is rejected with the cause and frees its sequence; the requests after it run", {timeout: 60_000}, async () => {
        const model = await (await patchedLlama()).loadModel({modelPath: storiesPath});
        const cache = new SkipAwareCache(await openContext(model, 2));
        try {
            const mask = maskOf(cache.context.layerCount, []);
            const generator = new Generator({model, cache, currentMask: () => mask, prefill: () => "full"});
            // fault injection: the KV cache fails to prepare the sequence for the next two admissions
            const reuse = cache.reuse.bind(cache);
            let failuresLeft = 2;
            cache.reuse = async (sequenceId, tokens, promptMask) => {
                if (failuresLeft-- > 0) throw new Error("injected: the cache could not prepare the sequence");
                return await reuse(sequenceId, tokens, promptMask);
            };
            const outcomes = await Promise.allSettled([
                generator.generate({prompt: "Once upon a time", maxTokens: 4}),
                generator.generate({prompt: "The dog was", maxTokens: 4})
            ]);
            for (const outcome of outcomes) {
                assert.equal(outcome.status, "rejected");
                assert.match(String((outcome as PromiseRejectedResult).reason), /injected/);
            }
            assert.equal(generator.busySequenceCount, 0, "a failed admission kept its sequence");
            // every sequence is usable again: two requests at once need both
            const [first, second] = await Promise.all([
                generator.generate({prompt: "Once upon a time", maxTokens: 4}),
                generator.generate({prompt: "The dog was", maxTokens: 4})
            ]);
            assert.equal(first.tokens.length, 4);
            assert.equal(second.tokens.length, 4);
            assert.equal(generator.busySequenceCount, 0);
        } finally {
            await cache.context.dispose();
            await model.dispose();
        }
    });
});
