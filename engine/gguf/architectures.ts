// What each supported llama.cpp architecture needs in a GGUF file: the hparams keys its
// loader requires and the exact tensor names and shapes its load_arch_tensors creates.
// Source of truth: llama.cpp src/models/<arch>.cpp (load_arch_hparams / load_arch_tensors),
// src/llama-arch.cpp (names) and llama_model_base::load_hparams (generic keys).
// llama.cpp refuses files with missing *or extra* tensors, so optional tensors are chosen
// deliberately per architecture to mirror what real conversions contain.
import { GgmlType } from "node-llama-cpp";
import type { WritableTensorType } from "./format.js";
import { gguf, type GgufMetadataEntry } from "./metadata.js";

export const SYNTHETIC_ARCHITECTURES = [
    "llama", "qwen2", "qwen3", "qwen3moe", "phi3", "gemma2", "gemma3", "mistral3", "starcoder2", "granite"
] as const;
export type SyntheticArchitecture = typeof SYNTHETIC_ARCHITECTURES[number];

export type SyntheticWeightType = "F16" | "Q8_0";
export type AttentionType = "full" | "sliding";

export type SyntheticModelSpec = {
    readonly architecture: SyntheticArchitecture;
    readonly layerCount: number;
    readonly embeddingLength: number;
    readonly feedForwardLength: number;
    readonly headCount: number;
    readonly headCountKv: number;
    readonly vocabSize: number;
    readonly contextLength: number;
    /** Type of the 2-D (and MoE 3-D) weight matrices inside the layers. */
    readonly weightType: SyntheticWeightType;
    /** Type of token_embd / output; defaults to `weightType`. Lets fixtures mix F16 and Q8_0. */
    readonly embeddingWeightType?: SyntheticWeightType;
    readonly seed: number;
    /** Control tokens to put in the vocabulary (e.g. a coder model's fill-in-the-middle markers). */
    readonly specialTokens?: readonly string[];
    /** Standard deviation of the random weights; small so activations stay finite. Default 0.02. */
    readonly weightStd?: number;
    /** gemma2/gemma3: per-layer sliding-window flags; default is the architecture's stock pattern. */
    readonly slidingWindowLayers?: readonly boolean[];
    /** gemma2/gemma3: window size in tokens. Default 32, small enough for tests to cross it. */
    readonly slidingWindow?: number;
    /** qwen3moe only. Defaults: 4 experts, 2 used, feedForwardLength / 2 per expert. */
    readonly expertCount?: number;
    readonly expertUsedCount?: number;
    readonly expertFeedForwardLength?: number;
    /**
     * Write head_count, head_count_kv and feed_forward_length as per-layer arrays instead of
     * scalars (as some real models do); exercises the pruner's per-layer metadata subsetting.
     */
    readonly perLayerArrays?: boolean;
    readonly name?: string;
};

/** How a tensor's values are generated. */
export type TensorContent = "weights" | "ones" | "biases";

export type SyntheticTensorPlan = {
    readonly name: string;
    readonly dimensions: readonly number[];
    readonly type: WritableTensorType;
    readonly content: TensorContent;
};

export type SyntheticModelPlan = {
    readonly metadata: GgufMetadataEntry[];
    readonly tensors: SyntheticTensorPlan[];
    readonly attentionTypes: AttentionType[];
};

export class InvalidSyntheticSpecError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InvalidSyntheticSpecError";
    }
}

const ggmlTypeOf: Record<SyntheticWeightType, WritableTensorType> = { F16: GgmlType.F16, Q8_0: GgmlType.Q8_0 };
/** llama_ftype values for general.file_type. */
const fileTypeOf: Record<SyntheticWeightType, number> = { F16: 1, Q8_0: 7 };

/** Stock pattern of llama.cpp's set_swa_pattern(n): every n-th layer (1-based) is full attention. */
export function stockSlidingWindowLayers(architecture: SyntheticArchitecture, layerCount: number): boolean[] {
    const period = architecture === "gemma2" ? 2 : architecture === "gemma3" ? 6 : 0;
    return Array.from({ length: layerCount }, (_, layer) => period > 0 && layer % period < period - 1);
}

export function usesSlidingWindow(architecture: SyntheticArchitecture): boolean {
    return architecture === "gemma2" || architecture === "gemma3";
}

