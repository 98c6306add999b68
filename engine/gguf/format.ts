// Constants of the GGUF v3 container format and the tensor types this package writes.
// Reading is node-llama-cpp's job (see reader.ts); these are what the writer and the
// pruner need to lay bytes out the way ggml's gguf.cpp expects them.
import { GgmlType } from "node-llama-cpp";

export const GGUF_MAGIC = "GGUF";
export const GGUF_VERSION = 3;
/** ggml's default when `general.alignment` is absent (GGUF_DEFAULT_ALIGNMENT). */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml rejects tensor names of GGML_MAX_NAME (64) bytes or more. */
export const GGML_MAX_NAME_BYTES = 63;
/** ggml tensors have at most GGML_MAX_DIMS dimensions. */
export const GGML_MAX_DIMS = 4;

/** GGUF metadata value type tags, as numbered in the file (gguf_type in gguf.h). */
export const GgufValueTypeTag = {
    uint8: 0,
    int8: 1,
    uint16: 2,
    int16: 3,
    uint32: 4,
    int32: 5,
    float32: 6,
    bool: 7,
    string: 8,
    array: 9,
    uint64: 10,
    int64: 11,
    float64: 12
} as const;
export type GgufValueTypeName = keyof typeof GgufValueTypeTag;
export type GgufScalarTypeName = Exclude<GgufValueTypeName, "array">;

const tagToName = new Map<number, GgufValueTypeName>(
    Object.entries(GgufValueTypeTag).map(([name, tag]) => [tag, name as GgufValueTypeName])
);

export class UnknownGgufValueTypeError extends Error {
    constructor(tag: number, where: string) {
        super(`GGUF value type tag ${tag} at ${where} is not one of the 13 types of GGUF v3; ` +
            "the file is corrupt or newer than this tool - check it with llama.cpp's gguf-dump");
        this.name = "UnknownGgufValueTypeError";
    }
}

export function valueTypeNameOfTag(tag: number, where: string): GgufValueTypeName {
    const name = tagToName.get(tag);
    if (name == null)
        throw new UnknownGgufValueTypeError(tag, where);
    return name;
}

/** Byte width of fixed-size scalars; strings are variable (u64 length + bytes). */
export const scalarByteWidth: Readonly<Record<Exclude<GgufScalarTypeName, "string">, number>> = {
    uint8: 1, int8: 1, bool: 1,
    uint16: 2, int16: 2,
    uint32: 4, int32: 4, float32: 4,
    uint64: 8, int64: 8, float64: 8
};

/** Q8_0: blocks of 32 values, each an f16 scale followed by 32 int8 quants. */
export const Q8_0_BLOCK_VALUES = 32;
export const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK_VALUES;

/** The tensor types the synthetic writer produces. */
export type WritableTensorType = GgmlType.F32 | GgmlType.F16 | GgmlType.Q8_0;

export class UnsupportedTensorLayoutError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UnsupportedTensorLayoutError";
    }
}

/**
 * Exact data size in bytes of a tensor (ggml_nbytes for contiguous tensors).
 * Only the types we generate are listed: copying other types (pruning) never needs their size,
 * it reuses the padded spans of the source file.
 */
export function tensorByteLength(type: WritableTensorType, dimensions: readonly number[]): number {
    const elements = dimensions.reduce((product, dimension) => product * dimension, 1);
    switch (type) {
        case GgmlType.F32: return elements * 4;
        case GgmlType.F16: return elements * 2;
        case GgmlType.Q8_0: {
            const rowLength = dimensions[0] ?? 0;
            if (rowLength % Q8_0_BLOCK_VALUES !== 0)
                throw new UnsupportedTensorLayoutError(
                    `Q8_0 needs the first dimension to be a multiple of ${Q8_0_BLOCK_VALUES}, got ${rowLength}; ` +
                    "choose sizes (n_embd, n_ff, head size x heads) that are multiples of 32 or use F16");
            return (elements / Q8_0_BLOCK_VALUES) * Q8_0_BLOCK_BYTES;
        }
    }
}

export function alignUp(offset: number, alignment: number): number {
    return Math.ceil(offset / alignment) * alignment;
}
