// The patched build as every benchmark loads it: a GPU named with --gpu (LAYER_DIAL_GPU, which the worker
// processes inherit) must run, or the benchmark stops and says why. The engine itself falls back to the
// CPU; a benchmark that did so would report CPU numbers for a GPU run (it did, on an H200 whose Vulkan
// loader had no driver to find).
import {loadPatchedLlama, type LoadPatchedLlamaOptions, type PatchedLlama} from "../engine/native/loader.js";

export async function loadBenchLlama(options: LoadPatchedLlamaOptions = {}): Promise<PatchedLlama> {
    const chosen = process.env.LAYER_DIAL_GPU;
    const named = chosen != null && chosen !== "" && chosen !== "auto" && chosen !== "cpu";
    return await loadPatchedLlama({fallbackToCpu: !named, ...options});
}
