// The Lossless level decodes self-speculatively: skipped layers draft, every layer verifies. Its greedy
// output must be the full model's, token for token, on every supported architecture and on the trained
// models; every step must leave only full-layer positions in the cache, also when a request is cancelled
// in the middle of a draft; and two requests in one batch must each get their own full-model answer.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import type {LlamaModel} from "node-llama-cpp";
import {FixedDrafter, type DraftChoice, type Drafter} from "../../engine/generation/drafter.js";
import {Generator, type GenerateRequest} from "../../engine/generation/generator.js";
import {seededRandom} from "../../engine/generation/sampler.js";
import {SelfTuningDrafter} from "../../engine/generation/self-tuning-drafter.js";
import {buildSchedule, describeKeptLayers, keptLayersAtDepth, type ModelShape} from "../../engine/plan/index.js";
import {SkipAwareCache, type CacheEvaluation} from "../../engine/skip-aware-cache.js";
import {TEST_FIXTURES} from "../fixtures/fixture-models.js";
import {openContext, patchedLlama} from "../native/harness.js";

const sharedModels = new URL("../../../shared/models/", import.meta.url).pathname;
const trainedModels = [
    {id: "pycode-16L.gguf", kind: "python"},
    {id: "stories260K.gguf", kind: "story"},
    {id: "tinystories-656k-q8_0.gguf", kind: "story"}
].map((model) => ({...model, kind: model.kind as "python" | "story", path: sharedModels + model.id}));
const promptLength = 72;
const generatedTokens = 72;

const pythonText =
    "def parse_config(path):\n    with open(path) as handle:\n        lines = handle.read().splitlines()\n    result = {}\n" +
    "    for line in lines:\n        if not line or line.startswith('#'):\n            continue\n        key, value = line.split('=', 1)\n";
const storyText =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her dog Max. " +
    "One day, Lily and Max saw a big red ball under a tree. Lily wanted to play with the ball, but it was stuck. " +
    "She asked her mom for help, and her mom said they could get it together. They walked to the tree and pulled the ball down. " +
    "Lily was very happy and said thank you to her mom. Then she threw the ball to Max, and Max ran fast to catch it. " +
    "They played all day until the sun went down, and";

/** a prompt of `promptLength` tokens: real text for the trained models, seeded token ids for synthetic ones */
function promptFor(model: LlamaModel, kind: "synthetic" | "python" | "story", seed: number): number[] {
    if (kind === "synthetic") {
        const next = seededRandom(seed);
        return Array.from({length: promptLength}, () => 3 + Math.floor(next() * 400));
    }
    const text = kind === "python" ? pythonText : storyText;
    const tokens = model.tokenize(text, false) as number[];
    assert.ok(tokens.length >= promptLength, `the prompt text gives only ${tokens.length} tokens`);
    return tokens.slice(0, promptLength);
}

/** drafts at a few depths of the even schedule (as the dial would skip), each with a short and a long draft;
 *  none for a model too shallow to skip a layer */
function fixedDrafters(shape: ModelShape): FixedDrafter[] {
    const schedule = buildSchedule(shape);
    const depths = [...new Set([shape.layerCount - 1, Math.max(schedule.minDepth, Math.ceil(shape.layerCount / 2))])].filter(
        (depth) => depth >= schedule.minDepth && depth < shape.layerCount
    );
    return depths.flatMap((depth) =>
        [2, 5].map(
            (length) =>
                new FixedDrafter({depth, mask: describeKeptLayers(shape.layerCount, keptLayersAtDepth(schedule, depth)).skipMask, length, predictedSpeedup: 1})
        )
    );
}

function assertOnlyFullLayerPositions(cache: SkipAwareCache, what: string) {
    for (let sequenceId = 0; sequenceId < cache.context.sequenceCount; sequenceId++)
        for (const segment of cache.ledger(sequenceId).segments())
            assert.ok(
                segment.mask.every((skip) => skip === 0),
                `${what}: sequence ${sequenceId} holds positions ${segment.start}..${segment.start + segment.tokens.length - 1} computed with layers skipped`
            );
}

type Harness = {model: LlamaModel; cache: SkipAwareCache; generator: Generator; layerCount: number; dispose: () => Promise<void>};

