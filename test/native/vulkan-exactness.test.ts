// The exactness suite on the GPU path: node-llama-cpp's prebuilt Vulkan backend, over Mesa's software
// Vulkan driver (lavapipe; `npm run setup` installs mesa-vulkan-drivers). Every layer offloaded for four
// architectures, and one partial offload whose skipped layers fall on both sides of the CPU/GPU split.
import assert from "node:assert/strict";
import {before, describe, test} from "node:test";
import type {Llama} from "node-llama-cpp";
import {loadPatchedLlama, type ComputeBackend} from "../../engine/native/loader.js";
import {LayerSkipContext} from "../../engine/native/skip-context.js";
import {benchShapeFixture, ensureFixture, testFixtureFor} from "../fixtures/fixture-models.js";
import {checkSkipEqualsPruned} from "../fixtures/exactness-check.js";
import {useLavapipe} from "../fixtures/lavapipe.js";

// lavapipe needs three settings (see lavapipe.ts); they are set before the Vulkan backend loads
useLavapipe();

describe("on Vulkan, skipping layers equals physically removing them", () => {
    let llama: Llama;
    let backend: ComputeBackend;
    before(async () => {
        ({llama, backend} = await loadPatchedLlama({gpu: "vulkan", fallbackToCpu: false}));
    });

    test("the Vulkan backend runs, on a device", () => {
        assert.equal(backend.gpu, "vulkan");
        assert.ok(backend.deviceNames.length > 0);
        assert.match(backend.backendDirectory ?? "", /backends[\\/]vulkan$/);
        console.log(`vulkan devices: ${backend.deviceNames.join(", ")}`);
    });

    // lavapipe's crash on a long last batch with an output row (lavapipe.ts); on a 2x128 llama, as in a
    // long Summarize prompt: three 512-token batches, the last token's logits read. First in the file: after
    // the other tests had run in this process, it passed even without the setting
    test("a 1,400-token prompt decodes in 512-token batches and returns its last logits", async () => {
        const fixture = benchShapeFixture("2x128");
        await ensureFixture(fixture);
        const model = await llama.loadModel({modelPath: fixture.path, gpuLayers: "max"});
        try {
            const context = await LayerSkipContext.create(model, {contextSize: 1408, batchSize: 512, threads: 2});
            try {
                const prompt = Array.from({length: 1400}, (_, i) => 100 + ((i * 7) % 1000));
                const [[logits]] = await context.decode([{sequenceId: 0, firstPosition: 0, tokens: prompt}]);
                assert.equal(logits.length, 32000);
                assert.ok(logits.every(Number.isFinite), "every logit is a number");
            } finally {
                await context.dispose();
            }
        } finally {
            await model.dispose();
        }
    });

    for (const architecture of ["llama", "qwen2", "qwen3", "gemma3"] as const) {
        test(`${architecture}, every layer offloaded`, async () => {
            const fixture = testFixtureFor(architecture);
            const result = await checkSkipEqualsPruned(llama, fixture, {gpuLayers: fixture.layerCount + 1, label: "vulkan"});
            assert.equal(result.offloadedLayers, fixture.layerCount + 1);
        });
    }

    test("llama, partial offload: skipped layers on the CPU and on the GPU", async () => {
        const fixture = testFixtureFor("llama");
        const gpuLayers = Math.floor(fixture.layerCount / 2);
        const result = await checkSkipEqualsPruned(llama, fixture, {gpuLayers, label: "vulkan, partial"});
        assert.equal(result.offloadedLayers, gpuLayers);
        const onGpu = (layer: number) => layer >= fixture.layerCount - gpuLayers;
        assert.ok(
            result.skipped.some(onGpu) && result.skipped.some((layer) => !onGpu(layer)),
            `skip set [${result.skipped}] must straddle the split at layer ${fixture.layerCount - gpuLayers}`
        );
    });
});
