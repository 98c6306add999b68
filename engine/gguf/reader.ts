// Reading GGUF files goes through node-llama-cpp's parser (readGgufFileInfo); this module only
// reshapes its answer: nested metadata back to flat GGUF keys, and the data-section offsets.
import fs from "node:fs/promises";
import {closeSync, fstatSync, openSync, readSync} from "node:fs";
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

/** the fewest bytes one metadata record takes: key length (u64), a 1-byte key, value type (u32), a 1-byte value */
const MIN_METADATA_RECORD_BYTES = 8 + 1 + 4 + 1;
/** the fewest bytes one tensor record takes: name length (u64), a 1-byte name, n_dims (u32), one dimension (u64), type (u32), offset (u64) */
const MIN_TENSOR_RECORD_BYTES = 8 + 1 + 4 + 8 + 4 + 8;

/**
 * Refuses a GGUF header whose record counts cannot fit in the file, before any parser allocates or loops
 * over them: a header claiming 2^40 tensors otherwise keeps a reader busy for good. Checks only what the
 * fixed 24-byte header says (magic, version, tensor count, metadata count); the parser checks the rest.
 */
export function checkGgufHeader(path: string): void {
    const header = Buffer.alloc(24);
    const descriptor = openSync(path, "r");
    let fileBytes: number;
    let headerBytes: number;
    try {
        fileBytes = fstatSync(descriptor).size;
        headerBytes = readSync(descriptor, header, 0, header.length, 0);
    } finally {
        closeSync(descriptor);
    }
    if (headerBytes < header.length) throw new GgufReadError(path, `it has ${fileBytes} bytes, fewer than a GGUF header's 24`);
    if (header.toString("latin1", 0, 4) !== "GGUF") throw new GgufReadError(path, "it does not start with the GGUF magic");
    const version = header.readUInt32LE(4);
    if (version < 2) throw new GgufReadError(path, `it is GGUF version ${version}; llama.cpp reads version 2 and later`);
    const tensorCount = header.readBigUInt64LE(8);
    const metadataCount = header.readBigUInt64LE(16);
    const leastBytes = 24n + tensorCount * BigInt(MIN_TENSOR_RECORD_BYTES) + metadataCount * BigInt(MIN_METADATA_RECORD_BYTES);
    if (leastBytes > BigInt(fileBytes))
        throw new GgufReadError(
            path,
            `its header claims ${tensorCount} tensors and ${metadataCount} metadata entries, which need at least ${leastBytes} bytes, ` +
                `but the file has ${fileBytes}; it is truncated or corrupt`
        );
}

export async function readGgufFile(path: string): Promise<GgufFileContents> {
    checkGgufHeader(path);
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
