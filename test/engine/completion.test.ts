// Inline completion on real llama.cpp: fill-in-the-middle styles found in the vocabularies of synthetic
// models, and, on the trained stories260K, KV reuse between keystrokes, the completion's own speed next to
// a chat request, boundaries, and cancellation that frees the sequence.
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {after, before, describe, test} from "node:test";
import type {Llama, LlamaModel} from "node-llama-cpp";
import {buildCompletionPrompt} from "../../engine/completion/completion-prompt.js";
import {detectFimStyle, FIM_STYLES, type FimStyle} from "../../engine/completion/fim-styles.js";
import {modelVocabulary} from "../../engine/completion/model-vocabulary.js";
import {CompletionScheduler, type CompletionQuery} from "../../extension/completion/scheduler.js";
import {DialEngine} from "../../engine/dial-engine.js";
import {writeSyntheticModel, type SyntheticModelSpec} from "../fixtures/gguf/synthetic.js";
import {patchedLlama} from "../native/harness.js";

const storiesPath = new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;

function tinySpec(specialTokens: readonly string[]): SyntheticModelSpec {
    return {
        architecture: "llama",
        layerCount: 2,
        embeddingLength: 64,
        feedForwardLength: 128,
        headCount: 4,
        headCountKv: 2,
        vocabSize: 600,
        contextLength: 512,
        weightType: "F16",
        seed: 7,
        specialTokens
    };
}

function styleTokens(style: FimStyle): string[] {
    return [...new Set([style.prefix, style.suffix, style.middle, ...(style.fileSeparator === undefined ? [] : [style.fileSeparator]), ...style.endTokens])];
}

/** indexes of `token` in `tokens` */
function positions(tokens: readonly number[], token: number): number[] {
    return tokens.flatMap((value, index) => (value === token ? [index] : []));
}

describe("fill-in-the-middle from a model's vocabulary", () => {
    let llama: Llama;
    let directory: string;

    before(async () => {
        llama = await patchedLlama();
        directory = await fs.mkdtemp(path.join(os.tmpdir(), "layer-dial-fim-"));
    });
    after(async () => {
        await fs.rm(directory, {recursive: true, force: true});
    });

    for (const style of FIM_STYLES) {
        test(`${style.name}: detected from its marker tokens, prompt laid out around them`, async () => {
            // a name that says nothing: the style must come from the tokens
            const modelPath = path.join(directory, `model-${FIM_STYLES.indexOf(style)}.gguf`);
            await writeSyntheticModel(modelPath, tinySpec(styleTokens(style)));
            const model = await llama.loadModel({modelPath});
            try {
                const vocabulary = modelVocabulary(model);
                const resolved = detectFimStyle(vocabulary);
                assert.equal(resolved?.style.name, style.name);
                assert.equal(resolved.endTokens.length, style.endTokens.length, "every end marker is in the vocabulary");

                // the user's code may spell a marker: it must stay text, never become the marker
                const prefix = `def f(x):\n    s = "${style.prefix}"\n    return `;
                const suffix = "\n\nprint(f(1))\n";
                const prompt = buildCompletionPrompt(vocabulary, {prefix, suffix, path: "m.py", lineComment: "#"});
                const tokens = prompt.tokens;
                assert.equal(prompt.style, style.name);
                assert.equal(tokens[0], vocabulary.bos);
                assert.deepEqual(positions(tokens, resolved.prefix), [1]);
                const suffixAt = positions(tokens, resolved.suffix);
                assert.equal(suffixAt.length, 1);
                assert.deepEqual(positions(tokens, resolved.middle), [tokens.length - 1]);
                assert.deepEqual(tokens.slice(2, suffixAt[0]), vocabulary.tokenize(prefix));
                assert.deepEqual(tokens.slice(suffixAt[0] + 1, -1), vocabulary.tokenize(suffix));
                // SentencePiece writes a space as U+2581, so a literal U+2581 in the code comes back as a space
                assert.equal(
                    model.detokenize(tokens.slice(2, suffixAt[0]) as unknown as Parameters<LlamaModel["detokenize"]>[0]).trimStart(),
                    prefix.replace(/\u2581/g, " ")
                );
            } finally {
                await model.dispose();
            }
        });
    }

    test("a vocabulary without markers gets plain prefix completion, and the engine reports it", async () => {
        const modelPath = path.join(directory, "plain.gguf");
        await writeSyntheticModel(modelPath, tinySpec([]));
        const engine = await DialEngine.load({llama, modelPath, contextSize: 256, sequences: 1, threads: 1, calibrate: false});
        try {
            assert.equal(engine.completionStyle, "prefix");
            const result = await engine.complete({prefix: "x = ", suffix: "\n", maxTokens: 4});
            assert.equal(result.style, "prefix");
            assert.ok(result.stats.generatedTokens >= 1 && result.stats.generatedTokens <= 4);
        } finally {
            await engine.dispose();
        }
    });

    test("the engine completes a fill-in-the-middle model in its style", async () => {
        const modelPath = path.join(directory, "model-0.gguf");
        const engine = await DialEngine.load({llama, modelPath, contextSize: 256, sequences: 1, threads: 1, calibrate: false});
        try {
            assert.equal(engine.completionStyle, "qwen2.5-coder");
            assert.equal(engine.summary({binsDirectory: "", buildType: ""}).completionStyle, "qwen2.5-coder");
            const result = await engine.complete({prefix: "def f(", suffix: "):\n", maxTokens: 4});
            assert.equal(result.style, "qwen2.5-coder");
        } finally {
            await engine.dispose();
        }
    });
});

