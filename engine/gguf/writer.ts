// Streaming GGUF v3 writer: header, metadata, tensor infos, then tensor data produced
// one tensor at a time, so multi-GB models never sit in memory.
// Layout rules follow ggml's gguf.cpp, which refuses a file whose tensor offsets are not
// exactly the running sum of each tensor's size padded to `general.alignment`.
import fs from "node:fs/promises";
import { GgmlType } from "node-llama-cpp";
import {
    GGML_MAX_DIMS, GGML_MAX_NAME_BYTES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION, GgufValueTypeTag,
    alignUp, tensorByteLength, type WritableTensorType
} from "./format.js";
import {
    ByteBuilder, encodeMetadataEntry, InvalidMetadataValueError, type EncodedMetadataEntry, type GgufMetadataEntry
} from "./metadata.js";

export type TensorDataSink = {
    /** Appends bytes of the current tensor; the chunk may be reused by the caller after the promise resolves. */
    write(chunk: Uint8Array): Promise<void>;
};

export type GgufTensorToWrite = {
    readonly name: string;
    /** ggml order: dimensions[0] is the contiguous row length (ne0). */
    readonly dimensions: readonly number[];
    readonly type: GgmlType;
    /** Exact number of data bytes `writeData` writes; the writer adds the alignment padding. */
    readonly byteLength: number;
    readonly writeData: (sink: TensorDataSink) => Promise<void>;
};

export type GgufFileToWrite = {
    readonly metadata: readonly (GgufMetadataEntry | EncodedMetadataEntry)[];
    readonly tensors: readonly GgufTensorToWrite[];
};

export type GgufWriteSummary = {
    readonly path: string;
    readonly fileBytes: number;
    readonly dataOffset: number;
    readonly alignment: number;
    readonly tensorCount: number;
};

export class InvalidGgufLayoutError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "InvalidGgufLayoutError";
    }
}

const writableTypes = new Set<GgmlType>([GgmlType.F32, GgmlType.F16, GgmlType.Q8_0]);

function isEncoded(entry: GgufMetadataEntry | EncodedMetadataEntry): entry is EncodedMetadataEntry {
    return "encoded" in entry;
}

/** The alignment the file will declare: `general.alignment` if present, else ggml's default. */
export function resolveAlignment(metadata: GgufFileToWrite["metadata"]): number {
    const entry = metadata.find((candidate) => candidate.key === "general.alignment");
    if (entry == null)
        return GGUF_DEFAULT_ALIGNMENT;

    let alignment: number;
    if (isEncoded(entry)) {
        // key string, u32 tag, u32 value: the value is the last 4 bytes
        const record = Buffer.from(entry.encoded.buffer, entry.encoded.byteOffset, entry.encoded.byteLength);
        const tag = record.readUInt32LE(record.length - 8);
        if (tag !== GgufValueTypeTag.uint32)
            throw new InvalidMetadataValueError("general.alignment", "must be a uint32 (ggml requires it)");
        alignment = record.readUInt32LE(record.length - 4);
    } else {
        if (entry.value.type !== "uint32")
            throw new InvalidMetadataValueError("general.alignment", "must be a uint32 (ggml requires it)");
        alignment = entry.value.value;
    }
    if (alignment <= 0 || (alignment & (alignment - 1)) !== 0)
        throw new InvalidMetadataValueError("general.alignment", `must be a power of two, got ${alignment}`);
    return alignment;
}

function validateTensor(tensor: GgufTensorToWrite, seenNames: Set<string>): void {
    const nameBytes = Buffer.byteLength(tensor.name, "utf8");
    if (nameBytes === 0 || nameBytes > GGML_MAX_NAME_BYTES)
        throw new InvalidGgufLayoutError(
            `Tensor name "${tensor.name}" is ${nameBytes} bytes; ggml accepts 1..${GGML_MAX_NAME_BYTES} bytes - shorten it`);
    if (seenNames.has(tensor.name))
        throw new InvalidGgufLayoutError(`Tensor "${tensor.name}" is listed twice; each tensor name must be unique`);
    seenNames.add(tensor.name);
    if (tensor.dimensions.length === 0 || tensor.dimensions.length > GGML_MAX_DIMS)
        throw new InvalidGgufLayoutError(
            `Tensor "${tensor.name}" has ${tensor.dimensions.length} dimensions; ggml supports 1..${GGML_MAX_DIMS}`);
    for (const dimension of tensor.dimensions)
        if (!Number.isSafeInteger(dimension) || dimension <= 0)
            throw new InvalidGgufLayoutError(`Tensor "${tensor.name}" has invalid dimension ${dimension}; use positive integers`);
    if (writableTypes.has(tensor.type)) {
        const expected = tensorByteLength(tensor.type as WritableTensorType, tensor.dimensions);
        if (expected !== tensor.byteLength)
            throw new InvalidGgufLayoutError(
                `Tensor "${tensor.name}" declares ${tensor.byteLength} bytes but ${GgmlType[tensor.type]} ` +
                `[${tensor.dimensions.join(", ")}] needs ${expected}`);
    }
}

