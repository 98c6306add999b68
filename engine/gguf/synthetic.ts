// Synthetic GGUF models: real llama.cpp architectures filled with seeded random weights.
// They load and run in llama.cpp like downloaded models, which lets tests and benchmarks
// exercise every architecture without multi-GB downloads. Weights are uniform noise of
// small spread and norms are 1, so activations stay finite through any number of layers.
import { GgmlType } from "node-llama-cpp";
import {
    planSyntheticModel, type AttentionType, type SyntheticModelPlan, type SyntheticModelSpec, type SyntheticTensorPlan
} from "./architectures.js";
import { Q8_0_BLOCK_BYTES, Q8_0_BLOCK_VALUES, tensorByteLength } from "./format.js";
import { buildLlamaVocabulary, llamaVocabularyMetadata } from "./llama-vocab.js";
import { float32ArrayToFloat16, float32ToFloat16Bits, fillRandomQ8_0Blocks, RANDOM_ODD_INT8_STD } from "./quantize.js";
import { hashString, SeededRandom } from "./random.js";
import { writeGgufFile, type GgufTensorToWrite, type GgufWriteSummary, type TensorDataSink } from "./writer.js";

export {
    SYNTHETIC_ARCHITECTURES, planSyntheticModel, stockSlidingWindowLayers, usesSlidingWindow,
    type AttentionType, type SyntheticArchitecture, type SyntheticModelSpec, type SyntheticWeightType
} from "./architectures.js";

export const DEFAULT_WEIGHT_STD = 0.02;
/** Bump whenever the same spec would produce different bytes, so cached fixtures get rewritten. */
export const SYNTHETIC_FORMAT_VERSION = 1;
/** Values generated per chunk: big enough to amortize calls, small enough to stay cache- and memory-friendly. */
const CHUNK_VALUES = 1 << 20;

export type SyntheticModelSummary = GgufWriteSummary & {
    readonly spec: SyntheticModelSpec;
    readonly attentionTypes: readonly AttentionType[];
};

/** Produces one tensor's bytes in chunks; deterministic per (seed, tensor name), independent of tensor order. */
async function writeTensorData(tensor: SyntheticTensorPlan, seed: number, weightStd: number, sink: TensorDataSink): Promise<void> {
    const elements = tensor.dimensions.reduce((product, dimension) => product * dimension, 1);
    const random = new SeededRandom(seed, hashString(tensor.name));

    if (tensor.content === "ones") {
        const ones = new Float32Array(elements).fill(1);
        await sink.write(new Uint8Array(ones.buffer));
        return;
    }

    const std = weightStd;
    if (tensor.type === GgmlType.Q8_0) {
        // every block shares one scale: quants of spread RANDOM_ODD_INT8_STD times d give spread `std`
        const scaleBits = float32ToFloat16Bits(std / RANDOM_ODD_INT8_STD);
        const blocksPerChunk = CHUNK_VALUES / Q8_0_BLOCK_VALUES;
        const chunk = new Uint8Array(Math.ceil((blocksPerChunk * Q8_0_BLOCK_BYTES) / 4) * 4);
        const fill = (words: Uint32Array): void => random.fillUint32(words);
        for (let remaining = elements / Q8_0_BLOCK_VALUES; remaining > 0; remaining -= blocksPerChunk) {
            const blocks = Math.min(blocksPerChunk, remaining);
            fillRandomQ8_0Blocks(chunk, blocks, scaleBits, fill);
            await sink.write(chunk.subarray(0, blocks * Q8_0_BLOCK_BYTES));
        }
        return;
    }

    const halfWidth = std * Math.sqrt(3);
    const values = new Float32Array(CHUNK_VALUES);
    for (let remaining = elements; remaining > 0; remaining -= CHUNK_VALUES) {
        const count = Math.min(CHUNK_VALUES, remaining);
        const slice = values.subarray(0, count);
        random.fillUniform(slice, halfWidth);
        if (tensor.type === GgmlType.F16) {
            const halves = float32ArrayToFloat16(slice);
            await sink.write(new Uint8Array(halves.buffer));
        } else {
            await sink.write(new Uint8Array(slice.buffer, 0, count * 4));
        }
    }
}

export function syntheticModelPlanWithVocabulary(spec: SyntheticModelSpec): SyntheticModelPlan {
    const plan = planSyntheticModel(spec);
    // llama.cpp's vocab loader looks up "<|endoftext|>" by text when the model name mentions phi3
    const extraControlTokens = [...(spec.architecture === "phi3" ? ["<|endoftext|>", "<|end|>"] : []), ...(spec.specialTokens ?? [])];
    const vocabulary = buildLlamaVocabulary(spec.vocabSize, extraControlTokens);
    return { ...plan, metadata: [...plan.metadata, ...llamaVocabularyMetadata(vocabulary)] };
}

/** Writes a synthetic model to `path` (streamed; memory stays at a few MB whatever the model size). */
export async function writeSyntheticModel(path: string, spec: SyntheticModelSpec): Promise<SyntheticModelSummary> {
    const plan = syntheticModelPlanWithVocabulary(spec);
    const weightStd = spec.weightStd ?? DEFAULT_WEIGHT_STD;
    const tensors: GgufTensorToWrite[] = plan.tensors.map((tensor) => ({
        name: tensor.name,
        dimensions: tensor.dimensions,
        type: tensor.type,
        byteLength: tensorByteLength(tensor.type, tensor.dimensions),
        writeData: (sink) => writeTensorData(tensor, spec.seed, weightStd, sink)
    }));
    const summary = await writeGgufFile(path, { metadata: plan.metadata, tensors });
    return { ...summary, spec, attentionTypes: plan.attentionTypes };
}
