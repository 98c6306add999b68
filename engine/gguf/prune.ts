// Writes a copy of a GGUF model that keeps only some transformer layers.
// It is the exactness oracle for layer skipping: running the pruned file must give the same
// logits as running the full file with the other layers skipped. So nothing but the layer
// structure may change: kept tensors are byte-for-byte copies, renumbered blk.0..blk.k-1 in their
// original order, `<arch>.block_count` becomes k, per-layer metadata arrays are subset, and every
// other metadata record is copied verbatim (type tag included).
import fs from "node:fs/promises";
import { GgmlType, type GgufTensorInfo } from "node-llama-cpp";
import { tensorByteLength, type WritableTensorType } from "./format.js";
import { indexMetadataRecordsInBuffer, type MetadataRecordLocation } from "./kv-index.js";
import {
    encodeMetadataEntryToBuffer, type EncodedMetadataEntry, type GgufArrayValue, type GgufScalarValue
} from "./metadata.js";
import { readGgufFile, tensorFileOffset, type GgufFileContents, type ReadMetadataValue } from "./reader.js";
import { resolveAlignment, writeGgufFile, type GgufTensorToWrite, type GgufWriteSummary } from "./writer.js";

/**
 * `<arch>.` keys that llama.cpp reads as one value per layer (get_key_or_arr with n_layer, or
 * per-layer flag arrays). When stored as arrays they must shrink with the layers, or llama.cpp
 * fails with "wrong array length" - or worse, gives layers the wrong attention type.
 */
export const PER_LAYER_METADATA_SUFFIXES = [
    "feed_forward_length",
    "expert_feed_forward_length",
    "expert_used_count",
    "swiglu_clamp_exp",
    "swiglu_clamp_shexp",
    "attention.head_count",
    "attention.head_count_kv",
    "attention.sliding_window_pattern",
    "attention.rope_pattern",
    "attention.recurrent_layers",
    "attention.indexer.types"
] as const;

export type PruneOptions = {
    /** Original indices of the layers to keep; order does not matter, duplicates are refused. */
    readonly keepLayers: readonly number[];
};

export type PruneSummary = GgufWriteSummary & {
    readonly architecture: string;
    readonly originalLayerCount: number;
    /** Original indices, ascending; new layer i is original layer keptLayers[i]. */
    readonly keptLayers: readonly number[];
    /** Per-layer metadata keys that were subset. */
    readonly subsetKeys: readonly string[];
};

export class PruneError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PruneError";
    }
}

const LAYER_TENSOR_NAME = /^blk\.(\d+)\.(.+)$/;
const COPY_CHUNK_BYTES = 8 * 1024 * 1024;

function requireNumber(contents: GgufFileContents, key: string): number {
    const value = contents.metadata.get(key);
    if (typeof value !== "number" && typeof value !== "bigint")
        throw new PruneError(`${contents.path} has no numeric "${key}"; only llama.cpp transformer models can be pruned`);
    return Number(value);
}

function normalizeKeepLayers(keepLayers: readonly number[], layerCount: number): number[] {
    if (keepLayers.length === 0)
        throw new PruneError("keepLayers is empty; a model needs at least one layer");
    const sorted = [...keepLayers].sort((a, b) => a - b);
    for (const [index, layer] of sorted.entries()) {
        if (!Number.isSafeInteger(layer) || layer < 0 || layer >= layerCount)
            throw new PruneError(`Layer ${layer} does not exist; the model has layers 0..${layerCount - 1}`);
        if (index > 0 && sorted[index - 1] === layer)
            throw new PruneError(`Layer ${layer} is listed twice in keepLayers; list each layer once`);
    }
    return sorted;
}

