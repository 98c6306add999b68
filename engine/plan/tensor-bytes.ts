// Splits a GGUF model's tensors into what each layer reads per decoded token and what is read whatever
// the depth, as input to estimateCostModelFromTensorBytes.

export interface TensorSize {
    /** GGUF tensor name, e.g. "blk.3.attn_q.weight", "output.weight". */
    readonly name: string;
    readonly byteLength: number;
}

export interface LayerAndFixedBytes {
    readonly layerBytes: number[];
    readonly fixedBytes: number;
}

export interface TensorBytesOptions {
    /**
     * MoE models read only the routed experts per token: expert_used_count / expert_count of every
     * "_exps" tensor. Default 1 (dense).
     */
    readonly activeExpertFraction?: number;
}

const BLOCK_TENSOR = /^blk\.(\d+)\./;
const EXPERT_TENSOR = /_exps\./;

/**
 * The token embedding is a row lookup (one row per token, negligible), unless the model ties its output
 * head to it (no "output.weight"): then the head multiplies by the whole matrix every token.
 * Blocks numbered ≥ layerCount (e.g. multi-token-prediction layers) do not run during decode and are left out.
 * Any other tensor outside the blocks (output norm, head, rope factors) is counted as read every token.
 */
export function layerAndFixedBytes(tensors: readonly TensorSize[], layerCount: number, options: TensorBytesOptions = {}): LayerAndFixedBytes {
    const expertFraction = options.activeExpertFraction ?? 1;
    const layerBytes = Array.from({length: layerCount}, () => 0);
    const headIsTied = !tensors.some((tensor) => tensor.name === "output.weight");
    let fixedBytes = 0;
    for (const tensor of tensors) {
        const block = BLOCK_TENSOR.exec(tensor.name);
        if (block !== null) {
            const layer = Number(block[1]);
            if (layer < layerCount) layerBytes[layer] += EXPERT_TENSOR.test(tensor.name) ? tensor.byteLength * expertFraction : tensor.byteLength;
        } else if (tensor.name !== "token_embd.weight" || headIsTied) {
            fixedBytes += tensor.byteLength;
        }
    }
    return {layerBytes, fixedBytes};
}