function validate(spec: SyntheticModelSpec): void {
    const positive: [string, number][] = [
        ["layerCount", spec.layerCount], ["embeddingLength", spec.embeddingLength],
        ["feedForwardLength", spec.feedForwardLength], ["headCount", spec.headCount],
        ["headCountKv", spec.headCountKv], ["vocabSize", spec.vocabSize], ["contextLength", spec.contextLength]
    ];
    for (const [field, value] of positive)
        if (!Number.isSafeInteger(value) || value <= 0)
            throw new InvalidSyntheticSpecError(`${field} must be a positive integer, got ${value}`);
    if (!(SYNTHETIC_ARCHITECTURES as readonly string[]).includes(spec.architecture))
        throw new InvalidSyntheticSpecError(
            `Architecture "${spec.architecture}" is not supported; pick one of ${SYNTHETIC_ARCHITECTURES.join(", ")}`);
    if (spec.embeddingLength % spec.headCount !== 0)
        throw new InvalidSyntheticSpecError(
            `embeddingLength ${spec.embeddingLength} must be divisible by headCount ${spec.headCount}`);
    if (spec.headCount % spec.headCountKv !== 0)
        throw new InvalidSyntheticSpecError(
            `headCount ${spec.headCount} must be a multiple of headCountKv ${spec.headCountKv} (grouped-query attention)`);
    if ((spec.embeddingLength / spec.headCount) % 2 !== 0)
        throw new InvalidSyntheticSpecError("The head size (embeddingLength / headCount) must be even for RoPE");
    if (spec.slidingWindowLayers != null && spec.slidingWindowLayers.length !== spec.layerCount)
        throw new InvalidSyntheticSpecError(
            `slidingWindowLayers has ${spec.slidingWindowLayers.length} entries for ${spec.layerCount} layers; give one per layer`);
    if (spec.slidingWindowLayers != null && !usesSlidingWindow(spec.architecture))
        throw new InvalidSyntheticSpecError(`slidingWindowLayers only applies to gemma2 and gemma3, not ${spec.architecture}`);
}

