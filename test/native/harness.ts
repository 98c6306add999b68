// Shared set-up for tests that run the real patched llama.cpp build on real GGUF files.
import type {Llama, LlamaModel} from "node-llama-cpp";
import {addonContextOf, type AddonContext} from "../../engine/native/internals.js";
import {loadPatchedLlama, type PatchedLlama} from "../../engine/native/loader.js";
import {LayerSkipContext} from "../../engine/native/skip-context.js";

let patched: Promise<PatchedLlama> | undefined;

/** the patched build, loaded once per test process, on the CPU */
export function patchedBuild(): Promise<PatchedLlama> {
    patched ??= loadPatchedLlama({gpu: "cpu"});
    return patched;
}

/** one patched Llama per test process, on the CPU; models and contexts are the tests' own */
export async function patchedLlama(): Promise<Llama> {
    return (await patchedBuild()).llama;
}

/** one thread: the tiny test models gain nothing from more, and a busy-waiting thread pool on a shared
 *  2-core machine turns milliseconds into seconds */
export async function openContext(model: LlamaModel, sequences = 2, batchSize?: number): Promise<LayerSkipContext> {
    return await LayerSkipContext.create(model, {contextSize: 256, sequences, threads: 1, batchSize});
}

export function maxAbsDifference(a: Float32Array, b: Float32Array): number {
    if (a.length !== b.length) throw new Error(`logit rows differ in length: ${a.length} vs ${b.length}`);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
    return max;
}

export function maxAbsDifferenceOfRows(a: readonly Float32Array[], b: readonly Float32Array[]): number {
    if (a.length !== b.length) throw new Error(`different numbers of logit rows: ${a.length} vs ${b.length}`);
    return a.reduce((max, row, i) => Math.max(max, maxAbsDifference(row, b[i])), 0);
}

/** the greedy choice, exactly as generation makes it */
export {argmaxToken as argmax} from "../../engine/generation/sampler.js";

export function allFinite(logits: Float32Array): boolean {
    return logits.every((value) => Number.isFinite(value));
}

export function range(count: number): number[] {
    return Array.from({length: count}, (_, i) => i);
}

export function maskOf(layerCount: number, skipped: readonly number[]): Uint8Array {
    const mask = new Uint8Array(layerCount);
    for (const layer of skipped) mask[layer] = 1;
    return mask;
}

/** decodes `tokens` into sequence 0 of a raw addon context from an empty cache; returns the batch row of the last one, the only output */
export async function decodeWithOneOutputRow(addon: AddonContext, tokens: readonly number[]): Promise<number> {
    addon.removeTokenCellsFromSequence(0, 0, -1);
    addon.initBatch(tokens.length);
    const [row] = addon.addToBatch(0, 0, Uint32Array.from(tokens), Uint32Array.of(tokens.length - 1));
    await addon.decodeBatch();
    return row;
}

/**
 * Runs `check` on a raw addon context (node-llama-cpp's, no LayerSkipContext around it) that has decoded
 * `tokens` with the last one as its only output row, which `check` gets; the context is disposed after.
 */
export async function withOneOutputRow(model: LlamaModel, tokens: readonly number[], check: (addon: AddonContext, row: number) => void): Promise<void> {
    const raw = await model.createContext({contextSize: 64, sequences: 1, threads: 1});
    try {
        const addon = addonContextOf(raw);
        check(addon, await decodeWithOneOutputRow(addon, tokens));
    } finally {
        await raw.dispose();
    }
}