/** Re-encodes an array record with its original item type, keeping only the kept layers' entries. */
function subsetArrayRecord(record: MetadataRecordLocation, values: ReadMetadataValue, keptLayers: readonly number[]): Buffer {
    if (!Array.isArray(values) || record.itemType == null)
        throw new PruneError(`"${record.key}" is an array in the file but node-llama-cpp did not read it as one`);
    const kept = keptLayers.map((layer) => values[layer]);
    let value: GgufArrayValue;
    switch (record.itemType) {
        case "bool":
            value = { type: "array", itemType: "bool", values: kept.map((item) => item === true) };
            break;
        case "string":
            value = { type: "array", itemType: "string", values: kept.map(String) };
            break;
        case "uint64":
        case "int64":
            value = { type: "array", itemType: record.itemType, values: kept.map((item) => BigInt(item as number | bigint)) };
            break;
        default:
            value = { type: "array", itemType: record.itemType, values: kept.map(Number) };
    }
    return encodeMetadataEntryToBuffer({ key: record.key, value });
}

function encodeBlockCount(record: MetadataRecordLocation, layerCount: number): Buffer {
    let value: GgufScalarValue;
    switch (record.valueType) {
        case "uint8": case "int8": case "uint16": case "int16": case "uint32": case "int32":
            value = { type: record.valueType, value: layerCount };
            break;
        case "uint64": case "int64":
            value = { type: record.valueType, value: BigInt(layerCount) };
            break;
        default:
            throw new PruneError(`"${record.key}" has type ${record.valueType}; expected an integer`);
    }
    return encodeMetadataEntryToBuffer({ key: record.key, value });
}

function prunedMetadata(
    contents: GgufFileContents, records: readonly MetadataRecordLocation[], rawMetadata: Buffer,
    architecture: string, originalLayerCount: number, keptLayers: readonly number[]
): { entries: EncodedMetadataEntry[]; subsetKeys: string[] } {
    const blockCountKey = `${architecture}.block_count`;
    const perLayerKeys = new Set(PER_LAYER_METADATA_SUFFIXES.map((suffix) => `${architecture}.${suffix}`));
    const subsetKeys: string[] = [];

    const entries = records.map((record): EncodedMetadataEntry => {
        if (record.key === blockCountKey)
            return { key: record.key, encoded: encodeBlockCount(record, keptLayers.length) };
        if (perLayerKeys.has(record.key) && record.valueType === "array") {
            if (record.arrayLength !== originalLayerCount)
                throw new PruneError(`"${record.key}" has ${record.arrayLength} entries for ${originalLayerCount} layers; ` +
                    "cannot tell which entry belongs to which layer");
            const values = contents.metadata.get(record.key);
            if (values == null)
                throw new PruneError(`"${record.key}" is in ${contents.path} but node-llama-cpp did not report it; ` +
                    "the file may have duplicate or conflicting keys");
            subsetKeys.push(record.key);
            return { key: record.key, encoded: subsetArrayRecord(record, values, keptLayers) };
        }
        // copied verbatim: same bytes, same type tag
        return { key: record.key, encoded: rawMetadata.subarray(record.start, record.end) };
    });
    return { entries, subsetKeys };
}

const exactSizeTypes = new Set<GgmlType>([GgmlType.F32, GgmlType.F16, GgmlType.Q8_0]);

/**
 * Bytes to copy per tensor. ggml requires each tensor's offset to be the sum of the padded sizes
 * before it, so in any loadable file the gap to the next tensor is exactly the padded size;
 * copying that span works for every quantization type without a table of block sizes.
 */
function tensorCopyLengths(contents: GgufFileContents, fileBytes: number, alignment: number): number[] {
    const tensors = contents.tensors;
    return tensors.map((tensor, index) => {
        const start = Number(tensor.offset);
        const end = index + 1 < tensors.length ? Number(tensors[index + 1].offset) : fileBytes - contents.dataOffset;
        if ((index === 0 && start !== 0) || end < start)
            throw new PruneError(`Tensor data of ${contents.path} is not stored in tensor-info order ` +
                `(${tensor.name} at ${start}); llama.cpp could not load it either`);
        const dimensions = tensor.dimensions.map(Number);
        if (exactSizeTypes.has(tensor.ggmlType)) {
            const exact = tensorByteLength(tensor.ggmlType as WritableTensorType, dimensions);
            if (exact > end - start)
                throw new PruneError(`Tensor ${tensor.name} needs ${exact} bytes but only ${end - start} are stored; ` +
                    "the file is truncated");
            return exact;
        }
        if (index + 1 < tensors.length && (end - start) % alignment !== 0)
            throw new PruneError(`Tensor ${tensor.name} spans ${end - start} bytes, not a multiple of the alignment ${alignment}`);
        return end - start;
    });
}

