// Synthetic models: deterministic bytes, the planned tensors and hparams, a complete vocabulary.
// (That llama.cpp actually loads them is gguf-llama-load.test.ts.)
import {test, describe, before, after} from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {GgmlType} from "node-llama-cpp";
import {
    SYNTHETIC_ARCHITECTURES,
    planSyntheticModel,
    stockSlidingWindowLayers,
    writeSyntheticModel,
    DEFAULT_WEIGHT_STD,
    type SyntheticModelSpec
} from "../fixtures/gguf/synthetic.js";
import {InvalidSyntheticSpecError} from "../fixtures/gguf/architectures.js";
import {readGgufFile, readTensorBytes} from "../../engine/gguf/reader.js";
import {indexMetadataRecords} from "../fixtures/gguf/kv-index.js";
import {tensorByteLength, type WritableTensorType} from "../fixtures/gguf/format.js";
import {buildLlamaVocabulary, TokenType, VocabularyTooSmallError} from "../fixtures/gguf/llama-vocab.js";
import {float16BitsToFloat32, RANDOM_ODD_INT8_STD} from "../fixtures/gguf/quantize.js";
import {TEST_FIXTURES, BENCH_FIXTURE} from "../fixtures/fixture-models.js";

let workDir = "";
before(async () => {
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), "gguf-synthetic-"));
});
after(async () => {
    await fs.rm(workDir, {recursive: true, force: true});
});

const baseSpec: SyntheticModelSpec = {
    architecture: "llama",
    layerCount: 2,
    embeddingLength: 64,
    feedForwardLength: 128,
    headCount: 4,
    headCountKv: 2,
    vocabSize: 300,
    contextLength: 128,
    weightType: "Q8_0",
    embeddingWeightType: "F16",
    seed: 7
};

async function sha256(filePath: string): Promise<string> {
    return crypto
        .createHash("sha256")
        .update(await fs.readFile(filePath))
        .digest("hex");
}

describe("determinism", () => {
    test("the same spec and seed give the same bytes; another seed gives other bytes", async () => {
        const first = path.join(workDir, "a.gguf");
        const second = path.join(workDir, "b.gguf");
        const reseeded = path.join(workDir, "c.gguf");
        await writeSyntheticModel(first, baseSpec);
        await writeSyntheticModel(second, baseSpec);
        await writeSyntheticModel(reseeded, {...baseSpec, seed: 8});
        assert.equal(await sha256(first), await sha256(second));
        assert.notEqual(await sha256(first), await sha256(reseeded));
    });

    test("a tensor's values depend on its name and the seed, not on the other layers", async () => {
        const small = path.join(workDir, "two-layers.gguf");
        const large = path.join(workDir, "three-layers.gguf");
        await writeSyntheticModel(small, baseSpec);
        await writeSyntheticModel(large, {...baseSpec, layerCount: 3});
        const [smallContents, largeContents] = await Promise.all([readGgufFile(small), readGgufFile(large)]);
        for (const name of ["blk.1.attn_q.weight", "blk.1.ffn_down.weight", "token_embd.weight"]) {
            const a = smallContents.tensors.find((tensor) => tensor.name === name)!;
            const b = largeContents.tensors.find((tensor) => tensor.name === name)!;
            const length = tensorByteLength(a.ggmlType as WritableTensorType, a.dimensions.map(Number));
            assert.ok((await readTensorBytes(small, a, length)).equals(await readTensorBytes(large, b, length)), name);
        }
    });
});

