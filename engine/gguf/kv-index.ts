// Where each metadata record sits in a GGUF file and which GGUF type it has.
// node-llama-cpp's reader returns values as plain JS numbers, so a uint32 and a float32 look the
// same - but llama.cpp rejects a value of the wrong type. To copy metadata faithfully the pruner
// copies the original record bytes, and to re-encode the few records it changes it keeps their
// original type. This index skips over records to find those byte ranges and type tags;
// decoding values stays node-llama-cpp's job.
import fs from "node:fs/promises";
import { scalarByteWidth, valueTypeNameOfTag, type GgufScalarTypeName, type GgufValueTypeName } from "./format.js";

export type MetadataRecordLocation = {
    readonly key: string;
    readonly valueType: GgufValueTypeName;
    /** Element type for arrays. */
    readonly itemType?: GgufScalarTypeName;
    readonly arrayLength?: number;
    /** File offsets of the whole record (key string through value), end exclusive. */
    readonly start: number;
    readonly end: number;
};

export class MetadataIndexError extends Error {
    constructor(path: string, detail: string) {
        super(`Metadata of ${path} could not be indexed: ${detail}; the file may be corrupt (try llama.cpp's gguf-dump)`);
        this.name = "MetadataIndexError";
    }
}

/** First KV record: after magic (4), version (4), tensor count (8) and KV count (8). */
const FIRST_RECORD_OFFSET = 24;

export async function indexMetadataRecords(path: string, metadataEnd: number): Promise<MetadataRecordLocation[]> {
    const handle = await fs.open(path, "r");
    let bytes: Buffer;
    try {
        bytes = Buffer.alloc(metadataEnd);
        await handle.read(bytes, 0, metadataEnd, 0);
    } finally {
        await handle.close();
    }
    return indexMetadataRecordsInBuffer(bytes, path);
}

export function indexMetadataRecordsInBuffer(bytes: Buffer, source: string): MetadataRecordLocation[] {
    const recordCount = Number(bytes.readBigUInt64LE(16));
    const records: MetadataRecordLocation[] = [];
    let offset = FIRST_RECORD_OFFSET;

    const need = (count: number): void => {
        if (offset + count > bytes.length)
            throw new MetadataIndexError(source, `record ${records.length} runs past the metadata section`);
    };
    const readLength = (): number => {
        need(8);
        const length = Number(bytes.readBigUInt64LE(offset));
        offset += 8;
        return length;
    };
    const skipValue = (type: GgufScalarTypeName): void => {
        const length = type === "string" ? readLength() : scalarByteWidth[type];
        need(length);
        offset += length;
    };

    for (let index = 0; index < recordCount; index++) {
        const start = offset;
        const keyLength = readLength();
        need(keyLength + 4);
        const key = bytes.toString("utf8", offset, offset + keyLength);
        offset += keyLength;
        const valueType = valueTypeNameOfTag(bytes.readUInt32LE(offset), `key "${key}"`);
        offset += 4;

        if (valueType !== "array") {
            skipValue(valueType);
            records.push({ key, valueType, start, end: offset });
            continue;
        }
        need(4);
        const itemType = valueTypeNameOfTag(bytes.readUInt32LE(offset), `items of "${key}"`);
        offset += 4;
        if (itemType === "array")
            throw new MetadataIndexError(source, `"${key}" is an array of arrays, which llama.cpp never writes`);
        const arrayLength = readLength();
        if (itemType === "string")
            for (let item = 0; item < arrayLength; item++)
                skipValue("string");
        else {
            need(arrayLength * scalarByteWidth[itemType]);
            offset += arrayLength * scalarByteWidth[itemType];
        }
        records.push({ key, valueType, itemType, arrayLength, start, end: offset });
    }
    if (offset !== bytes.length)
        throw new MetadataIndexError(source,
            `records end at byte ${offset} but node-llama-cpp reports the metadata ends at ${bytes.length}`);
    return records;
}
