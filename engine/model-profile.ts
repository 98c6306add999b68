// What the planner needs to know about a model file: its layers' attention types (for iSWA models) and
// how many weight bytes each layer and the output head read per decoded token.
import fs from "node:fs";
import type {GgufTensorInfo} from "node-llama-cpp";
import {readGgufFile} from "./gguf/reader.js";
import {layerAndFixedBytes, type ModelShape, type TensorSize} from "./plan/index.js";

export type ModelProfile = {
    name: string;
    architecture: string;
    shape: ModelShape;
    layerBytes: number[];
    fixedBytes: number;
    /** the model's training context, when it says */
    trainContextSize: number | undefined;
    expertFraction: number;
    /** tokens in the vocabulary (the token embedding's rows): every token id is below it */
    vocabularySize: number;
};

type ArchitectureMetadata = {
    block_count?: number;
    context_length?: number;
    expert_count?: number;
    expert_used_count?: number;
    attention?: {sliding_window?: number; sliding_window_pattern?: number | boolean[]};
};

/** llama.cpp's own iSWA periods where a model file states none (gemma2: every 2nd layer global, gemma3: every 6th) */
const stockSlidingWindowPeriods: ReadonlyMap<string, number> = new Map([
    ["gemma2", 2],
    ["gemma3", 6]
]);

/** the period llama.cpp gives an architecture's sliding-window pattern when the file states none;
 *  undefined for an architecture that has no sliding-window layers by default */
export function stockSlidingWindowPeriod(architecture: string): number | undefined {
    return stockSlidingWindowPeriods.get(architecture);
}

/** llama_hparams::set_swa_pattern(period): true for each layer that uses sliding-window attention. Layer
 *  il slides unless it closes a period (period 0: every layer slides). The one implementation of the
 *  pattern: the synthetic GGUF writer of the tests calls it too. */
export function slidingWindowLayers(period: number, layerCount: number): boolean[] {
    return Array.from({length: layerCount}, (_, il) => period === 0 || il % period < period - 1);
}

function attentionTypes(architecture: string, metadata: ArchitectureMetadata, layerCount: number): string[] | undefined {
    const pattern = metadata.attention?.sliding_window_pattern;
    if (Array.isArray(pattern)) return pattern.slice(0, layerCount).map((sliding) => (sliding ? "sliding" : "full"));
    const period = typeof pattern === "number" ? pattern : stockSlidingWindowPeriod(architecture);
    if (period == null || ((metadata.attention?.sliding_window ?? 0) <= 0 && architecture !== "gemma2")) return undefined;
    return slidingWindowLayers(period, layerCount).map((sliding) => (sliding ? "sliding" : "full"));
}

/** tensor sizes from the offsets: tensors lie back to back (with alignment) in the data section */
function tensorSizes(tensorInfo: readonly GgufTensorInfo[], dataBytes: number): TensorSize[] {
    const tensors = [...tensorInfo].sort((a, b) => Number(a.offset) - Number(b.offset));
    const dataEnd = dataBytes;
    return tensors.map((tensor, index) => ({
        name: tensor.name,
        byteLength: Number(index + 1 < tensors.length ? tensors[index + 1].offset : dataEnd) - Number(tensor.offset)
    }));
}

function vocabularySize(tensors: readonly GgufTensorInfo[], metadata: {tokenizer?: {ggml?: {tokens?: unknown[]}}}): number {
    const embedding = tensors.find((tensor) => tensor.name === "token_embd.weight");
    const rows = embedding != null ? Number(embedding.dimensions[1]) : NaN;
    if (Number.isInteger(rows) && rows > 0) return rows;
    return metadata.tokenizer?.ggml?.tokens?.length ?? 0;
}

export async function readModelProfile(modelPath: string): Promise<ModelProfile> {
    const file = await readGgufFile(modelPath);
    const info = file.info;
    const architecture = String(info.metadata.general.architecture);
    const metadata = (info.metadata as unknown as Record<string, ArchitectureMetadata | undefined>)[architecture] ?? {};
    const layerCount = Number(metadata.block_count);
    const expertFraction =
        metadata.expert_count != null && metadata.expert_used_count != null && metadata.expert_count > 0
            ? metadata.expert_used_count / metadata.expert_count
            : 1;
    const {layerBytes, fixedBytes} = layerAndFixedBytes(tensorSizes(file.tensors, fs.statSync(modelPath).size - file.dataOffset), layerCount, {
        activeExpertFraction: expertFraction
    });
    const types = attentionTypes(architecture, metadata, layerCount);
    return {
        name: String(info.metadata.general.name ?? modelPath.split(/[\\/]/).at(-1)),
        architecture,
        shape: types != null && new Set(types).size > 1 ? {layerCount, attentionTypes: types} : {layerCount},
        layerBytes,
        fixedBytes,
        trainContextSize: metadata.context_length,
        expertFraction,
        vocabularySize: vocabularySize(file.tensors, info.metadata as unknown as {tokenizer?: {ggml?: {tokens?: unknown[]}}})
    };
}