async function copyBytes(source: fs.FileHandle, start: number, length: number, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK_BYTES, Math.max(length, 1)));
    for (let copied = 0; copied < length;) {
        const wanted = Math.min(buffer.length, length - copied);
        const { bytesRead } = await source.read(buffer, 0, wanted, start + copied);
        if (bytesRead === 0)
            throw new PruneError(`Source ended early at byte ${start + copied}; the file is truncated`);
        await write(buffer.subarray(0, bytesRead));
        copied += bytesRead;
    }
}

function renamedTensor(tensor: GgufTensorInfo, newIndexOfLayer: ReadonlyMap<number, number>): string | undefined {
    const match = LAYER_TENSOR_NAME.exec(tensor.name);
    if (match == null)
        return tensor.name;
    const newIndex = newIndexOfLayer.get(Number(match[1]));
    return newIndex == null ? undefined : `blk.${newIndex}.${match[2]}`;
}

export async function writePrunedModel(sourcePath: string, destinationPath: string, options: PruneOptions): Promise<PruneSummary> {
    const contents = await readGgufFile(sourcePath);
    const architecture = contents.metadata.get("general.architecture");
    if (typeof architecture !== "string")
        throw new PruneError(`${sourcePath} has no general.architecture; it is not a llama.cpp model`);
    const splitCount = contents.metadata.get("split.count");
    if (splitCount != null && Number(splitCount) > 1)
        throw new PruneError(`${sourcePath} is one part of a split model; merge it first with llama-gguf-split --merge`);
    const originalLayerCount = requireNumber(contents, `${architecture}.block_count`);
    const nextnLayers = contents.metadata.get(`${architecture}.nextn_predict_layers`);
    if (nextnLayers != null && Number(nextnLayers) > 0)
        throw new PruneError(`${sourcePath} has ${nextnLayers} multi-token-prediction layers after the decoder layers; ` +
            "pruning such models is not supported");
    const keptLayers = normalizeKeepLayers(options.keepLayers, originalLayerCount);
    const newIndexOfLayer = new Map(keptLayers.map((layer, newIndex) => [layer, newIndex]));

    const source = await fs.open(sourcePath, "r");
    try {
        const rawMetadata = Buffer.alloc(contents.metadataEnd);
        await source.read(rawMetadata, 0, contents.metadataEnd, 0);
        const records = indexMetadataRecordsInBuffer(rawMetadata, sourcePath);
        const { entries, subsetKeys } = prunedMetadata(
            contents, records, rawMetadata, architecture, originalLayerCount, keptLayers);

        const { size: fileBytes } = await source.stat();
        const copyLengths = tensorCopyLengths(contents, fileBytes, resolveAlignment(entries));
        const tensors: GgufTensorToWrite[] = [];
        contents.tensors.forEach((tensor, index) => {
            const name = renamedTensor(tensor, newIndexOfLayer);
            if (name == null)
                return;
            const start = tensorFileOffset(tensor);
            const byteLength = copyLengths[index];
            tensors.push({
                name,
                dimensions: tensor.dimensions.map(Number),
                type: tensor.ggmlType,
                byteLength,
                writeData: (sink) => copyBytes(source, start, byteLength, (chunk) => sink.write(chunk))
            });
        });

        const summary = await writeGgufFile(destinationPath, { metadata: entries, tensors });
        return { ...summary, architecture, originalLayerCount, keptLayers, subsetKeys };
    } finally {
        await source.close();
    }
}