/** Header + metadata + tensor infos + padding, i.e. everything before the data section. */
function encodeInfoSection(file: GgufFileToWrite, alignment: number): { info: Buffer; dataOffsets: number[] } {
    const out = new ByteBuilder();
    out.bytes(Buffer.from(GGUF_MAGIC, "ascii"));
    out.u32(GGUF_VERSION);
    out.u64(file.tensors.length);
    out.u64(file.metadata.length);

    const seenKeys = new Set<string>();
    for (const entry of file.metadata) {
        if (seenKeys.has(entry.key))
            throw new InvalidMetadataValueError(entry.key, "appears twice; GGUF keys must be unique");
        seenKeys.add(entry.key);
        if (isEncoded(entry))
            out.bytes(entry.encoded);
        else
            encodeMetadataEntry(out, entry);
    }

    const dataOffsets: number[] = [];
    let nextOffset = 0;
    const seenNames = new Set<string>();
    for (const tensor of file.tensors) {
        validateTensor(tensor, seenNames);
        out.string(tensor.name);
        out.u32(tensor.dimensions.length);
        for (const dimension of tensor.dimensions)
            out.u64(dimension);
        out.u32(tensor.type);
        out.u64(nextOffset);
        dataOffsets.push(nextOffset);
        nextOffset += alignUp(tensor.byteLength, alignment);
    }
    out.zeros(alignUp(out.size, alignment) - out.size);
    return { info: Buffer.from(out.toBuffer()), dataOffsets };
}

/** Collects small writes into large ones; tensor producers often emit many small chunks. */
class BufferedFileOutput {
    private readonly buffer = Buffer.allocUnsafe(8 * 1024 * 1024);
    private used = 0;
    position = 0;

    constructor(private readonly handle: fs.FileHandle) {}

    async write(chunk: Uint8Array): Promise<void> {
        if (chunk.length >= this.buffer.length) {
            await this.flush();
            await this.writeFully(chunk);
            this.position += chunk.length;
            return;
        }
        if (this.used + chunk.length > this.buffer.length)
            await this.flush();
        this.buffer.set(chunk, this.used);
        this.used += chunk.length;
        this.position += chunk.length;
    }

    async zeros(count: number): Promise<void> {
        if (count > 0)
            await this.write(new Uint8Array(count));
    }

    async flush(): Promise<void> {
        if (this.used === 0)
            return;
        await this.writeFully(this.buffer.subarray(0, this.used));
        this.used = 0;
    }

    private async writeFully(data: Uint8Array): Promise<void> {
        let written = 0;
        while (written < data.length) {
            const { bytesWritten } = await this.handle.write(data, written, data.length - written);
            written += bytesWritten;
        }
    }
}

/**
 * Writes a GGUF v3 file. It is written under a temporary name and renamed at the end,
 * so an interrupted run never leaves a truncated file that looks finished.
 */
export async function writeGgufFile(path: string, file: GgufFileToWrite): Promise<GgufWriteSummary> {
    const alignment = resolveAlignment(file.metadata);
    const { info, dataOffsets } = encodeInfoSection(file, alignment);

    const partialPath = `${path}.partial`;
    const handle = await fs.open(partialPath, "w");
    try {
        const output = new BufferedFileOutput(handle);
        await output.write(info);
        const dataStart = output.position;

        for (const [index, tensor] of file.tensors.entries()) {
            const expectedStart = dataStart + dataOffsets[index];
            await output.zeros(expectedStart - output.position);
            const tensorStart = output.position;
            await tensor.writeData({ write: (chunk) => output.write(chunk) });
            const written = output.position - tensorStart;
            if (written !== tensor.byteLength)
                throw new InvalidGgufLayoutError(
                    `Tensor "${tensor.name}" wrote ${written} bytes but declared ${tensor.byteLength}; ` +
                    "its data producer and byteLength disagree");
        }
        // pad the last tensor too, like ggml's own writer, so every tensor owns a whole aligned span
        await output.zeros(alignUp(output.position, alignment) - output.position);
        await output.flush();
        const fileBytes = output.position;
        await handle.close();
        await fs.rename(partialPath, path);
        return { path, fileBytes, dataOffset: dataStart, alignment, tensorCount: file.tensors.length };
    } catch (error) {
        await handle.close().catch(() => undefined);
        await fs.rm(partialPath, { force: true });
        throw error;
    }
}
