// The calibration cache without running a model: keys by content, atomic files, stale and broken entries.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, describe, it} from "node:test";
import {
    CALIBRATION_FORMAT,
    FULL_HASH_LIMIT,
    calibrationCacheFile,
    listCalibrations,
    modelFingerprint,
    readCachedCalibration,
    readCalibrationFile,
    writeCalibration,
    type CalibrationEntry
} from "../../engine/calibration/index.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-calibration-cache-"));
after(() => fs.rmSync(root, {recursive: true, force: true}));

function entryFor(modelPath: string, fingerprint: string, order = [3, 1, 2]): CalibrationEntry {
    return {
        format: CALIBRATION_FORMAT,
        method: "greedy-kl",
        fingerprint,
        model: {path: modelPath, size: fs.statSync(modelPath).size, layerCount: order.length + 2},
        order,
        levels: [],
        fullModel: {positions: 1, top1Agreement: 1, meanKl: 0, bitsPerToken: 1, bitsPerByte: 1},
        text: {name: "t", sha256: "0", tokens: 1, scoredBytes: 1, windowTokens: 2, contextTokens: 0},
        evaluations: 6,
        durationSeconds: 1,
        createdAt: new Date(0).toISOString()
    };
}

describe("calibration cache", () => {
    it("hashes small files whole and large ones by sampling, and both change when a byte does", async () => {
        const small = path.join(root, "small.gguf");
        fs.writeFileSync(small, Buffer.alloc(4096, 7));
        const before = await modelFingerprint(small);
        assert.match(before.fingerprint, /^sha256:[0-9a-f]{64}$/);
        const handle = fs.openSync(small, "r+");
        fs.writeSync(handle, Buffer.from([8]), 0, 1, 2000);
        fs.closeSync(handle);
        assert.notEqual((await modelFingerprint(small)).fingerprint, before.fingerprint);

        // a sparse file: big on paper, nothing on disk
        const large = path.join(root, "large.gguf");
        const bigHandle = fs.openSync(large, "w");
        fs.ftruncateSync(bigHandle, FULL_HASH_LIMIT + 1024 * 1024);
        fs.writeSync(bigHandle, Buffer.from("GGUF"), 0, 4, 0);
        const sampled = await modelFingerprint(large);
        assert.match(sampled.fingerprint, /^sampled-sha256:[0-9a-f]{64}$/);
        fs.writeSync(bigHandle, Buffer.from("X"), 0, 1, 100);
        fs.closeSync(bigHandle);
        assert.notEqual((await modelFingerprint(large)).fingerprint, sampled.fingerprint);
        fs.rmSync(large);
    });

    it("finds an entry by the model's current content, and not after the file changes", async () => {
        const directory = path.join(root, "by-content");
        const model = path.join(root, "model-a.gguf");
        fs.writeFileSync(model, "version one");
        const {fingerprint} = await modelFingerprint(model);
        const file = writeCalibration(directory, entryFor(model, fingerprint));
        assert.equal(file, calibrationCacheFile(directory, fingerprint, "greedy-kl"));
        assert.deepEqual((await readCachedCalibration(directory, model))?.entry.order, [3, 1, 2]);
        // a copy elsewhere is the same model
        const copy = path.join(root, "copy-of-a.gguf");
        fs.copyFileSync(model, copy);
        assert.ok(await readCachedCalibration(directory, copy));
        fs.writeFileSync(model, "version two");
        assert.equal(await readCachedCalibration(directory, model), undefined);
    });

    it("drops the entry of an older version of the same model file when a new one is written", async () => {
        const directory = path.join(root, "stale");
        const model = path.join(root, "model-b.gguf");
        fs.writeFileSync(model, "old weights");
        writeCalibration(directory, entryFor(model, (await modelFingerprint(model)).fingerprint));
        fs.writeFileSync(model, "new weights");
        const fresh = writeCalibration(directory, entryFor(model, (await modelFingerprint(model)).fingerprint, [1, 2, 3]));
        assert.deepEqual(
            listCalibrations(directory).map((item) => item.file),
            [fresh]
        );
        assert.deepEqual(fs.readdirSync(directory), [path.basename(fresh)]);
    });

    it("ignores files that are not whole, consistent entries", async () => {
        const directory = path.join(root, "broken");
        const model = path.join(root, "model-c.gguf");
        fs.writeFileSync(model, "weights");
        const {fingerprint} = await modelFingerprint(model);
        const file = calibrationCacheFile(directory, fingerprint, "greedy-kl");
        fs.mkdirSync(directory, {recursive: true});
        fs.writeFileSync(file, JSON.stringify(entryFor(model, fingerprint)).slice(0, 50));
        assert.equal(await readCachedCalibration(directory, model), undefined);
        fs.writeFileSync(file, JSON.stringify(entryFor(model, fingerprint, [1, 1, 2])));
        assert.equal(readCalibrationFile(file), undefined, "an order that is not a permutation");
        fs.writeFileSync(file, JSON.stringify({...entryFor(model, fingerprint), format: "something-else/9"}));
        assert.equal(readCalibrationFile(file), undefined);
        fs.writeFileSync(file, JSON.stringify(entryFor(model, fingerprint)));
        assert.ok(readCalibrationFile(file, 5));
        assert.equal(readCalibrationFile(file, 16), undefined, "an entry for a model of another depth");
    });

    it("prefers a greedy order to a one-pass estimate unless a method is asked for", async () => {
        const directory = path.join(root, "methods");
        const model = path.join(root, "model-d.gguf");
        fs.writeFileSync(model, "weights d");
        const {fingerprint} = await modelFingerprint(model);
        writeCalibration(directory, {...entryFor(model, fingerprint, [2, 3, 1]), method: "single-layer-kl"});
        assert.equal((await readCachedCalibration(directory, model))?.entry.method, "single-layer-kl");
        writeCalibration(directory, entryFor(model, fingerprint));
        assert.equal((await readCachedCalibration(directory, model))?.entry.method, "greedy-kl");
        assert.equal((await readCachedCalibration(directory, model, {method: "single-layer-kl"}))?.entry.method, "single-layer-kl");
    });
});