describe("a keystroke during a long prompt", () => {
    let engine: DialEngine;
    let directory: string;

    before(async () => {
        // wide enough that evaluating a long prompt takes a while on one thread
        directory = await fs.mkdtemp(path.join(os.tmpdir(), "layer-dial-abort-"));
        const modelPath = path.join(directory, "wide.gguf");
        await writeSyntheticModel(modelPath, {
            architecture: "llama",
            layerCount: 4,
            embeddingLength: 1024,
            feedForwardLength: 2816,
            headCount: 16,
            headCountKv: 4,
            vocabSize: 600,
            contextLength: 1024,
            weightType: "F16",
            seed: 11
        });
        engine = await DialEngine.load({llama: await patchedLlama(), modelPath, contextSize: 1024, sequences: 2, threads: 1, calibrate: false});
    });
    after(async () => {
        await engine.dispose();
        await fs.rm(directory, {recursive: true, force: true});
    });

    test("stops the native decode part-way, keeps no cell of it, and the next completion is the same as on a fresh cache", async () => {
        const prefix = "def compute(value, data, name):\n    return value + data\n".repeat(24);
        const controller = new AbortController();
        const pending = engine.complete({prefix, suffix: "", maxTokens: 6, signal: controller.signal});
        setTimeout(() => controller.abort(), 30);
        const aborted = await pending;
        assert.equal(aborted.stopReason, "aborted");
        assert.equal(aborted.stats.firstTokenMs, null, "no token came");
        assert.equal(engine.abortedDecodes, 1, "the prompt's decode was stopped part-way");
        assert.equal(engine.busySequences, 0);

        const afterAbort = await engine.complete({prefix, suffix: "", maxTokens: 6});
        assert.ok(afterAbort.stats.reusedPromptTokens <= 1, `reused ${afterAbort.stats.reusedPromptTokens}: cells of the aborted decode were kept`);
        // two other prompts at once take both sequences, then the same request again, from scratch
        await Promise.all([engine.complete({prefix: "x", suffix: "", maxTokens: 1}), engine.complete({prefix: "y", suffix: "", maxTokens: 1})]);
        const fresh = await engine.complete({prefix, suffix: "", maxTokens: 6});
        assert.ok(fresh.stats.reusedPromptTokens <= 1, `reused ${fresh.stats.reusedPromptTokens}`);
        assert.equal(afterAbort.text, fresh.text);
        assert.equal(engine.abortedDecodes, 1);
    });
});

