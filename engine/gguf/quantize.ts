// Number formats of tensor data: IEEE half floats and ggml's Q8_0 blocks.
// Node 20 has no Float16Array, so half floats are converted bit by bit.
import { Q8_0_BLOCK_BYTES, Q8_0_BLOCK_VALUES } from "./format.js";

const float32 = new Float32Array(1);
const float32Bits = new Uint32Array(float32.buffer);

/** Rounds to the nearest half float (ties to even), including subnormals, infinities and NaN. */
export function float32ToFloat16Bits(value: number): number {
    float32[0] = value;
    return float32BitsToFloat16Bits(float32Bits[0]);
}

function float32BitsToFloat16Bits(bits: number): number {
    const sign = (bits >>> 16) & 0x8000;
    const exponent = (bits >>> 23) & 0xff;
    let mantissa = bits & 0x7fffff;

    if (exponent === 0xff)
        return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);

    const halfExponent = exponent - 127 + 15;
    if (halfExponent >= 0x1f)
        return sign | 0x7c00;

    if (halfExponent <= 0) {
        if (halfExponent < -10)
            return sign;
        // subnormal half: shift the mantissa (with its implicit 1) into place and round
        mantissa |= 0x800000;
        const shift = 14 - halfExponent;
        let half = mantissa >>> shift;
        const remainder = mantissa & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        if (remainder > halfway || (remainder === halfway && (half & 1) !== 0))
            half++;
        return sign | half;
    }

    let half = (halfExponent << 10) | (mantissa >>> 13);
    const remainder = mantissa & 0x1fff;
    // a carry out of the mantissa correctly bumps the exponent (up to infinity)
    if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) !== 0))
        half++;
    return sign | half;
}

export function float16BitsToFloat32(half: number): number {
    const sign = (half & 0x8000) !== 0 ? -1 : 1;
    const exponent = (half >>> 10) & 0x1f;
    const mantissa = half & 0x3ff;
    if (exponent === 0)
        return sign * mantissa * 2 ** -24;
    if (exponent === 0x1f)
        return mantissa !== 0 ? NaN : sign * Infinity;
    return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Converts a whole array; the bit view avoids a Float32Array write per element. */
export function float32ArrayToFloat16(values: Float32Array): Uint16Array {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    const halves = new Uint16Array(values.length);
    for (let index = 0; index < values.length; index++)
        halves[index] = float32BitsToFloat16Bits(bits[index]);
    return halves;
}

/**
 * ggml's reference Q8_0 quantizer (quantize_row_q8_0_ref): per block of 32,
 * d = max|x| / 127, q = round(x / d), stored as f16 d followed by 32 int8.
 */
export function quantizeQ8_0(values: Float32Array): Buffer {
    if (values.length % Q8_0_BLOCK_VALUES !== 0)
        throw new RangeError(`Q8_0 needs a multiple of ${Q8_0_BLOCK_VALUES} values, got ${values.length}`);
    const blocks = values.length / Q8_0_BLOCK_VALUES;
    const out = Buffer.alloc(blocks * Q8_0_BLOCK_BYTES);
    for (let block = 0; block < blocks; block++) {
        const first = block * Q8_0_BLOCK_VALUES;
        let maxAbs = 0;
        for (let index = 0; index < Q8_0_BLOCK_VALUES; index++)
            maxAbs = Math.max(maxAbs, Math.abs(values[first + index]));
        const scale = maxAbs / 127;
        const inverse = scale !== 0 ? 1 / scale : 0;
        const blockStart = block * Q8_0_BLOCK_BYTES;
        out.writeUInt16LE(float32ToFloat16Bits(scale), blockStart);
        for (let index = 0; index < Q8_0_BLOCK_VALUES; index++) {
            const scaled = values[first + index] * inverse;
            // roundf semantics (halves away from zero), unlike Math.round
            out.writeInt8(Math.sign(scaled) * Math.round(Math.abs(scaled)), blockStart + 2 + index);
        }
    }
    return out;
}

export function dequantizeQ8_0(data: Uint8Array): Float32Array {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const blocks = Math.floor(bytes.length / Q8_0_BLOCK_BYTES);
    const values = new Float32Array(blocks * Q8_0_BLOCK_VALUES);
    for (let block = 0; block < blocks; block++) {
        const blockStart = block * Q8_0_BLOCK_BYTES;
        const scale = float16BitsToFloat32(bytes.readUInt16LE(blockStart));
        for (let index = 0; index < Q8_0_BLOCK_VALUES; index++)
            values[block * Q8_0_BLOCK_VALUES + index] = scale * bytes.readInt8(blockStart + 2 + index);
    }
    return values;
}

/**
 * Standard deviation of the quants written by `fillRandomQ8_0Blocks`: odd integers
 * -127..127 uniformly, sqrt((4 * 64^2 - 1) / 3).
 */
export const RANDOM_ODD_INT8_STD = Math.sqrt((4 * 64 * 64 - 1) / 3);

/**
 * Writes `blockCount` Q8_0 blocks of random quants straight into `target`, skipping float
 * generation and rounding: random 32-bit words with the low bit of each byte forced on are
 * uniform odd int8 values, and -128 (which SIMD sign tricks mishandle) cannot occur.
 * `target` must be at least blockCount * 34 bytes rounded up to 4.
 */
export function fillRandomQ8_0Blocks(
    target: Uint8Array, blockCount: number, scaleBits: number, fillUint32: (words: Uint32Array) => void
): void {
    const wordCount = Math.ceil((blockCount * Q8_0_BLOCK_BYTES) / 4);
    if (target.byteOffset % 4 !== 0 || target.byteLength < wordCount * 4)
        throw new RangeError("Q8_0 block target must be 4-byte aligned and large enough for whole 32-bit words");
    const words = new Uint32Array(target.buffer, target.byteOffset, wordCount);
    fillUint32(words);
    for (let index = 0; index < wordCount; index++)
        words[index] |= 0x01010101;
    const scaleLow = scaleBits & 0xff;
    const scaleHigh = scaleBits >>> 8;
    for (let blockStart = 0; blockStart < blockCount * Q8_0_BLOCK_BYTES; blockStart += Q8_0_BLOCK_BYTES) {
        target[blockStart] = scaleLow;
        target[blockStart + 1] = scaleHigh;
    }
}