describe("every architecture's file matches its plan", () => {
    for (const architecture of SYNTHETIC_ARCHITECTURES) {
        test(architecture, async () => {
            const spec: SyntheticModelSpec = {...baseSpec, architecture, layerCount: architecture === "gemma3" ? 6 : 2, seed: 3};
            const filePath = path.join(workDir, `${architecture}.gguf`);
            await writeSyntheticModel(filePath, spec);
            const plan = planSyntheticModel(spec);
            const contents = await readGgufFile(filePath);

            assert.deepEqual(
                contents.tensors.map((tensor) => [tensor.name, tensor.dimensions, tensor.ggmlType]),
                plan.tensors.map((tensor) => [tensor.name, tensor.dimensions, tensor.type])
            );
            assert.equal(contents.metadata.get("general.architecture"), architecture);
            for (const key of ["block_count", "context_length", "embedding_length", "attention.head_count", "attention.head_count_kv"])
                assert.ok(contents.metadata.has(`${architecture}.${key}`), `${architecture}.${key}`);
            assert.equal(contents.metadata.get(`${architecture}.block_count`), spec.layerCount);

            // llama.cpp checks types strictly: hparams integers must be uint32, epsilons float32
            const records = await indexMetadataRecords(filePath, contents.metadataEnd);
            const typeOf = new Map(records.map((record) => [record.key, record.valueType]));
            assert.equal(typeOf.get(`${architecture}.block_count`), "uint32");
            assert.equal(typeOf.get("tokenizer.ggml.bos_token_id"), "uint32");
            const epsilonKey = architecture === "starcoder2" ? "attention.layer_norm_epsilon" : "attention.layer_norm_rms_epsilon";
            assert.equal(typeOf.get(`${architecture}.${epsilonKey}`), "float32");

            const tokens = contents.metadata.get("tokenizer.ggml.tokens");
            assert.ok(Array.isArray(tokens) && tokens.length === spec.vocabSize);
            const embedding = contents.tensors.find((tensor) => tensor.name === "token_embd.weight")!;
            assert.deepEqual(embedding.dimensions, [spec.embeddingLength, spec.vocabSize]);
        });
    }
});

describe("sliding-window layers", () => {
    test("gemma2 and gemma3 write an explicit per-layer pattern that defaults to llama.cpp's stock period", async () => {
        assert.deepEqual(stockSlidingWindowLayers("gemma2", 4), [true, false, true, false]);
        assert.deepEqual(stockSlidingWindowLayers("gemma3", 7), [true, true, true, true, true, false, true]);
        const custom = [false, true, true, false, true, true];
        const filePath = path.join(workDir, "gemma3-custom.gguf");
        const summary = await writeSyntheticModel(filePath, {
            ...baseSpec,
            architecture: "gemma3",
            layerCount: 6,
            slidingWindowLayers: custom,
            slidingWindow: 8
        });
        assert.deepEqual(
            summary.attentionTypes,
            custom.map((sliding) => (sliding ? "sliding" : "full"))
        );
        const contents = await readGgufFile(filePath);
        assert.deepEqual(contents.metadata.get("gemma3.attention.sliding_window_pattern"), custom);
        assert.equal(contents.metadata.get("gemma3.attention.sliding_window"), 8);
        const records = await indexMetadataRecords(filePath, contents.metadataEnd);
        const pattern = records.find((record) => record.key === "gemma3.attention.sliding_window_pattern")!;
        assert.equal(pattern.itemType, "bool");
    });

    test("other architectures have only full attention and refuse a pattern", () => {
        assert.deepEqual(planSyntheticModel(baseSpec).attentionTypes, ["full", "full"]);
        assert.throws(() => planSyntheticModel({...baseSpec, slidingWindowLayers: [true, false]}), InvalidSyntheticSpecError);
        assert.throws(() => planSyntheticModel({...baseSpec, architecture: "gemma2", slidingWindowLayers: [true]}), InvalidSyntheticSpecError);
    });
});

