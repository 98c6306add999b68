// The GGUF writer must produce files that node-llama-cpp's reader (and so llama.cpp) reads back
// exactly: every metadata type, tensor infos, alignment and data bytes.
import {test, describe, before, after} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {GgmlType} from "node-llama-cpp";
import {gguf, type GgufMetadataEntry} from "../fixtures/gguf/metadata.js";
import {writeGgufFile, InvalidGgufLayoutError, type GgufTensorToWrite} from "../fixtures/gguf/writer.js";
import {readGgufFile, readTensorBytes} from "../../engine/gguf/reader.js";
import {indexMetadataRecords} from "../fixtures/gguf/kv-index.js";
import {tensorByteLength, UnsupportedTensorLayoutError, type WritableTensorType} from "../fixtures/gguf/format.js";
import {dequantizeQ8_0, float16BitsToFloat32, float32ToFloat16Bits, quantizeQ8_0} from "../fixtures/gguf/quantize.js";
import {InvalidMetadataValueError} from "../fixtures/gguf/metadata.js";

let workDir = "";
before(async () => {
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), "gguf-writer-"));
});
after(async () => {
    await fs.rm(workDir, {recursive: true, force: true});
});

const allTypesMetadata: GgufMetadataEntry[] = [
    {key: "general.architecture", value: gguf.str("llama")},
    {key: "general.alignment", value: gguf.u32(64)},
    {key: "test.u8", value: gguf.u8(250)},
    {key: "test.i8", value: gguf.i8(-120)},
    {key: "test.u16", value: gguf.u16(65000)},
    {key: "test.i16", value: gguf.i16(-32000)},
    {key: "test.u32", value: gguf.u32(4_000_000_000)},
    {key: "test.i32", value: gguf.i32(-2_000_000_000)},
    {key: "test.f32", value: gguf.f32(0.1)},
    {key: "test.f64", value: gguf.f64(0.1)},
    {key: "test.u64_small", value: gguf.u64(12345n)},
    {key: "test.u64_big", value: gguf.u64(2n ** 60n + 1n)},
    {key: "test.i64", value: gguf.i64(-(2n ** 40n))},
    {key: "test.bool_true", value: gguf.bool(true)},
    {key: "test.bool_false", value: gguf.bool(false)},
    {key: "test.string", value: gguf.str("héllo ▁wörld")},
    {key: "test.empty_string", value: gguf.str("")},
    {key: "test.strings", value: gguf.strings(["a", "", "▁b", "<0x0A>"])},
    {key: "test.u32s", value: gguf.numbers("uint32", [1, 2, 3])},
    {key: "test.i32s", value: gguf.numbers("int32", [-1, 0, 1])},
    {key: "test.f32s", value: gguf.numbers("float32", [0.5, -1.25, 3])},
    {key: "test.i8s", value: gguf.numbers("int8", [-128, 127])},
    {key: "test.bools", value: gguf.bools([true, false, true])},
    {key: "test.u64s", value: gguf.bigints("uint64", [1n, 2n ** 62n])},
    {key: "test.empty", value: gguf.numbers("uint32", [])}
];

/** What node-llama-cpp returns for a written value: f32 rounded to float precision, 64-bit as bigint. */
function expectedReadValue(entry: GgufMetadataEntry): unknown {
    const value = entry.value;
    const normalize = (item: number | bigint | boolean | string, itemType: string): unknown => (itemType === "float32" ? Math.fround(item as number) : item);
    if (value.type === "array") return (value.values as readonly (number | bigint | boolean | string)[]).map((item) => normalize(item, value.itemType));
    return normalize(value.value, value.type);
}

function tensorFromBytes(name: string, dimensions: number[], type: WritableTensorType, data: Uint8Array): GgufTensorToWrite {
    return {
        name,
        dimensions,
        type,
        byteLength: data.length,
        writeData: async (sink) => {
            // several chunks, to exercise the writer's buffering
            const half = Math.floor(data.length / 2);
            await sink.write(data.subarray(0, half));
            await sink.write(data.subarray(half));
        }
    };
}

const f32Data = new Uint8Array(new Float32Array([1, -2, 3.5, 0, 1e-3]).buffer);
const f16Data = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x3800, 0, 0x7bff, 0x0001]).buffer);
const q8Values = Float32Array.from({length: 128}, (_, index) => Math.sin(index) * 0.05);
const q8Data = quantizeQ8_0(q8Values);
const tensors = [
    tensorFromBytes("vec_f32", [5], GgmlType.F32, f32Data),
    tensorFromBytes("mat_f16", [3, 2], GgmlType.F16, f16Data),
    tensorFromBytes("blk.0.mat_q8", [64, 2], GgmlType.Q8_0, q8Data)
];