describe("inline completion on a trained model", () => {
    let engine: DialEngine;
    const story = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.\n";

    before(async () => {
        engine = await DialEngine.load({llama: await patchedLlama(), modelPath: storiesPath, contextSize: 512, sequences: 2, threads: 1, calibrate: false});
    });
    after(async () => {
        await engine.dispose();
    });

    test("the next keystroke reuses the KV cache of the previous prompt", async () => {
        const first = await engine.complete({prefix: `${story}One day, Lily`, suffix: "", maxTokens: 4});
        const second = await engine.complete({prefix: `${story}One day, Lily w`, suffix: "", maxTokens: 4});
        assert.ok(first.stats.promptTokens > 20);
        assert.ok(
            second.stats.reusedPromptTokens >= first.stats.promptTokens - 2,
            `reused ${second.stats.reusedPromptTokens} of ${second.stats.promptTokens} (the previous prompt had ${first.stats.promptTokens})`
        );
        assert.ok(second.stats.firstTokenMs !== null && second.stats.firstTokenMs > 0);
    });

    test("a line with text gets a one-line suggestion that stops at the end of the line", async () => {
        const result = await engine.complete({prefix: "Once upon a time", suffix: "", maxTokens: 40});
        assert.equal(result.multiline, false);
        assert.ok(!result.text.includes("\n"), JSON.stringify(result.text));
        assert.ok(result.text.startsWith(", there was a little girl named Lily"), JSON.stringify(result.text));
    });

    test("a suggestion that starts a new word keeps the space before it", async () => {
        // SentencePiece spells the space into the word's token ("▁there"): detokenized alone, it would be lost
        const result = await engine.complete({prefix: "Once upon a time,", suffix: "", maxTokens: 40});
        assert.ok(result.text.startsWith(" there was a little girl named Lily"), JSON.stringify(result.text));
    });

    test("completions run at their own speed, unchanged by a chat request decoding beside them at 1x", async () => {
        assert.equal(engine.currentPlan.skippedLayers.length, 0);
        const request = {prefix: `${story}One day,`, suffix: "", speed: {speed: "Max" as const}, maxTokens: 12};
        const alone = await engine.complete(request);
        const [beside, chat] = await Promise.all([engine.complete(request), engine.generate({prompt: "The dog was", mode: "completion", maxTokens: 24})]);
        assert.ok(alone.stats.keptLayers < alone.stats.layerCount, "Max skips layers");
        assert.equal(beside.stats.keptLayers, alone.stats.keptLayers);
        assert.equal(beside.text, alone.text, "same mask, same greedy suggestion");
        assert.equal(chat.stats.keptLayers, chat.stats.layerCount, "the chat request kept the dial's 1x");
        assert.equal(chat.tokens.length, 24);
    });

    test("an aborted completion gives no suggestion and frees its sequence, whose prompt the next one reuses", async () => {
        const controller = new AbortController();
        const prefix = `${story}${story}Lily saw a big`;
        const aborted = await engine.complete({prefix, suffix: "", maxTokens: 40, signal: controller.signal, onText: () => controller.abort()});
        assert.equal(aborted.stopReason, "aborted");
        assert.equal(aborted.text, "");
        assert.ok(aborted.stats.generatedTokens <= 2, `decoded ${aborted.stats.generatedTokens} tokens after the abort`);
        assert.equal(engine.busySequences, 0);
        const next = await engine.complete({prefix: `${prefix} r`, suffix: "", maxTokens: 4});
        assert.ok(next.stats.reusedPromptTokens >= aborted.stats.promptTokens - 2, `reused ${next.stats.reusedPromptTokens}`);
    });

    test("through the scheduler, a keystroke supersedes the request in flight, which gives no suggestion", async () => {
        const firstKeystroke = new AbortController();
        let second: Promise<string | undefined> | undefined;
        const scheduler: CompletionScheduler<CompletionQuery> = new CompletionScheduler<CompletionQuery>({
            debounceMs: 1,
            backend: async (query, signal) => {
                const result = await engine.complete({
                    prefix: query.prefix,
                    suffix: query.suffix,
                    maxTokens: 24,
                    signal,
                    // the user types on while the first suggestion is being decoded
                    onText: () => {
                        if (second !== undefined) return;
                        firstKeystroke.abort();
                        second = scheduler.suggest({documentKey: "doc", prefix: `${story}Tom and`, suffix: ""}, new AbortController().signal);
                    }
                });
                return result.stopReason === "aborted" ? undefined : result.text;
            }
        });
        const first = scheduler.suggest({documentKey: "doc", prefix: `${story}Tom`, suffix: ""}, firstKeystroke.signal);
        assert.equal(await first, undefined);
        assert.ok(second !== undefined, "the first request produced no token");
        const text = await second;
        assert.ok(text !== undefined && text.length > 0, JSON.stringify(text));
        assert.deepEqual(
            {requested: scheduler.counts.requested, superseded: scheduler.counts.superseded, answered: scheduler.counts.answered},
            {requested: 2, superseded: 1, answered: 1}
        );
        assert.equal(engine.busySequences, 0);
    });
});
