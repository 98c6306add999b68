// Typed GGUF metadata values and their byte encoding.
// GGUF values carry an explicit type tag and llama.cpp checks it strictly
// ("key X has wrong type"), so every value here says which GGUF type it is.
import { GgufValueTypeTag, type GgufScalarTypeName } from "./format.js";

type NumberTypeName = "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "float32" | "float64";
type BigIntTypeName = "uint64" | "int64";

export type GgufScalarValue =
    | { readonly type: NumberTypeName; readonly value: number }
    | { readonly type: BigIntTypeName; readonly value: bigint }
    | { readonly type: "bool"; readonly value: boolean }
    | { readonly type: "string"; readonly value: string };

export type GgufArrayValue =
    | { readonly type: "array"; readonly itemType: NumberTypeName; readonly values: readonly number[] }
    | { readonly type: "array"; readonly itemType: BigIntTypeName; readonly values: readonly bigint[] }
    | { readonly type: "array"; readonly itemType: "bool"; readonly values: readonly boolean[] }
    | { readonly type: "array"; readonly itemType: "string"; readonly values: readonly string[] };

export type GgufMetadataValue = GgufScalarValue | GgufArrayValue;

export type GgufMetadataEntry = { readonly key: string; readonly value: GgufMetadataValue };

/** A key/value record already in file form (key string, type tag, value), copied verbatim. */
export type EncodedMetadataEntry = { readonly key: string; readonly encoded: Uint8Array };

/** Shorthands so metadata tables read like the GGUF spec: `u32(24)`, `f32(1e-5)`, `strings([...])`. */
export const gguf = {
    u8: (value: number): GgufScalarValue => ({ type: "uint8", value }),
    i8: (value: number): GgufScalarValue => ({ type: "int8", value }),
    u16: (value: number): GgufScalarValue => ({ type: "uint16", value }),
    i16: (value: number): GgufScalarValue => ({ type: "int16", value }),
    u32: (value: number): GgufScalarValue => ({ type: "uint32", value }),
    i32: (value: number): GgufScalarValue => ({ type: "int32", value }),
    f32: (value: number): GgufScalarValue => ({ type: "float32", value }),
    f64: (value: number): GgufScalarValue => ({ type: "float64", value }),
    u64: (value: bigint): GgufScalarValue => ({ type: "uint64", value }),
    i64: (value: bigint): GgufScalarValue => ({ type: "int64", value }),
    bool: (value: boolean): GgufScalarValue => ({ type: "bool", value }),
    str: (value: string): GgufScalarValue => ({ type: "string", value }),
    numbers: (itemType: NumberTypeName, values: readonly number[]): GgufArrayValue => ({ type: "array", itemType, values }),
    bigints: (itemType: BigIntTypeName, values: readonly bigint[]): GgufArrayValue => ({ type: "array", itemType, values }),
    bools: (values: readonly boolean[]): GgufArrayValue => ({ type: "array", itemType: "bool", values }),
    strings: (values: readonly string[]): GgufArrayValue => ({ type: "array", itemType: "string", values })
};

export class InvalidMetadataValueError extends Error {
    constructor(key: string, detail: string) {
        super(`Metadata "${key}": ${detail}; fix the value passed to the GGUF writer`);
        this.name = "InvalidMetadataValueError";
    }
}

/** Growable little-endian byte buffer; metadata is small, so simplicity beats streaming here. */
export class ByteBuilder {
    private buffer = Buffer.alloc(4096);
    private length = 0;

    get size(): number {
        return this.length;
    }

    private reserve(extra: number): void {
        if (this.length + extra <= this.buffer.length)
            return;
        let capacity = this.buffer.length * 2;
        while (capacity < this.length + extra)
            capacity *= 2;
        const grown = Buffer.alloc(capacity);
        this.buffer.copy(grown, 0, 0, this.length);
        this.buffer = grown;
    }

