// The exactness suite on the GPU path: node-llama-cpp's prebuilt Vulkan backend, over Mesa's software
// Vulkan driver (lavapipe; `npm run setup` installs mesa-vulkan-drivers). Every layer offloaded for four
// architectures, and one partial offload whose skipped layers fall on both sides of the CPU/GPU split.
import assert from "node:assert/strict";
import {before, describe, test} from "node:test";
import type {Llama} from "node-llama-cpp";
import {loadPatchedLlama, type ComputeBackend} from "../../engine/native/loader.js";
import {testFixtureFor} from "../fixtures/fixture-models.js";
import {checkSkipEqualsPruned} from "../fixtures/exactness-check.js";

// lavapipe is a CPU-type Vulkan device, which ggml ignores unless told which devices to use
process.env.GGML_VK_VISIBLE_DEVICES ??= "0";
// Debian bookworm's lavapipe (Mesa 22.3) crashes in its own worker thread on ggml's fused shaders after a
// prompt with every logit is followed by a two-sequence batch; node-llama-cpp's stock Vulkan build
// crashes the same way (5 of 5 runs), and with fusion off neither does (10 of 10). A driver bug, so
// the test driver runs without fusion; real GPUs keep it.
process.env.GGML_VK_DISABLE_FUSION ??= "1";

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
