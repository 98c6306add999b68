// Every synthetic architecture must load and run in real llama.cpp, and so must pruned copies.
// Uses node-llama-cpp's stock prebuilt CPU binary (build: "never"): our patched build may not
// exist yet, and file validity does not depend on the patches.
import {test, describe, before, after} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {getLlama, LlamaLogLevel, type Llama, type Token} from "node-llama-cpp";
import {writePrunedModel} from "../fixtures/gguf/prune.js";
import type {AttentionType} from "../fixtures/gguf/synthetic.js";
import {ensureTestFixtures, TEST_FIXTURES, type FixtureModel} from "../fixtures/fixture-models.js";

const PROMPT = "Hello world, def f(x): return x";

let llama: Llama;
let workDir = "";
/** llama.cpp log text since the last load; debug level includes each layer's is_swa flag. */
let logText = "";

before(async () => {
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), "gguf-load-"));
    await ensureTestFixtures();
    llama = await getLlama({
        gpu: false,
        build: "never",
        logLevel: LlamaLogLevel.debug,
        logger: (level, message) => {
            logText += message;
            if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) console.error(message);
        }
    });
});

after(async () => {
    await llama?.dispose();
    await fs.rm(workDir, {recursive: true, force: true});
});

/** Per-layer attention types as llama.cpp resolved them ("load_tensors: layer N assigned to device X, is_swa = B"). */
function loadedAttentionTypes(layerCount: number): AttentionType[] {
    const types: AttentionType[] = [];
    for (const match of logText.matchAll(/layer\s+(\d+) assigned to device [^,]+, is_swa = (\d)/g)) {
        const layer = Number(match[1]);
        if (layer < layerCount) types[layer] = match[2] === "1" ? "sliding" : "full";
    }
    return types;
}

type RunResult = {readonly attentionTypes: AttentionType[]; readonly generated: Token[]};

async function loadAndRun(modelPath: string, layerCount: number, vocabSize: number): Promise<RunResult> {
    logText = "";
    const model = await llama.loadModel({modelPath});
    try {
        // logs arrive through a thread-safe callback; let pending ones land
        await new Promise((resolve) => setImmediate(resolve));
        const attentionTypes = loadedAttentionTypes(layerCount);

        const tokens = model.tokenize(PROMPT);
        assert.ok(tokens.length > 1);
        assert.equal(model.detokenize(tokens), PROMPT, "byte fallback lets any text round-trip");

        // one thread: for models this small, multi-threaded sync costs ~1 s per token on a busy 2-core machine
        const context = await model.createContext({contextSize: 128, threads: 1});
        try {
            const sequence = context.getSequence();
            const last = tokens.length - 1;
            const outputs = await sequence.controlledEvaluate(
                tokens.map((token, index) => (index === last ? [token, {generateNext: {logits: true, token: true}}] : token))
            );
            const logits = outputs[last]?.next.logits;
            assert.ok(logits != null && logits.size === vocabSize, "logits for the whole vocabulary");
            for (const value of logits.values()) assert.ok(Number.isFinite(value), "finite logits");

            const generated: Token[] = [];
            const next = outputs[last]?.next.token;
            assert.ok(next != null);
            for await (const token of sequence.evaluate([next], {temperature: 0})) {
                generated.push(token);
                if (generated.length >= 4) break;
            }
            assert.equal(generated.length, 4);
            return {attentionTypes, generated};
        } finally {
            await context.dispose();
        }
    } finally {
        await model.dispose();
    }
}

/** A skip set that leaves both attention types in gemma models and is not a plain prefix. */
function keepLayersFor(fixture: FixtureModel): number[] {
    if (fixture.architecture === "gemma3") return [0, 5, 6, 7, 11];
    return Array.from({length: fixture.layerCount}, (_, layer) => layer).filter((layer) => layer % 3 !== 1);
}

describe("synthetic models run in llama.cpp", () => {
    for (const fixture of TEST_FIXTURES) {
        test(`${fixture.architecture}: loads, evaluates, generates`, async () => {
            const result = await loadAndRun(fixture.path, fixture.layerCount, fixture.spec.vocabSize);
            if (fixture.attentionTypes.includes("sliding"))
                assert.deepEqual(result.attentionTypes, fixture.attentionTypes, "llama.cpp uses the explicit per-layer pattern");
        });
    }
});

describe("pruned copies run in llama.cpp", () => {
    for (const fixture of TEST_FIXTURES) {
        test(`${fixture.architecture}: pruned copy loads and keeps attention types`, async () => {
            const keep = keepLayersFor(fixture);
            const destination = path.join(workDir, `${fixture.id}-pruned.gguf`);
            await writePrunedModel(fixture.path, destination, {keepLayers: keep});
            const result = await loadAndRun(destination, keep.length, fixture.spec.vocabSize);
            if (fixture.attentionTypes.includes("sliding"))
                assert.deepEqual(
                    result.attentionTypes,
                    keep.map((layer) => fixture.attentionTypes[layer])
                );
        });
    }
});
