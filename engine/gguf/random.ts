// Seeded, fast, platform-independent randomness for synthetic weights.
// xoshiro128** works on 32-bit integers only, which V8 keeps unboxed, so filling
// a gigabyte of weights takes about a second instead of minutes with Math.random-style code.

/** splitmix32 step: spreads a seed so that nearby seeds give unrelated streams. */
function splitmix32(state: number): [next: number, output: number] {
    const next = (state + 0x9e3779b9) | 0;
    let z = next;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return [next, (z ^ (z >>> 16)) >>> 0];
}

/** FNV-1a over UTF-16 code units: a stable 32-bit id for a tensor name. */
export function hashString(text: string): number {
    let hash = 0x811c9dc5;
    for (let index = 0; index < text.length; index++)
        hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
    return hash >>> 0;
}

export class SeededRandom {
    private s0: number;
    private s1: number;
    private s2: number;
    private s3: number;

    /** `seed` and `stream` pick independent sequences (e.g. model seed and tensor-name hash). */
    constructor(seed: number, stream = 0) {
        let state = (seed ^ Math.imul(stream, 0x27d4eb2d)) | 0;
        let output: number;
        [state, output] = splitmix32(state); this.s0 = output;
        [state, output] = splitmix32(state); this.s1 = output;
        [state, output] = splitmix32(state); this.s2 = output;
        [state, output] = splitmix32(state); this.s3 = output;
        if ((this.s0 | this.s1 | this.s2 | this.s3) === 0)
            this.s0 = 1; // the all-zero state would only ever produce zeros
    }

    nextUint32(): number {
        const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
        const t = this.s1 << 9;
        this.s2 ^= this.s0;
        this.s3 ^= this.s1;
        this.s1 ^= this.s2;
        this.s0 ^= this.s3;
        this.s2 ^= t;
        this.s3 = rotl(this.s3, 11);
        return result;
    }

    /** Fills with uniform 32-bit values; the loop keeps the state in locals for speed. */
    fillUint32(target: Uint32Array): void {
        let s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
        for (let index = 0; index < target.length; index++) {
            target[index] = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
            const t = s1 << 9;
            s2 ^= s0;
            s3 ^= s1;
            s1 ^= s2;
            s0 ^= s3;
            s2 ^= t;
            s3 = rotl(s3, 11);
        }
        this.s0 = s0; this.s1 = s1; this.s2 = s2; this.s3 = s3;
    }

    /**
     * Uniform values in [-halfWidth, halfWidth). A uniform distribution of standard deviation
     * `std` has halfWidth = std * sqrt(3); synthetic weights need a small spread, not a bell shape.
     */
    fillUniform(target: Float32Array, halfWidth: number): void {
        const bits = new Uint32Array(target.length);
        this.fillUint32(bits);
        const scale = (2 * halfWidth) / 4294967296;
        for (let index = 0; index < target.length; index++)
            target[index] = bits[index] * scale - halfWidth;
    }
}

function rotl(value: number, shift: number): number {
    return (value << shift) | (value >>> (32 - shift));
}