    bytes(data: Uint8Array): void {
        this.reserve(data.length);
        this.buffer.set(data, this.length);
        this.length += data.length;
    }

    zeros(count: number): void {
        this.reserve(count);
        this.buffer.fill(0, this.length, this.length + count);
        this.length += count;
    }

    u8(value: number): void { this.reserve(1); this.length = this.buffer.writeUInt8(value, this.length); }
    i8(value: number): void { this.reserve(1); this.length = this.buffer.writeInt8(value, this.length); }
    u16(value: number): void { this.reserve(2); this.length = this.buffer.writeUInt16LE(value, this.length); }
    i16(value: number): void { this.reserve(2); this.length = this.buffer.writeInt16LE(value, this.length); }
    u32(value: number): void { this.reserve(4); this.length = this.buffer.writeUInt32LE(value, this.length); }
    i32(value: number): void { this.reserve(4); this.length = this.buffer.writeInt32LE(value, this.length); }
    f32(value: number): void { this.reserve(4); this.length = this.buffer.writeFloatLE(value, this.length); }
    f64(value: number): void { this.reserve(8); this.length = this.buffer.writeDoubleLE(value, this.length); }
    u64(value: bigint | number): void { this.reserve(8); this.length = this.buffer.writeBigUInt64LE(BigInt(value), this.length); }
    i64(value: bigint): void { this.reserve(8); this.length = this.buffer.writeBigInt64LE(value, this.length); }

    /** GGUF string: u64 byte length + UTF-8 bytes, no terminator. */
    string(value: string): void {
        const encoded = Buffer.from(value, "utf8");
        this.u64(encoded.length);
        this.bytes(encoded);
    }

    toBuffer(): Buffer {
        return this.buffer.subarray(0, this.length);
    }
}

function writeScalar(out: ByteBuilder, type: GgufScalarTypeName, value: number | bigint | boolean | string, key: string): void {
    switch (type) {
        case "uint8": return out.u8(asNumber(value, key));
        case "int8": return out.i8(asNumber(value, key));
        case "uint16": return out.u16(asNumber(value, key));
        case "int16": return out.i16(asNumber(value, key));
        case "uint32": return out.u32(asNumber(value, key));
        case "int32": return out.i32(asNumber(value, key));
        case "float32": return out.f32(asNumber(value, key));
        case "float64": return out.f64(asNumber(value, key));
        case "uint64": return out.u64(asBigInt(value, key));
        case "int64": return out.i64(asBigInt(value, key));
        case "bool": return out.u8(value === true ? 1 : 0);
        case "string": return out.string(asString(value, key));
    }
}

function asNumber(value: unknown, key: string): number {
    if (typeof value !== "number")
        throw new InvalidMetadataValueError(key, `expected a number, got ${typeof value}`);
    return value;
}

function asBigInt(value: unknown, key: string): bigint {
    if (typeof value !== "bigint")
        throw new InvalidMetadataValueError(key, `expected a bigint, got ${typeof value}`);
    return value;
}

function asString(value: unknown, key: string): string {
    if (typeof value !== "string")
        throw new InvalidMetadataValueError(key, `expected a string, got ${typeof value}`);
    return value;
}

/** Appends one full key/value record: key string, u32 type tag, value. */
export function encodeMetadataEntry(out: ByteBuilder, entry: GgufMetadataEntry): void {
    const { key, value } = entry;
    out.string(key);
    out.u32(GgufValueTypeTag[value.type]);
    if (value.type !== "array") {
        writeScalar(out, value.type, value.value, key);
        return;
    }
    out.u32(GgufValueTypeTag[value.itemType]);
    out.u64(value.values.length);
    for (const item of value.values)
        writeScalar(out, value.itemType, item, key);
}

export function encodeMetadataEntryToBuffer(entry: GgufMetadataEntry): Buffer {
    const out = new ByteBuilder();
    encodeMetadataEntry(out, entry);
    return Buffer.from(out.toBuffer());
}
