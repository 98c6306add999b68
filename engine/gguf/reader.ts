// Reading GGUF files goes through node-llama-cpp's parser (readGgufFileInfo); this module only
// reshapes its answer: nested metadata back to flat GGUF keys, and the data-section offsets.
import fs from "node:fs/promises";
import {readGgufFileInfo, type GgufFileInfo, type GgufTensorInfo} from "node-llama-cpp";

/** A metadata value as node-llama-cpp returns it (GGUF types are not preserved; see kv-index.ts). */
export type ReadMetadataValue = string | number | bigint | boolean | ReadMetadataValue[];

export type GgufFileContents = {
    readonly path: string;
    readonly info: GgufFileInfo;
    /** Flat GGUF keys ("llama.block_count") in file order, as node-llama-cpp parsed them. */
    readonly metadata: ReadonlyMap<string, ReadMetadataValue>;
    readonly tensors: readonly GgufTensorInfo[];
    /** File offset where the tensor data section starts (tensor offsets are relative to it). */
    readonly dataOffset: number;
    /** File offset just past the last metadata key/value record. */
    readonly metadataEnd: number;
};

export class GgufReadError extends Error {
    constructor(path: string, detail: string) {
        super(`Could not use GGUF file ${path}: ${detail}`);
        this.name = "GgufReadError";
    }
}

function isNestedObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * node-llama-cpp nests metadata by the dots in its keys ({llama: {block_count: 24}});
 * joining the path back with dots restores the original keys, including the few it keeps
 * un-nested such as "general.license".
 */
export function flattenGgufMetadata(nested: unknown): Map<string, ReadMetadataValue> {
    const flat = new Map<string, ReadMetadataValue>();
    const visit = (node: Record<string, unknown>, prefix: string): void => {
        for (const [key, value] of Object.entries(node)) {
            const path = prefix === "" ? key : `${prefix}.${key}`;
            if (isNestedObject(value)) visit(value, path);
            else flat.set(path, value as ReadMetadataValue);
        }
    };
    if (isNestedObject(nested)) visit(nested, "");
    return flat;
}

export async function readGgufFile(path: string): Promise<GgufFileContents> {
    const info = await readGgufFileInfo(path, {sourceType: "filesystem", spliceSplitFiles: false, logWarnings: false});
    if (info.tensorInfo == null || info.infoEndOffset == null)
        throw new GgufReadError(path, "node-llama-cpp returned no tensor info; the file is truncated or not a model");
    return {
        path,
        info,
        metadata: flattenGgufMetadata(info.metadata),
        tensors: info.tensorInfo,
        dataOffset: info.infoEndOffset,
        metadataEnd: info.metadataSize
    };
}

export function tensorFileOffset(tensor: GgufTensorInfo): number {
    return Number(tensor.fileOffset);
}

/** Reads `byteLength` bytes of a tensor's data (e.g. to compare tensors between files). */
export async function readTensorBytes(path: string, tensor: GgufTensorInfo, byteLength: number): Promise<Buffer> {
    const handle = await fs.open(path, "r");
    try {
        const bytes = Buffer.alloc(byteLength);
        const {bytesRead} = await handle.read(bytes, 0, byteLength, tensorFileOffset(tensor));
        if (bytesRead !== byteLength) throw new GgufReadError(path, `tensor ${tensor.name} is cut short (${bytesRead} of ${byteLength} bytes)`);
        return bytes;
    } finally {
        await handle.close();
    }
}