describe("GGUF writer round trip through node-llama-cpp's reader", () => {
    let filePath = "";
    before(async () => {
        filePath = path.join(workDir, "all-types.gguf");
        await writeGgufFile(filePath, {metadata: allTypesMetadata, tensors});
    });

    test("every metadata value reads back equal", async () => {
        const contents = await readGgufFile(filePath);
        assert.equal(contents.info.version, 3);
        assert.deepEqual([...contents.metadata.keys()].sort(), allTypesMetadata.map((entry) => entry.key).sort());
        for (const entry of allTypesMetadata) assert.deepEqual(contents.metadata.get(entry.key), expectedReadValue(entry), entry.key);
    });

    test("the metadata index recovers each record's GGUF type", async () => {
        const contents = await readGgufFile(filePath);
        const records = await indexMetadataRecords(filePath, contents.metadataEnd);
        assert.deepEqual(
            records.map((record) => record.key),
            allTypesMetadata.map((entry) => entry.key)
        );
        for (const [index, record] of records.entries()) {
            const written = allTypesMetadata[index].value;
            assert.equal(record.valueType, written.type, record.key);
            if (written.type === "array") {
                assert.equal(record.itemType, written.itemType, record.key);
                assert.equal(record.arrayLength, written.values.length, record.key);
            }
        }
    });

    test("tensor infos and data read back equal, aligned to general.alignment", async () => {
        const contents = await readGgufFile(filePath);
        assert.equal(contents.dataOffset % 64, 0);
        assert.deepEqual(
            contents.tensors.map((tensor) => tensor.name),
            tensors.map((tensor) => tensor.name)
        );
        let expectedOffset = 0;
        for (const [index, tensor] of contents.tensors.entries()) {
            assert.deepEqual(tensor.dimensions, tensors[index].dimensions);
            assert.equal(tensor.ggmlType, tensors[index].type);
            // ggml requires offsets to be the running sum of padded sizes
            assert.equal(Number(tensor.offset), expectedOffset);
            expectedOffset += Math.ceil(tensors[index].byteLength / 64) * 64;
            const bytes = await readTensorBytes(filePath, tensor, tensors[index].byteLength);
            const source = index === 0 ? f32Data : index === 1 ? f16Data : q8Data;
            assert.ok(bytes.equals(Buffer.from(source)), tensor.name);
        }
        const {size} = await fs.stat(filePath);
        assert.equal(size, contents.dataOffset + expectedOffset, "last tensor padded to the alignment");
    });

    test("default alignment is 32 when general.alignment is absent", async () => {
        const filePath32 = path.join(workDir, "default-alignment.gguf");
        await writeGgufFile(filePath32, {
            metadata: [{key: "general.architecture", value: gguf.str("llama")}],
            tensors: [tensorFromBytes("a", [5], GgmlType.F32, f32Data), tensorFromBytes("b", [5], GgmlType.F32, f32Data)]
        });
        const contents = await readGgufFile(filePath32);
        assert.equal(contents.dataOffset % 32, 0);
        assert.equal(Number(contents.tensors[1].offset), 32);
    });
});

describe("GGUF writer refuses files llama.cpp would reject", () => {
    test("duplicate metadata keys", async () => {
        await assert.rejects(
            writeGgufFile(path.join(workDir, "dup.gguf"), {
                metadata: [
                    {key: "a", value: gguf.u32(1)},
                    {key: "a", value: gguf.u32(2)}
                ],
                tensors: []
            }),
            InvalidMetadataValueError
        );
    });

    test("Q8_0 rows that are not whole blocks", () => {
        assert.throws(() => tensorByteLength(GgmlType.Q8_0, [48, 2]), UnsupportedTensorLayoutError);
    });

    test("a producer that writes a different size than declared, leaving no partial file", async () => {
        const target = path.join(workDir, "short.gguf");
        await assert.rejects(
            writeGgufFile(target, {
                metadata: [],
                tensors: [
                    {
                        ...tensorFromBytes("a", [5], GgmlType.F32, f32Data),
                        writeData: async (sink) => {
                            await sink.write(new Uint8Array(4));
                        }
                    }
                ]
            }),
            InvalidGgufLayoutError
        );
        await assert.rejects(fs.stat(target));
        await assert.rejects(fs.stat(`${target}.partial`));
    });

    test("declared sizes that do not match the type and shape", async () => {
        await assert.rejects(
            writeGgufFile(path.join(workDir, "size.gguf"), {
                metadata: [],
                tensors: [{...tensorFromBytes("a", [4], GgmlType.F32, f32Data)}]
            }),
            InvalidGgufLayoutError
        );
    });
});

describe("number formats", () => {
    test("f32 to f16 rounds like IEEE (ties to even, subnormals, overflow)", () => {
        const cases: [number, number][] = [
            [1, 0x3c00],
            [-2, 0xc000],
            [0.5, 0x3800],
            [65504, 0x7bff],
            [65520, 0x7c00],
            [1e6, 0x7c00],
            [2 ** -24, 0x0001],
            [2 ** -25, 0x0000],
            [1.5 * 2 ** -25, 0x0001],
            [2 ** -14, 0x0400],
            [1 + 2 ** -11, 0x3c00],
            [1 + 3 * 2 ** -11, 0x3c02],
            [-0, 0x8000],
            [Infinity, 0x7c00]
        ];
        for (const [value, bits] of cases) assert.equal(float32ToFloat16Bits(value), bits, `f16(${value})`);
        assert.ok(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN))));
        for (const bits of [0x0001, 0x03ff, 0x0400, 0x3c00, 0x7bff, 0xc000, 0x3555]) assert.equal(float32ToFloat16Bits(float16BitsToFloat32(bits)), bits);
    });

    test("Q8_0 blocks are an f16 scale plus 32 int8 and dequantize within about half a step", () => {
        assert.equal(q8Data.length, (128 / 32) * 34);
        const restored = dequantizeQ8_0(q8Data);
        for (let block = 0; block < 4; block++) {
            const scale = float16BitsToFloat32(q8Data.readUInt16LE(block * 34));
            const values = q8Values.subarray(block * 32, block * 32 + 32);
            const maxAbs = Math.max(...Array.from(values, Math.abs));
            assert.ok(Math.abs(scale - maxAbs / 127) <= (maxAbs / 127) * 1e-3, "scale = max|x| / 127");
            // half a step, plus what rounding the scale to f16 adds (127 * d * 2^-11, as in ggml)
            for (let index = 0; index < 32; index++) assert.ok(Math.abs(restored[block * 32 + index] - values[index]) <= scale * (0.5 + 127 / 2048));
        }
    });
});