/** Everything about a synthetic model except the random bytes. */
export function planSyntheticModel(spec: SyntheticModelSpec): SyntheticModelPlan {
    validate(spec);
    const arch = spec.architecture;
    const nEmbd = spec.embeddingLength;
    const nFf = spec.feedForwardLength;
    const headSize = nEmbd / spec.headCount;
    const nEmbdQ = headSize * spec.headCount;
    const nEmbdKv = headSize * spec.headCountKv;
    const matrixType = ggmlTypeOf[spec.weightType];
    const embeddingType = ggmlTypeOf[spec.embeddingWeightType ?? spec.weightType];

    const metadata: GgufMetadataEntry[] = [];
    const add = (key: string, value: GgufMetadataEntry["value"]): void => { metadata.push({ key, value }); };
    const perLayer = (value: number): GgufMetadataEntry["value"] => spec.perLayerArrays
        ? gguf.numbers("uint32", Array.from({ length: spec.layerCount }, () => value))
        : gguf.u32(value);

    add("general.architecture", gguf.str(arch));
    add("general.name", gguf.str(spec.name ?? `synthetic-${arch}-${spec.layerCount}L-${nEmbd}`));
    add("general.alignment", gguf.u32(32));
    add("general.file_type", gguf.u32(fileTypeOf[spec.weightType]));
    add(`${arch}.context_length`, gguf.u32(spec.contextLength));
    add(`${arch}.embedding_length`, gguf.u32(nEmbd));
    add(`${arch}.block_count`, gguf.u32(spec.layerCount));
    add(`${arch}.feed_forward_length`, perLayer(nFf));
    add(`${arch}.attention.head_count`, perLayer(spec.headCount));
    add(`${arch}.attention.head_count_kv`, perLayer(spec.headCountKv));
    add(`${arch}.rope.dimension_count`, gguf.u32(headSize));
    add(`${arch}.rope.freq_base`, gguf.f32(arch === "gemma3" ? 1_000_000 : 10_000));
    if (arch === "starcoder2")
        add(`${arch}.attention.layer_norm_epsilon`, gguf.f32(1e-5));
    else
        add(`${arch}.attention.layer_norm_rms_epsilon`, gguf.f32(arch.startsWith("gemma") ? 1e-6 : 1e-5));

    const attentionTypes: AttentionType[] = Array.from({ length: spec.layerCount }, () => "full");
    if (usesSlidingWindow(arch)) {
        const sliding = spec.slidingWindowLayers ?? stockSlidingWindowLayers(arch, spec.layerCount);
        sliding.forEach((isSliding, layer) => { attentionTypes[layer] = isSliding ? "sliding" : "full"; });
        add(`${arch}.attention.sliding_window`, gguf.u32(spec.slidingWindow ?? 32));
        // explicit per-layer flags (read by load_swa_pattern) survive pruning, a period would not
        add(`${arch}.attention.sliding_window_pattern`, gguf.bools(sliding));
    }
    if (arch === "gemma2") {
        add(`${arch}.attn_logit_softcapping`, gguf.f32(50));
        add(`${arch}.final_logit_softcapping`, gguf.f32(30));
    }
    if (arch === "gemma3")
        add(`${arch}.rope.freq_base_swa`, gguf.f32(10_000));
    if (arch === "granite") {
        add(`${arch}.logit_scale`, gguf.f32(8));
        add(`${arch}.residual_scale`, gguf.f32(0.22));
        add(`${arch}.embedding_scale`, gguf.f32(12));
        add(`${arch}.attention.scale`, gguf.f32(1 / headSize));
    }
    const expertCount = spec.expertCount ?? 4;
    const expertUsedCount = spec.expertUsedCount ?? 2;
    const expertFf = spec.expertFeedForwardLength ?? nFf / 2;
    if (arch === "qwen3moe") {
        add(`${arch}.expert_count`, gguf.u32(expertCount));
        add(`${arch}.expert_used_count`, gguf.u32(expertUsedCount));
        add(`${arch}.expert_feed_forward_length`, gguf.u32(expertFf));
    }

    const tensors: SyntheticTensorPlan[] = [];
    const weight = (name: string, dimensions: number[], type: WritableTensorType = matrixType): void => {
        tensors.push({ name, dimensions, type, content: "weights" });
    };
    const ones = (name: string, dimensions: number[]): void => {
        tensors.push({ name, dimensions, type: GgmlType.F32, content: "ones" });
    };
    const bias = (name: string, dimensions: number[]): void => {
        tensors.push({ name, dimensions, type: GgmlType.F32, content: "biases" });
    };

    // gemma ties the output to token_embd (it never loads output.weight); qwen2 small models tie too
    const tiedOutput = arch === "gemma2" || arch === "gemma3" || arch === "qwen2";
    weight("token_embd.weight", [nEmbd, spec.vocabSize], embeddingType);
    ones("output_norm.weight", [nEmbd]);
    if (arch === "starcoder2")
        bias("output_norm.bias", [nEmbd]);
    if (!tiedOutput)
        weight("output.weight", [nEmbd, spec.vocabSize], embeddingType);

    for (let layer = 0; layer < spec.layerCount; layer++) {
        const blk = `blk.${layer}`;
        ones(`${blk}.attn_norm.weight`, [nEmbd]);
        if (arch === "starcoder2")
            bias(`${blk}.attn_norm.bias`, [nEmbd]);

        if (arch === "phi3") {
            // phi3 conversions store the fused QKV projection
            weight(`${blk}.attn_qkv.weight`, [nEmbd, nEmbdQ + 2 * nEmbdKv]);
        } else {
            weight(`${blk}.attn_q.weight`, [nEmbd, nEmbdQ]);
            weight(`${blk}.attn_k.weight`, [nEmbd, nEmbdKv]);
            weight(`${blk}.attn_v.weight`, [nEmbd, nEmbdKv]);
            if (arch === "qwen2" || arch === "starcoder2") {
                bias(`${blk}.attn_q.bias`, [nEmbdQ]);
                bias(`${blk}.attn_k.bias`, [nEmbdKv]);
                bias(`${blk}.attn_v.bias`, [nEmbdKv]);
            }
        }
        weight(`${blk}.attn_output.weight`, [nEmbdQ, nEmbd]);
        if (arch === "starcoder2")
            bias(`${blk}.attn_output.bias`, [nEmbd]);
        if (arch === "qwen3" || arch === "qwen3moe" || arch === "gemma3") {
            ones(`${blk}.attn_q_norm.weight`, [headSize]);
            ones(`${blk}.attn_k_norm.weight`, [headSize]);
        }
        if (arch === "gemma2" || arch === "gemma3")
            ones(`${blk}.post_attention_norm.weight`, [nEmbd]);

        ones(`${blk}.ffn_norm.weight`, [nEmbd]);
        if (arch === "starcoder2")
            bias(`${blk}.ffn_norm.bias`, [nEmbd]);

        if (arch === "qwen3moe") {
            // the router stays F32 as in real conversions; it is tiny and precision-sensitive
            weight(`${blk}.ffn_gate_inp.weight`, [nEmbd, expertCount], GgmlType.F32);
            weight(`${blk}.ffn_gate_exps.weight`, [nEmbd, expertFf, expertCount]);
            weight(`${blk}.ffn_down_exps.weight`, [expertFf, nEmbd, expertCount]);
            weight(`${blk}.ffn_up_exps.weight`, [nEmbd, expertFf, expertCount]);
        } else if (arch === "phi3") {
            // phi3's ffn_up holds gate and up side by side
            weight(`${blk}.ffn_up.weight`, [nEmbd, 2 * nFf]);
            weight(`${blk}.ffn_down.weight`, [nFf, nEmbd]);
        } else if (arch === "starcoder2") {
            // plain GELU MLP, no gate
            weight(`${blk}.ffn_up.weight`, [nEmbd, nFf]);
            bias(`${blk}.ffn_up.bias`, [nFf]);
            weight(`${blk}.ffn_down.weight`, [nFf, nEmbd]);
            bias(`${blk}.ffn_down.bias`, [nEmbd]);
        } else {
            weight(`${blk}.ffn_gate.weight`, [nEmbd, nFf]);
            weight(`${blk}.ffn_up.weight`, [nEmbd, nFf]);
            weight(`${blk}.ffn_down.weight`, [nFf, nEmbd]);
        }
        if (arch === "gemma2" || arch === "gemma3")
            ones(`${blk}.post_ffw_norm.weight`, [nEmbd]);
    }

    return { metadata, tensors, attentionTypes };
}