describe("weights", () => {
    test("Q8_0 blocks share the scale for the requested spread and never use -128", async () => {
        const filePath = path.join(workDir, "q8.gguf");
        await writeSyntheticModel(filePath, baseSpec);
        const contents = await readGgufFile(filePath);
        const tensor = contents.tensors.find((candidate) => candidate.name === "blk.0.ffn_up.weight")!;
        assert.equal(tensor.ggmlType, GgmlType.Q8_0);
        const bytes = await readTensorBytes(filePath, tensor, tensorByteLength(GgmlType.Q8_0, tensor.dimensions.map(Number)));
        const expectedScale = DEFAULT_WEIGHT_STD / RANDOM_ODD_INT8_STD;
        let sumOfSquares = 0;
        let count = 0;
        for (let blockStart = 0; blockStart < bytes.length; blockStart += 34) {
            const scale = float16BitsToFloat32(bytes.readUInt16LE(blockStart));
            assert.ok(Math.abs(scale - expectedScale) / expectedScale < 1e-3);
            for (let index = 0; index < 32; index++) {
                const quant = bytes.readInt8(blockStart + 2 + index);
                assert.notEqual(quant, -128);
                sumOfSquares += (quant * scale) ** 2;
                count++;
            }
        }
        const std = Math.sqrt(sumOfSquares / count);
        assert.ok(Math.abs(std - DEFAULT_WEIGHT_STD) < 0.002, `std ${std}`);
    });

    test("norms are exactly 1 (F32) and F16 weights are small", async () => {
        const filePath = path.join(workDir, "f16.gguf");
        await writeSyntheticModel(filePath, {...baseSpec, weightType: "F16"});
        const contents = await readGgufFile(filePath);
        const norm = contents.tensors.find((tensor) => tensor.name === "blk.0.attn_norm.weight")!;
        assert.equal(norm.ggmlType, GgmlType.F32);
        const normBytes = await readTensorBytes(filePath, norm, 64 * 4);
        assert.deepEqual([...new Float32Array(normBytes.buffer, normBytes.byteOffset, 64)], new Array(64).fill(1));

        const weight = contents.tensors.find((tensor) => tensor.name === "blk.0.attn_k.weight")!;
        assert.equal(weight.ggmlType, GgmlType.F16);
        const weightBytes = await readTensorBytes(filePath, weight, 64 * 32 * 2);
        const limit = DEFAULT_WEIGHT_STD * Math.sqrt(3) * 1.001;
        for (let offset = 0; offset < weightBytes.length; offset += 2) assert.ok(Math.abs(float16BitsToFloat32(weightBytes.readUInt16LE(offset))) <= limit);
    });
});

describe("llama (SentencePiece) vocabulary", () => {
    test("special tokens, 256 byte tokens, unique word pieces up to the requested size", () => {
        const vocabulary = buildLlamaVocabulary(32000);
        assert.equal(vocabulary.tokens.length, 32000);
        assert.deepEqual(vocabulary.tokens.slice(0, 3), ["<unk>", "<s>", "</s>"]);
        assert.deepEqual(vocabulary.tokenTypes.slice(0, 3), [TokenType.unknown, TokenType.control, TokenType.control]);
        for (let byte = 0; byte < 256; byte++) {
            assert.equal(vocabulary.tokens[3 + byte], `<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
            assert.equal(vocabulary.tokenTypes[3 + byte], TokenType.byte);
        }
        assert.equal(new Set(vocabulary.tokens).size, vocabulary.tokens.length);
        assert.ok(vocabulary.tokens.includes("\u2581the"));
        assert.ok(vocabulary.tokens.includes("\u2581def"));
    });

    test("too small a vocabulary is refused with the minimum size", () => {
        assert.throws(() => buildLlamaVocabulary(100), VocabularyTooSmallError);
    });
});

describe("fixture list", () => {
    test("one tiny model per architecture, each with per-layer attention types", () => {
        assert.deepEqual(
            TEST_FIXTURES.map((fixture) => fixture.architecture),
            [...SYNTHETIC_ARCHITECTURES]
        );
        for (const fixture of TEST_FIXTURES) {
            assert.equal(fixture.attentionTypes.length, fixture.layerCount);
            assert.ok(fixture.path.endsWith(`${fixture.id}.gguf`));
        }
        const gemma3 = TEST_FIXTURES.find((fixture) => fixture.architecture === "gemma3")!;
        assert.ok(gemma3.layerCount >= 12);
        assert.deepEqual(
            gemma3.attentionTypes.map((type, layer) => [layer, type]).filter(([, type]) => type === "full"),
            [
                [5, "full"],
                [11, "full"]
            ]
        );
        assert.equal(BENCH_FIXTURE.path.endsWith("bench-llama-24L-2048.gguf"), true);
    });
});
