// The exactness check shared by the CPU and GPU suites: skipping layers S with the patched build must
// give the same logits as a GGUF with S physically removed, for prompt evaluation, KV-cached decode
// steps, and two sequences decoded in one batch.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type {Llama} from "node-llama-cpp";
import {writePrunedModel} from "../fixtures/gguf/prune.js";
import type {LayerSkipContext} from "../../engine/native/skip-context.js";
import {FIXTURE_DIR, type FixtureModel} from "../fixtures/fixture-models.js";
import {allFinite, argmax, maskOf, maxAbsDifferenceOfRows, openContext, range} from "./harness.js";

const tolerance = 1e-5;
const decodeSteps = 8;

/** a skip set with layers in the middle and near the top, keeping at least one layer of each attention type */
function skipSetFor(fixture: FixtureModel): number[] {
    const last = fixture.layerCount - 1;
    const candidates = [1, Math.floor(last / 2), last - 1];
    const skipped = [...new Set(candidates)].sort((a, b) => a - b);
    for (const type of new Set(fixture.attentionTypes)) {
        const kept = range(fixture.layerCount).filter((layer) => fixture.attentionTypes[layer] === type && !skipped.includes(layer));
        assert.ok(kept.length > 0, `test skip set would drop every ${type} layer of ${fixture.id}`);
    }
    return skipped;
}

type Run = {promptRows: Float32Array[], stepRows: Float32Array[]};

/** prompt with logits at every position, then greedy steps whose tokens come from `chooser` */
async function promptAndSteps(context: LayerSkipContext, sequenceId: number, prompt: number[], steps: number[]): Promise<Run> {
    const [promptRows] = await context.decode([{sequenceId, firstPosition: 0, tokens: prompt, logitIndexes: range(prompt.length)}]);
    const stepRows: Float32Array[] = [];
    for (let i = 0; i < steps.length; i++) {
        const [[row]] = await context.decode([{sequenceId, firstPosition: prompt.length + i, tokens: [steps[i]]}]);
        stepRows.push(row);
    }
    return {promptRows, stepRows};
}

/** two sequences side by side in every batch: both prompts in one batch, then one token of each per step */
async function batchedPair(context: LayerSkipContext, prompts: [number[], number[]], steps: [number[], number[]]) {
    const rows: [Float32Array[], Float32Array[]] = [[], []];
    const first = await context.decode(prompts.map((prompt, sequenceId) => ({sequenceId, firstPosition: 0, tokens: prompt})));
    rows[0].push(...first[0]);
    rows[1].push(...first[1]);
    for (let i = 0; i < steps[0].length; i++) {
        const result = await context.decode([0, 1].map((sequenceId) => ({
            sequenceId, firstPosition: prompts[sequenceId].length + i, tokens: [steps[sequenceId][i]]
        })));
        rows[0].push(...result[0]);
        rows[1].push(...result[1]);
    }
    return rows;
}

export type ExactnessOptions = {
    /** layers offloaded to the GPU for both models. Defaults to 0 (the CPU). */
    gpuLayers?: number,
    /** for the log line, e.g. "vulkan" */
    label?: string
};

export async function checkSkipEqualsPruned(llama: Llama, fixture: FixtureModel, options: ExactnessOptions = {}) {
    const skipped = skipSetFor(fixture);
    const kept = range(fixture.layerCount).filter((layer) => !skipped.includes(layer));
    const prunedPath = path.join(FIXTURE_DIR, "pruned", `${fixture.id}-without-${skipped.join("-")}.gguf`);
    fs.mkdirSync(path.dirname(prunedPath), {recursive: true});
    await writePrunedModel(fixture.path, prunedPath, {keepLayers: kept});

    // llama.cpp offloads the last layers (and the output layer once every layer is offloaded): the pruned
    // model offloads exactly the kept ones among them, so each layer runs on the same device in both
    const gpuLayers = options.gpuLayers ?? 0;
    const prunedGpuLayers = gpuLayers > fixture.layerCount
        ? kept.length + (gpuLayers - fixture.layerCount)
        : kept.filter((layer) => layer >= fixture.layerCount - gpuLayers).length;
    const fullModel = await llama.loadModel({modelPath: fixture.path, gpuLayers});
    const prunedModel = await llama.loadModel({modelPath: prunedPath, gpuLayers: prunedGpuLayers});
    const full = await openContext(fullModel);
    const pruned = await openContext(prunedModel);
    try {
        assert.equal(pruned.layerCount, kept.length);
        const promptA = fullModel.tokenize("def add(a, b):\n    return a + b  # sum", false);
        const promptB = fullModel.tokenize("Once upon a time, a fox", false);
        assert.deepEqual(prunedModel.tokenize("Once upon a time, a fox", false), promptB);

        // the oracle picks the continuation, so both models see the same tokens
        const oracleRun = await promptAndSteps(pruned, 0, promptA, []);
        let next = argmax(oracleRun.promptRows.at(-1)!);
        const steps: number[] = [];
        for (let i = 0; i < decodeSteps; i++) {
            steps.push(next);
            const [[row]] = await pruned.decode([{sequenceId: 0, firstPosition: promptA.length + i, tokens: [next]}]);
            next = argmax(row);
        }
        await pruned.removeTokens(0, 0);

        const unskipped = await promptAndSteps(full, 0, promptA, []);
        await full.removeTokens(0, 0);

        await full.setLayerSkip(maskOf(fixture.layerCount, skipped));
        assert.deepEqual([...full.getLayerSkip()], [...maskOf(fixture.layerCount, skipped)]);
        const skippedRun = await promptAndSteps(full, 0, promptA, steps);
        const reference = await promptAndSteps(pruned, 0, promptA, steps);

        assert.ok(skippedRun.promptRows.every(allFinite), "logits must be finite");
        assert.ok(maxAbsDifferenceOfRows(unskipped.promptRows, skippedRun.promptRows) > 1e-3,
            "skipping layers must change the logits, or this test proves nothing");
        const promptDelta = maxAbsDifferenceOfRows(skippedRun.promptRows, reference.promptRows);
        const stepDelta = maxAbsDifferenceOfRows(skippedRun.stepRows, reference.stepRows);
        assert.ok(promptDelta <= tolerance, `prompt logits differ by ${promptDelta}`);
        assert.ok(stepDelta <= tolerance, `decode-step logits differ by ${stepDelta}`);

        await full.removeTokens(0, 0);
        await pruned.removeTokens(0, 0);
        const stepsB = steps.map((token, i) => steps[(i + 3) % steps.length] ?? token);
        const batchedFull = await batchedPair(full, [promptA, promptB], [steps, stepsB]);
        const batchedPruned = await batchedPair(pruned, [promptA, promptB], [steps, stepsB]);
        for (const sequenceId of [0, 1]) {
            const delta = maxAbsDifferenceOfRows(batchedFull[sequenceId], batchedPruned[sequenceId]);
            assert.ok(delta <= tolerance, `sequence ${sequenceId} in a shared batch differs by ${delta}`);
        }
        console.log(`${fixture.architecture}${options.label != null ? ` (${options.label}, ${fullModel.gpuLayers} layers offloaded)` : ""}: ` +
            `skipped [${skipped}] of ${fixture.layerCount}; max |Δ| prompt ${promptDelta.toExponential(2)}, steps ${stepDelta.toExponential(2)}`);
        return {skipped, offloadedLayers: fullModel.gpuLayers, promptDelta, stepDelta};
    } finally {
        await full.dispose();
        await pruned.dispose();
        await fullModel.dispose();
        await prunedModel.dispose();
    }
}
