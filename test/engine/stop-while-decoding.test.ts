// A generated token's text is streamed while the next decode runs (Generator.streamPending), so that
// detokenizing, the onText callback and the stop checks cost the decode loop nothing. A stop found there
// must end the request exactly where a check before the next decode would have: the same tokens, the same
// text, no piece announced past the stop, and a cache that holds only what the ledger says. A decode that
// nobody needs any more is aborted, and it is not counted as a cancellation.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import type {LlamaModel} from "node-llama-cpp";
import {FixedDrafter} from "../../engine/generation/drafter.js";
import {Generator, type GenerateRequest, type GenerationOutput} from "../../engine/generation/generator.js";
import {buildSchedule, describeKeptLayers, keptLayersAtDepth} from "../../engine/plan/index.js";
import {SkipAwareCache} from "../../engine/skip-aware-cache.js";
import {openContext, patchedLlama, range} from "../native/harness.js";

const storiesPath = new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;
const prompt = range(24).map((i) => 3 + ((i * 37) % 500));
/** 40 greedy tokens, past end-of-generation tokens */
const greedy = {maxTokens: 40, temperature: 0, stopAtEndOfGeneration: false};

describe("a stop found while the next decode runs", () => {
    let model: LlamaModel;
    let cache: SkipAwareCache;
    let generator: Generator;

    before(async () => {
        model = await (await patchedLlama()).loadModel({modelPath: storiesPath});
        // batches under 64 tokens keep every evaluation on one kernel path (see lossless.test.ts)
        cache = new SkipAwareCache(await openContext(model, 2, 32));
        generator = new Generator({model, cache, currentMask: () => new Uint8Array(cache.context.layerCount), prefill: () => "full"});
    });
    after(async () => {
        await cache.context.dispose();
        await model.dispose();
    });

    /** a run from an empty sequence cache, with every piece onText announced */
    const run = async (request: Partial<GenerateRequest> = {}): Promise<GenerationOutput & {pieces: string[]}> => {
        for (const sequenceId of [0, 1]) await cache.clear(sequenceId);
        const pieces: string[] = [];
        const output = await generator.generate({...greedy, promptTokens: prompt, onText: (piece) => pieces.push(piece), ...request});
        return {...output, pieces};
    };

    /** drafts of 4 tokens through every layer but one: drafts the full model mostly accepts */
    const drafterOneLayerShort = (): FixedDrafter => {
        const layerCount = cache.context.layerCount;
        const schedule = buildSchedule({layerCount});
        const depth = Math.max(schedule.minDepth, layerCount - 1);
        return new FixedDrafter({depth, mask: describeKeptLayers(layerCount, keptLayersAtDepth(schedule, depth)).skipMask, length: 4, predictedSpeedup: 1});
    };

    /** the text length after each of the reference run's tokens, from a run that announces per token */
    const textLengthsByToken = async (): Promise<{reference: GenerationOutput; lengths: number[]}> => {
        const lengths: number[] = [];
        let length = 0;
        const reference = await run({
            onText: (piece) => {
                length += piece.length;
            },
            stopAt: () => {
                lengths.push(length);
                return undefined;
            }
        });
        return {reference, lengths};
    };

    test("a stopAt boundary keeps the tokens up to it, announces nothing past it, and leaves the cache as the ledger says", async () => {
        const {reference, lengths} = await textLengthsByToken();
        assert.equal(reference.tokens.length, 40);
        // the first token after the 10th whose text grows the answer: the stop falls on it
        const stopToken = lengths.findIndex((length, index) => index >= 10 && length > lengths[index - 1]);
        assert.ok(stopToken > 0, "the reference answer's text should grow after its 10th token");
        const keep = lengths[stopToken] - 1;
        const abortedBefore = generator.abortedDecodes;

        const stopped = await run({stopAt: (text) => (text.length >= lengths[stopToken] ? keep : undefined)});
        assert.equal(stopped.stopReason, "boundary");
        assert.deepEqual(stopped.tokens, reference.tokens.slice(0, stopToken + 1));
        assert.equal(stopped.text, reference.text.slice(0, keep));
        assert.equal(stopped.timings.generatedTokens, stopToken + 1);
        assert.equal(stopped.pieces.join(""), reference.text.slice(0, lengths[stopToken]), "no piece past the stop token was announced");
        // the stop token's decode ran alone and nobody needed it: it was aborted (or had just finished), and the
        // cache holds the prompt and the answer's tokens, as the ledger says; the abort is not a cancellation
        const ledger = cache.ledger(0);
        assert.ok(
            ledger.length === prompt.length + stopToken || ledger.length === prompt.length + stopToken + 1,
            `the ledger holds ${ledger.length} positions`
        );
        assert.deepEqual(ledger.tokens, [...prompt, ...reference.tokens].slice(0, ledger.length));
        assert.equal(generator.abortedDecodes, abortedBefore);
        assert.equal(generator.busySequenceCount, 0);

        // what stayed cached is what the ledger says: a run that reuses it answers as a fresh one does
        const reused = await generator.generate({...greedy, promptTokens: prompt});
        assert.equal(reused.timings.reusedPromptTokens, prompt.length - 1);
        assert.deepEqual(reused.tokens, reference.tokens);
    });

    test("a request that stops leaves the one decoding beside it unchanged", async () => {
        const alone = await run();
        const {lengths} = await textLengthsByToken();
        const stopToken = lengths.findIndex((length, index) => index >= 5 && length > lengths[index - 1]);
        for (const sequenceId of [0, 1]) await cache.clear(sequenceId);
        const [stopping, going] = await Promise.all([
            generator.generate({...greedy, promptTokens: prompt, stopAt: (text) => (text.length >= lengths[stopToken] ? 0 : undefined)}),
            generator.generate({...greedy, promptTokens: [...prompt]})
        ]);
        assert.equal(stopping.stopReason, "boundary");
        assert.deepEqual(stopping.tokens, alone.tokens.slice(0, stopToken + 1));
        assert.equal(stopping.text, "");
        assert.equal(going.stopReason, "maxTokens");
        assert.deepEqual(going.tokens, alone.tokens);
        assert.equal(generator.busySequenceCount, 0);
    });

    test("a stopAt that throws fails its own request, not the one beside it", async () => {
        const alone = await run();
        for (const sequenceId of [0, 1]) await cache.clear(sequenceId);
        let calls = 0;
        const [failing, going] = await Promise.allSettled([
            generator.generate({
                ...greedy,
                promptTokens: prompt,
                stopAt: () => {
                    if (++calls === 6) throw new Error("the boundary check broke");
                    return undefined;
                }
            }),
            generator.generate({...greedy, promptTokens: [...prompt]})
        ]);
        assert.equal(failing.status, "rejected");
        assert.match(String((failing as PromiseRejectedResult).reason), /the boundary check broke/);
        assert.equal(going.status, "fulfilled");
        assert.deepEqual((going as PromiseFulfilledResult<GenerationOutput>).value.tokens, alone.tokens);
        assert.equal(generator.busySequenceCount, 0);
    });

    test("at Lossless, a stop anywhere in a step's tokens keeps the tokens up to it and only full-layer positions, beside a request that goes on", async () => {
        const {reference, lengths} = await textLengthsByToken();
        const drafter = drafterOneLayerShort();
        const request = {...greedy, drafter};
        let droppedSomewhere = false;
        // a step emits its accepted drafts and the full model's next token at once: stops on each token of the
        // first 24 fall on every place in a step, first, middle and last
        for (let stopToken = 1; stopToken < 24; stopToken++) {
            if (lengths[stopToken] === lengths[stopToken - 1]) continue;
            for (const sequenceId of [0, 1]) await cache.clear(sequenceId);
            const pieces: string[] = [];
            const [stopped, going] = await Promise.all([
                generator.generate({
                    ...request,
                    promptTokens: prompt,
                    onText: (piece) => pieces.push(piece),
                    stopAt: (text) => (text.length >= lengths[stopToken] ? text.length : undefined)
                }),
                generator.generate({...request, promptTokens: [...prompt]})
            ]);
            assert.equal(stopped.stopReason, "boundary");
            assert.deepEqual(stopped.tokens, reference.tokens.slice(0, stopToken + 1), `a stop on token ${stopToken}`);
            assert.equal(pieces.join(""), reference.text.slice(0, lengths[stopToken]));
            assert.deepEqual(going.tokens, reference.tokens, `the request beside a stop on token ${stopToken}`);
            // positions past the stop token's were decoded, and then forgotten
            droppedSomewhere ||= stopped.timings.speculation!.acceptedDrafts + stopped.timings.speculation!.speculativeSteps > stopped.tokens.length - 1;
            for (const sequenceId of [0, 1]) {
                const ledger = cache.ledger(sequenceId);
                for (const segment of ledger.segments())
                    assert.ok(
                        segment.mask.every((skip) => skip === 0),
                        `a stop on token ${stopToken}: sequence ${sequenceId} holds positions ${segment.start}.. computed with layers skipped`
                    );
                assert.deepEqual(ledger.tokens, [...prompt, ...reference.tokens].slice(0, ledger.length), "the cache holds the answer's own tokens");
            }
        }
        assert.ok(droppedSomewhere, "some stop fell before the last token of its step");
        assert.ok(drafter.observedSteps > 0, "the requests drafted");
    });

    test("at Lossless, a request with no room left to draft that stops during the verify keeps its tokens and its step's start", async () => {
        const {reference, lengths} = await textLengthsByToken();
        assert.ok(lengths[0] > 0, "the first token has text, so a boundary can fall on it");
        const drafter = drafterOneLayerShort();
        for (const sequenceId of [0, 1]) await cache.clear(sequenceId);
        // two tokens each: after the prompt's token neither request has room to draft, so the step after the
        // prompt is the verify alone, and the first token's text is streamed while it runs. The request that
        // goes on keeps that decode running, so the one that stopped comes out of it finished
        const request = {...greedy, maxTokens: 2, drafter};
        const [stopped, going] = await Promise.all([
            generator.generate({...request, promptTokens: prompt, stopAt: (text) => (text.length > 0 ? text.length : undefined)}),
            generator.generate({...request, promptTokens: [...prompt]})
        ]);
        assert.equal(stopped.stopReason, "boundary");
        assert.deepEqual(stopped.tokens, reference.tokens.slice(0, 1), "nothing is emitted for a request that finished during the verify");
        assert.equal(stopped.timings.speculation?.speculativeSteps ?? 0, 0);
        assert.deepEqual(going.tokens, reference.tokens.slice(0, 2));
        assert.equal(going.timings.speculation?.speculativeSteps, 1, "the second token came out of the verify");
        // the stopped request's cache goes back to where its step began (its prompt); the other keeps the
        // verified position of its first token
        const lengthsAfter = [0, 1].map((sequenceId) => cache.ledger(sequenceId).length).sort((a, b) => a - b);
        assert.deepEqual(lengthsAfter, [prompt.length, prompt.length + 1]);
        for (const sequenceId of [0, 1]) for (const segment of cache.ledger(sequenceId).segments()) assert.ok(segment.mask.every((skip) => skip === 0));
    });
});
