// A model whose architecture has no skip guard in the patch still runs at 1x, and asking it to skip
// layers is refused with an error that says so, instead of silently running every layer.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {test} from "node:test";
import {GgmlType} from "node-llama-cpp";
import {float32ArrayToFloat16} from "../fixtures/gguf/quantize.js";
import {seededRandom} from "../../engine/generation/sampler.js";
import {syntheticModelPlanWithVocabulary} from "../fixtures/gguf/synthetic.js";
import {tensorByteLength} from "../fixtures/gguf/format.js";
import {writeGgufFile} from "../fixtures/gguf/writer.js";
import {inspectModelFile} from "../../engine/native/model-file.js";
import {LayerSkipUnsupportedError} from "../../engine/native/skip-context.js";
import {testFixtureFor} from "../fixtures/fixture-models.js";
import {maskOf, openContext, patchedBuild, patchedLlama} from "./harness.js";

/** llama.cpp's "refact" graph reads the same tensors and keys as "llama", but the patch gives it no guard */
async function writeRefactModel(file: string) {
    const spec = {...testFixtureFor("llama").spec, weightType: "F16" as const, embeddingWeightType: "F16" as const};
    const plan = syntheticModelPlanWithVocabulary(spec);
    const random = seededRandom(5);
    const metadata = plan.metadata.map((entry) =>
        entry.key === "general.architecture"
            ? {key: entry.key, value: {type: "string" as const, value: "refact"}}
            : {...entry, key: entry.key.replace(/^llama\./, "refact.")}
    );
    await writeGgufFile(file, {
        metadata,
        tensors: plan.tensors.map((tensor) => ({
            name: tensor.name,
            dimensions: tensor.dimensions,
            type: tensor.type,
            byteLength: tensorByteLength(tensor.type, tensor.dimensions),
            writeData: async (sink) => {
                const count = tensor.dimensions.reduce((product, dimension) => product * dimension, 1);
                const values = Float32Array.from({length: count}, () => (tensor.content === "ones" ? 1 : (random() - 0.5) * 0.04));
                await sink.write(tensor.type === GgmlType.F16 ? new Uint8Array(float32ArrayToFloat16(values).buffer) : new Uint8Array(values.buffer));
            }
        }))
    });
}

test("an architecture without the skip guard runs at 1x and refuses to skip", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-refact-")), "refact-tiny.gguf");
    await writeRefactModel(file);
    const {layerSkipArchitectures} = await patchedBuild();
    const info = await inspectModelFile(file, {layerSkipArchitectures});
    assert.equal(info.architecture, "refact");
    assert.equal(info.layerSkipSupported, false);

    const model = await (await patchedLlama()).loadModel({modelPath: file});
    const context = await openContext(model, 1);
    try {
        assert.equal(context.skipSupported, false);
        await assert.rejects(
            context.setLayerSkip(maskOf(context.layerCount, [2])),
            (error: Error) => error instanceof LayerSkipUnsupportedError && /not.*support|no layer-skip support/i.test(error.message)
        );
        const [[logits]] = await context.decode([{sequenceId: 0, firstPosition: 0, tokens: model.tokenize("runs at full depth", false)}]);
        assert.ok(logits.every(Number.isFinite));
    } finally {
        await context.dispose();
        await model.dispose();
    }
});