async function openHarness(modelPath: string, options: {drafter?: () => Drafter | undefined; mask?: () => Uint8Array} = {}): Promise<Harness> {
    const model = await (await patchedLlama()).loadModel({modelPath});
    // llama.cpp multiplies batches of 64 tokens or more through another kernel path, whose logits differ in
    // the third decimal: a 72-token prompt evaluated at once and the same prompt reused from the cache then
    // give different near-ties, with or without drafting. Batches below that keep every evaluation on one
    // path, so any difference left would be the drafting's
    const cache = new SkipAwareCache(await openContext(model, 2, 32));
    const full = new Uint8Array(cache.context.layerCount);
    const generator = new Generator({model, cache, currentMask: options.mask ?? (() => full), currentDrafter: options.drafter, prefill: () => "full"});
    return {
        model,
        cache,
        generator,
        layerCount: cache.context.layerCount,
        dispose: async () => {
            await cache.context.dispose();
            await model.dispose();
        }
    };
}

const greedy = (promptTokens: number[], extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
    promptTokens,
    maxTokens: generatedTokens,
    stopAtEndOfGeneration: false,
    ...extra
});

describe("greedy Lossless output equals Quality's, token for token", () => {
    const models = [
        ...TEST_FIXTURES.map((fixture) => ({id: fixture.id, path: fixture.path, kind: "synthetic" as const, attentionTypes: fixture.attentionTypes})),
        ...trainedModels.map((model) => ({...model, attentionTypes: undefined}))
    ];
    for (const entry of models) {
        test(entry.id, async () => {
            const harness = await openHarness(entry.path);
            try {
                const shape: ModelShape = {layerCount: harness.layerCount, attentionTypes: entry.attentionTypes?.map(String)};
                const prompt = promptFor(harness.model, entry.kind, 17);
                const quality = await harness.generator.generate(greedy(prompt));
                assert.equal(quality.tokens.length, generatedTokens);
                const drafters = fixedDrafters(shape);
                if (drafters.length === 0) {
                    // two layers, both kept by every schedule: Lossless decodes like Quality, without drafting
                    const selfTuning = new SelfTuningDrafter({candidates: [], layerCount: harness.layerCount});
                    const lossless = await harness.generator.generate(greedy(prompt, {drafter: selfTuning}));
                    assert.deepEqual(lossless.tokens, quality.tokens);
                    assert.equal(lossless.timings.speculation!.speculativeSteps, 0);
                    assert.equal(lossless.timings.speculation!.plainSteps, generatedTokens - 1);
                    return;
                }
                let rejections = 0;
                for (const drafter of drafters) {
                    const choice = drafter.nextDraft();
                    const lossless = await harness.generator.generate(greedy(prompt, {drafter}));
                    const speculation = lossless.timings.speculation!;
                    const label = `depth ${choice.depth}/${harness.layerCount}, length ${choice.length}`;
                    assert.deepEqual(lossless.tokens, quality.tokens, label);
                    assert.equal(lossless.text, quality.text, label);
                    assert.ok(speculation.speculativeSteps > 0 && speculation.draftedTokens > 0, `${label}: nothing was drafted`);
                    rejections += speculation.judgedDrafts - speculation.acceptedDrafts;
                    assertOnlyFullLayerPositions(harness.cache, label);
                    console.log(
                        `${entry.id} ${label}: acceptance ${(speculation.acceptedDrafts / speculation.judgedDrafts).toFixed(2)}, ` +
                            `${((lossless.tokens.length - 1) / speculation.speculativeSteps).toFixed(2)} tokens per verify`
                    );
                }
                // the comparison only means something if drafts were both kept and thrown away
                if (entry.kind !== "synthetic") assert.ok(rejections > 0, "no draft was ever rejected");
            } finally {
                await harness.dispose();
            }
        });
    }
});

