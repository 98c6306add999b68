// The pruned-model writer is the exactness oracle for layer skipping, so it must change nothing
// but the layer structure: same tensor bytes, renumbered layers, subset per-layer metadata,
// every other metadata record byte-identical.
import {test, describe, before, after} from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type {GgufTensorInfo} from "node-llama-cpp";
import {writePrunedModel, PruneError} from "../fixtures/gguf/prune.js";
import {readGgufFile, readTensorBytes, type GgufFileContents} from "../../engine/gguf/reader.js";
import {indexMetadataRecords, type MetadataRecordLocation} from "../fixtures/gguf/kv-index.js";
import {tensorByteLength, type WritableTensorType} from "../fixtures/gguf/format.js";
import {ensureFixture, testFixtureFor, type FixtureModel} from "../fixtures/fixture-models.js";

let workDir = "";
before(async () => {
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), "gguf-prune-"));
});
after(async () => {
    await fs.rm(workDir, {recursive: true, force: true});
});

async function metadataRecords(contents: GgufFileContents): Promise<{records: MetadataRecordLocation[]; raw: Buffer}> {
    const records = await indexMetadataRecords(contents.path, contents.metadataEnd);
    const raw = (await fs.readFile(contents.path)).subarray(0, contents.metadataEnd);
    return {records, raw};
}

function byteLengthOf(tensor: GgufTensorInfo): number {
    return tensorByteLength(tensor.ggmlType as WritableTensorType, tensor.dimensions.map(Number));
}

/** Source tensor name that a pruned tensor must be a copy of. */
function sourceNameOf(prunedName: string, keptLayers: readonly number[]): string {
    const match = /^blk\.(\d+)\.(.+)$/.exec(prunedName);
    return match == null ? prunedName : `blk.${keptLayers[Number(match[1])]}.${match[2]}`;
}

async function pruneAndCheck(fixture: FixtureModel, keepLayers: number[]): Promise<GgufFileContents> {
    await ensureFixture(fixture);
    const destination = path.join(workDir, `${fixture.id}-keep-${keepLayers.join("_")}.gguf`);
    const summary = await writePrunedModel(fixture.path, destination, {keepLayers});
    const kept = [...keepLayers].sort((a, b) => a - b);
    assert.deepEqual(summary.keptLayers, kept);

    const [source, pruned] = await Promise.all([readGgufFile(fixture.path), readGgufFile(destination)]);
    const arch = fixture.architecture;

    // exactly the non-layer tensors plus the kept layers' tensors, renumbered, in source order
    const expectedNames = source.tensors.flatMap((tensor) => {
        const match = /^blk\.(\d+)\.(.+)$/.exec(tensor.name);
        if (match == null) return [tensor.name];
        const newIndex = kept.indexOf(Number(match[1]));
        return newIndex < 0 ? [] : [`blk.${newIndex}.${match[2]}`];
    });
    assert.deepEqual(
        pruned.tensors.map((tensor) => tensor.name),
        expectedNames
    );

    const sourceByName = new Map(source.tensors.map((tensor) => [tensor.name, tensor]));
    for (const tensor of pruned.tensors) {
        const original = sourceByName.get(sourceNameOf(tensor.name, kept))!;
        assert.deepEqual(tensor.dimensions, original.dimensions, tensor.name);
        assert.equal(tensor.ggmlType, original.ggmlType, tensor.name);
        const length = byteLengthOf(tensor);
        const [copy, originalBytes] = await Promise.all([readTensorBytes(destination, tensor, length), readTensorBytes(fixture.path, original, length)]);
        assert.ok(copy.equals(originalBytes), `${tensor.name} is a byte copy of ${original.name}`);
    }

    assert.equal(pruned.metadata.get(`${arch}.block_count`), kept.length);

    // every record other than block_count and per-layer arrays is byte-identical, in the same order
    const [sourceRecords, prunedRecords] = await Promise.all([metadataRecords(source), metadataRecords(pruned)]);
    assert.deepEqual(
        prunedRecords.records.map((record) => record.key),
        sourceRecords.records.map((record) => record.key)
    );
    for (const [index, record] of prunedRecords.records.entries()) {
        const original = sourceRecords.records[index];
        assert.equal(record.valueType, original.valueType, record.key);
        assert.equal(record.itemType, original.itemType, record.key);
        if (record.key === `${arch}.block_count` || summary.subsetKeys.includes(record.key)) continue;
        assert.ok(
            prunedRecords.raw.subarray(record.start, record.end).equals(sourceRecords.raw.subarray(original.start, original.end)),
            `${record.key} copied verbatim`
        );
    }
    for (const key of summary.subsetKeys) {
        const values = source.metadata.get(key) as unknown[];
        assert.deepEqual(
            pruned.metadata.get(key),
            kept.map((layer) => values[layer]),
            key
        );
    }
    return pruned;
}

describe("writePrunedModel", () => {
    test("llama: keeps the chosen layers renumbered with identical bytes", async () => {
        await pruneAndCheck(testFixtureFor("llama"), [0, 3, 4, 7]);
    });

    test("keep order does not matter; layers stay in model order", async () => {
        await pruneAndCheck(testFixtureFor("mistral3"), [6, 1, 2]);
    });

    test("qwen2: per-layer head-count and n_ff arrays are subset", async () => {
        const fixture = testFixtureFor("qwen2");
        await ensureFixture(fixture);
        const summary = await writePrunedModel(fixture.path, path.join(workDir, "qwen2-arrays.gguf"), {keepLayers: [1, 2]});
        assert.deepEqual([...summary.subsetKeys].sort(), ["qwen2.attention.head_count", "qwen2.attention.head_count_kv", "qwen2.feed_forward_length"]);
        const pruned = await pruneAndCheck(fixture, [1, 2]);
        assert.deepEqual(pruned.metadata.get("qwen2.attention.head_count_kv"), [2, 2]);
    });

    test("gemma3: the sliding-window pattern keeps each kept layer's attention type", async () => {
        const fixture = testFixtureFor("gemma3");
        const keep = [0, 5, 6, 7, 11];
        const pruned = await pruneAndCheck(fixture, keep);
        assert.deepEqual(
            pruned.metadata.get("gemma3.attention.sliding_window_pattern"),
            keep.map((layer) => fixture.attentionTypes[layer] === "sliding")
        );
    });

    test("gemma2 and qwen3moe prune too", async () => {
        await pruneAndCheck(testFixtureFor("gemma2"), [1, 2, 5]);
        await pruneAndCheck(testFixtureFor("qwen3moe"), [0, 7]);
    });

    test("keeping every layer reproduces the source file byte for byte", async () => {
        const fixture = testFixtureFor("starcoder2");
        await ensureFixture(fixture);
        const destination = path.join(workDir, "all-layers.gguf");
        await writePrunedModel(fixture.path, destination, {keepLayers: Array.from({length: fixture.layerCount}, (_, layer) => layer)});
        assert.ok((await fs.readFile(destination)).equals(await fs.readFile(fixture.path)));
    });

    test("refuses empty, out-of-range and repeated layers with a clear error", async () => {
        const fixture = testFixtureFor("llama");
        await ensureFixture(fixture);
        const destination = path.join(workDir, "bad.gguf");
        await assert.rejects(writePrunedModel(fixture.path, destination, {keepLayers: []}), PruneError);
        await assert.rejects(writePrunedModel(fixture.path, destination, {keepLayers: [0, 8]}), /layers 0\.\.7/);
        await assert.rejects(writePrunedModel(fixture.path, destination, {keepLayers: [2, 2]}), /listed twice/);
        await assert.rejects(fs.stat(destination));
    });
});
