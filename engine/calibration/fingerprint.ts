// Which model file a calibration belongs to, by content rather than by path, so a copied or renamed model
// keeps its calibration and a re-downloaded or re-quantised one (same path, new bytes) loses it.
//
// The choice: files up to FULL_HASH_LIMIT are hashed whole with SHA-256 (exact; about a second for
// 256 MiB). Bigger files (multi-GB models, where a full hash would take tens of seconds on every load) are
// hashed from their size, their first and last 4 MiB (the GGUF header with all metadata and tensor
// offsets; the tail of the data) and 64 samples of 64 KiB spread evenly between, about 12 MiB read in all.
// Two large files that differ only between the samples would share a fingerprint; a real model edit
// (re-quantising, fine-tuning, changing metadata) changes the size, the header or nearly every sample.
import {createHash} from "node:crypto";
import fs from "node:fs";

export const FULL_HASH_LIMIT = 256 * 1024 * 1024;
const EDGE_BYTES = 4 * 1024 * 1024;
const SAMPLE_BYTES = 64 * 1024;
const SAMPLE_COUNT = 64;

export type ModelFingerprint = {
    /** "sha256:<hex>" for a whole-file hash, "sampled-sha256:<hex>" for a large file's sampled one */
    fingerprint: string;
    size: number;
};

export async function modelFingerprint(modelPath: string): Promise<ModelFingerprint> {
    const size = (await fs.promises.stat(modelPath)).size;
    if (size <= FULL_HASH_LIMIT) {
        const hash = createHash("sha256");
        for await (const chunk of fs.createReadStream(modelPath, {highWaterMark: 1024 * 1024})) hash.update(chunk as Buffer);
        return {fingerprint: `sha256:${hash.digest("hex")}`, size};
    }
    const hash = createHash("sha256");
    hash.update(`layer-dial sampled v1 size=${size}\n`);
    const file = await fs.promises.open(modelPath, "r");
    try {
        const read = async (position: number, length: number): Promise<void> => {
            const buffer = Buffer.alloc(length);
            const {bytesRead} = await file.read(buffer, 0, length, position);
            hash.update(buffer.subarray(0, bytesRead));
        };
        await read(0, EDGE_BYTES);
        const between = size - 2 * EDGE_BYTES - SAMPLE_BYTES;
        for (let i = 0; i < SAMPLE_COUNT; i++) await read(EDGE_BYTES + Math.floor((between * (i + 0.5)) / SAMPLE_COUNT), SAMPLE_BYTES);
        await read(size - EDGE_BYTES, EDGE_BYTES);
    } finally {
        await file.close();
    }
    return {fingerprint: `sampled-sha256:${hash.digest("hex")}`, size};
}