describe("Lossless on the trained 16-layer model", () => {
    const modelPath = trainedModels[0].path;
    let harness: Harness;
    let prompt: number[];
    let quality: number[];
    let dial: {drafter: Drafter | undefined; mask: Uint8Array};
    let drafters: FixedDrafter[];

    before(async () => {
        harness = await openHarness(modelPath, {drafter: () => dial.drafter, mask: () => dial.mask});
        dial = {drafter: undefined, mask: new Uint8Array(harness.layerCount)};
        drafters = fixedDrafters({layerCount: harness.layerCount});
        prompt = promptFor(harness.model, "python", 0);
        quality = (await harness.generator.generate(greedy(prompt))).tokens;
    });
    after(async () => {
        await harness.dispose();
    });

    test("two Lossless requests in one batch each get their own Quality answer", async () => {
        const otherPrompt = prompt.slice(8);
        dial.drafter = undefined;
        const otherQuality = (await harness.generator.generate(greedy(otherPrompt))).tokens;
        dial.drafter = drafters[1];
        const [first, second] = await Promise.all([harness.generator.generate(greedy(prompt)), harness.generator.generate(greedy(otherPrompt))]);
        assert.deepEqual(first.tokens, quality);
        assert.deepEqual(second.tokens, otherQuality);
        assert.equal(first.timings.maxBatch, 2, "the two requests should have shared draft and verify batches");
        assertOnlyFullLayerPositions(harness.cache, "after the batch");
    });

    test("turning the dial between Quality and drafters of other depths mid-answer keeps Quality's answer", async () => {
        const sequence: (Drafter | undefined)[] = [drafters[0], undefined, drafters[3], drafters[1], undefined, drafters[2]];
        let pieces = 0;
        dial.drafter = sequence[0];
        const output = await harness.generator.generate(
            greedy(prompt, {
                onText: () => {
                    pieces++;
                    dial.drafter = sequence[Math.floor(pieces / 6) % sequence.length];
                }
            })
        );
        assert.ok(pieces >= 24, "the dial should have turned several times");
        assert.deepEqual(output.tokens, quality);
        assertOnlyFullLayerPositions(harness.cache, "after the dial changes");
    });

    test("from a skipping level to Lossless mid-answer: from then on, each token is the full model's next token", async () => {
        const skipping = drafters[3].nextDraft().mask;
        let pieces = 0;
        dial.drafter = undefined;
        dial.mask = skipping;
        const output = await harness.generator.generate(
            greedy(prompt, {
                onText: () => {
                    if (++pieces === 12) dial.drafter = drafters[1];
                }
            })
        );
        dial.mask = new Uint8Array(harness.layerCount);
        assert.notDeepEqual(output.tokens, quality, "the skipping level should have changed the answer before the switch");
        // the switch came after 12 pieces, so well before the last 32 tokens
        const cut = output.tokens.length - 32;
        dial.drafter = undefined;
        const continuation = await harness.generator.generate(greedy([...prompt, ...output.tokens.slice(0, cut)], {maxTokens: 32}));
        assert.deepEqual(output.tokens.slice(cut), continuation.tokens);
        assert.ok(output.timings.speculation!.speculativeSteps > 0);
    });

    for (const when of ["after a draft decode", "during a draft decode"] as const) {
        test(`a cancel ${when} leaves only full-layer positions, and the next request equals a fresh run`, async () => {
            const controller = new AbortController();
            let draftDecodes = 0;
            let skippedPositionsAtCancel = 0;
            const draftMask = drafters[1].nextDraft().mask;
            const cache = harness.cache;
            // watch the generator's cache: cancel once the third draft of the fifth step is written (or in flight)
            const evaluate = cache.evaluate.bind(cache);
            cache.evaluate = async (mask: Uint8Array, items: readonly CacheEvaluation[], options?: {signal?: AbortSignal}) => {
                const isDraft = mask.some((skip) => skip === 1);
                if (isDraft) draftDecodes++;
                const cancelNow = isDraft && draftDecodes === 5 * 5 + 3 && !controller.signal.aborted;
                if (cancelNow && when === "during a draft decode") {
                    const running = evaluate(mask, items, options);
                    skippedPositionsAtCancel = countSkippedPositions(cache, items[0].sequenceId);
                    controller.abort();
                    return await running;
                }
                const result = await evaluate(mask, items, options);
                if (cancelNow) {
                    skippedPositionsAtCancel = countSkippedPositions(cache, items[0].sequenceId);
                    controller.abort();
                }
                return result;
            };
            try {
                dial.drafter = new FixedDrafter({...(drafters[1].nextDraft() as DraftChoice), mask: draftMask, length: 5});
                const cancelled = await harness.generator.generate(greedy(prompt, {signal: controller.signal}));
                assert.equal(cancelled.stopReason, "aborted");
                assert.ok(skippedPositionsAtCancel >= 2, `drafts should have been in the cache when the cancel came (${skippedPositionsAtCancel})`);
            } finally {
                cache.evaluate = evaluate;
            }
            assertOnlyFullLayerPositions(cache, "after the cancel");
            const next = await harness.generator.generate(greedy(prompt));
            assert.deepEqual(next.tokens, quality);
            assertOnlyFullLayerPositions(cache, "after the next request");
            dial.drafter = undefined;
        });
    }
});

function countSkippedPositions(cache: SkipAwareCache, sequenceId: number): number {
    return cache
        .ledger(sequenceId)
        .segments()
        .filter((segment) => segment.mask.some((skip) => skip === 1))
        .reduce((sum, segment) => sum + segment.tokens.length, 0);
}
