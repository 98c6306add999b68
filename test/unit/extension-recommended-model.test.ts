// The first run's recommended model: the machine the engine host reports decides between the 0.5B,
// 1.5B and 7B Qwen2.5-Coder models.
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import {hasHardwareGpu, MODEL_CHOICES, recommendModel, type MachineFacts} from "../../extension/models/recommended-model.js";
import {parseHfUri} from "../../extension/models/model-path.js";
import {RECOMMENDED_MODEL_URI} from "../../extension/settings.js";

const GiB = 1024 ** 3;
const cpu = (ramGiB: number): MachineFacts => ({totalMemoryBytes: ramGiB * GiB, backend: "cpu", deviceNames: [], vramTotalBytes: 0});
const gpu = (ramGiB: number, vramGiB: number, device = "NVIDIA GeForce RTX 4070", backend = "cuda"): MachineFacts => ({
    totalMemoryBytes: ramGiB * GiB,
    backend,
    deviceNames: [device],
    vramTotalBytes: vramGiB * GiB
});

describe("recommended model", () => {
    test("a CPU-only machine gets the 1.5B from 8 GiB of RAM, however much more it has", () => {
        assert.equal(recommendModel(cpu(8)).choice, MODEL_CHOICES.medium);
        assert.equal(recommendModel(cpu(64)).choice, MODEL_CHOICES.medium);
        assert.match(recommendModel(cpu(64)).reason, /no GPU/);
    });

    test("under 8 GiB of RAM, the 0.5B", () => {
        assert.equal(recommendModel(cpu(7.5)).choice, MODEL_CHOICES.small);
        assert.equal(recommendModel(cpu(4)).choice, MODEL_CHOICES.small);
        assert.equal(recommendModel(gpu(6, 8)).choice, MODEL_CHOICES.small, "a big GPU does not make up for too little RAM");
    });

    test("a real GPU with 8 GiB of VRAM and 16 GiB of RAM gets the 7B", () => {
        assert.equal(recommendModel(gpu(16, 8)).choice, MODEL_CHOICES.large);
        assert.equal(recommendModel(gpu(32, 24, "Apple M2 Max", "metal")).choice, MODEL_CHOICES.large);
        assert.match(recommendModel(gpu(16, 8)).reason, /RTX 4070 has 8\.0 GiB/);
    });

    test("a smaller GPU, or too little RAM beside a big one, gets the 1.5B", () => {
        assert.equal(recommendModel(gpu(16, 6)).choice, MODEL_CHOICES.medium);
        assert.equal(recommendModel(gpu(12, 12)).choice, MODEL_CHOICES.medium);
    });

    test("a software rasterizer is the CPU: its 'VRAM' is system memory and does not earn the 7B", () => {
        const llvmpipe = gpu(64, 64, "llvmpipe (LLVM 15.0.6, 256 bits)", "vulkan");
        assert.equal(hasHardwareGpu(llvmpipe), false);
        assert.equal(recommendModel(llvmpipe).choice, MODEL_CHOICES.medium);
        assert.equal(hasHardwareGpu(gpu(16, 8)), true);
        assert.equal(hasHardwareGpu({...gpu(16, 8), vramTotalBytes: 0}), false);
    });

    test("every choice is a downloadable hf: file URI, sizes grow with the model, and the default setting is one of them", () => {
        const choices = [MODEL_CHOICES.small, MODEL_CHOICES.medium, MODEL_CHOICES.large];
        for (const choice of choices) assert.ok(parseHfUri(choice.uri)?.filePath?.endsWith(".gguf"), choice.uri);
        assert.ok(choices[0].approximateBytes < choices[1].approximateBytes && choices[1].approximateBytes < choices[2].approximateBytes);
        assert.equal(MODEL_CHOICES.medium.uri, RECOMMENDED_MODEL_URI);
    });
});
