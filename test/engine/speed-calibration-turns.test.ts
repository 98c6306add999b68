// How the speed calibration takes turns between depths, on a real model (stories260K): from the fewest layers
// up, so that only the first turn of a round follows a drop in depth, and that turn leads in with untimed
// steps, since the first steps after a drop run slower than the pace an answer decodes at (speed-calibration.ts,
// LEAD_IN_AFTER_DROP). The real context's calls are watched, not replaced: every decode is one the calibration
// made, under the mask the context held when it ran.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import type {LlamaModel} from "node-llama-cpp";
import {readModelProfile, type ModelProfile} from "../../engine/model-profile.js";
import {LayerSkipContext} from "../../engine/native/skip-context.js";
import {buildSchedule, keptLayersAtDepth, skipMaskKeeping, type SkipSchedule} from "../../engine/plan/index.js";
import {SkipAwareCache} from "../../engine/skip-aware-cache.js";
import {ScratchSequences} from "../../engine/speed-calibration.js";
import {patchedLlama} from "../native/harness.js";

const storiesPath = new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;

/** the decodes a ScratchSequences made, as runs of consecutive steps under one mask (by its kept layers), and
 *  each sequence's part of every decode, in order, with the mask it ran under */
function watchDecodes(context: LayerSkipContext): {runs: {kept: number; steps: number}[]; items: {kept: number; sequenceId: number; position: number}[]} {
    const watched = {runs: [] as {kept: number; steps: number}[], items: [] as {kept: number; sequenceId: number; position: number}[]};
    let kept = -1;
    const setLayerSkip = context.setLayerSkip.bind(context);
    const decodeReadouts = context.decodeReadouts.bind(context);
    context.setLayerSkip = async (mask: Uint8Array) => {
        kept = mask.reduce((count, skip) => count + (skip ? 0 : 1), 0);
        return await setLayerSkip(mask);
    };
    context.decodeReadouts = (async (...args: Parameters<typeof decodeReadouts>) => {
        const last = watched.runs.at(-1);
        if (last?.kept === kept) last.steps++;
        else watched.runs.push({kept, steps: 1});
        for (const item of args[0]) watched.items.push({kept, sequenceId: item.sequenceId, position: item.firstPosition});
        return await decodeReadouts(...args);
    }) as typeof context.decodeReadouts;
    return watched;
}

describe("the speed calibration's turns", () => {
    let model: LlamaModel;
    let context: LayerSkipContext;
    let profile: ModelProfile;
    let schedule: SkipSchedule;

    before(async () => {
        model = await (await patchedLlama()).loadModel({modelPath: storiesPath});
        context = await LayerSkipContext.create(model, {contextSize: 64, sequences: 1, threads: 1, batchSize: 32});
        profile = await readModelProfile(storiesPath);
        schedule = buildSchedule(profile.shape);
    });
    after(async () => {
        await context.dispose();
        await model.dispose();
    });

    test("go from the fewest layers up and lead in with 16 untimed steps after a drop, 1 after a rise", async () => {
        const layerCount = profile.shape.layerCount;
        const depths = [layerCount, schedule.minDepth, schedule.minDepth + 1];
        assert.ok(schedule.minDepth + 1 < layerCount, "three distinct depths");
        const masks = depths.map((depth) => skipMaskKeeping(layerCount, keptLayersAtDepth(schedule, depth)));
        const cache = new SkipAwareCache(context);
        const watched = watchDecodes(context);
        const sequences = await ScratchSequences.open(cache, schedule, 1, profile.vocabularySize);
        await sequences.fillTo(8);
        const fill = watched.runs.length;
        // 40 timed steps each: several rounds of turns (8 to 32 steps, at least 30 ms)
        const timings = await sequences.timeInTurns(masks, {minimumSteps: 40, targetRelativeHalfWidth: Infinity, maxSeconds: Infinity});
        await sequences.close();
        const runs = watched.runs.slice(fill);

        // a round: the fewest layers, then the next depth, then full depth (the order given is full first)
        const ascending = [...depths].sort((a, b) => a - b);
        assert.deepEqual(
            runs.slice(0, 3).map((run) => run.kept),
            ascending
        );
        assert.ok(runs.length >= 6, `${runs.length} turns`);
        // a stories260K step takes well under 0.1 s / 16, so a lead-in after a drop is 16 steps; the very first
        // turn leads in with 2, every turn after a rise with 1; each turn times at least 8 steps
        const leadIns = runs.map((run, index) => (index === 0 ? 2 : run.kept < runs[index - 1].kept ? 16 : 1));
        for (const [index, run] of runs.entries()) assert.ok(run.steps >= leadIns[index] + 8, `turn ${index} (${run.kept} layers) decoded ${run.steps} steps`);
        // within a round the depth only rises: a drop starts the next round, at the fewest layers still timed
        for (const [index, run] of runs.entries())
            if (index > 0 && run.kept < runs[index - 1].kept)
                assert.equal(
                    run.kept,
                    ascending.find((depth) => runs.slice(index).some((later) => later.kept === depth))
                );
        assert.ok(
            runs.some((run, index) => index > 0 && run.kept < runs[index - 1].kept),
            "at least one drop"
        );
        // every step a mask decoded is timed except its lead-ins
        for (const [index, depth] of depths.entries()) {
            const decoded = runs.reduce((sum, run, runIndex) => sum + (run.kept === depth ? run.steps - leadIns[runIndex] : 0), 0);
            const timing = timings[index];
            assert.equal(timing.stepSeconds.samples + timing.rejectedOutliers, decoded, `${depth} layers`);
            assert.ok(timing.stepSeconds.samples >= 40 - timing.rejectedOutliers);
        }
    });

    test("on two sets of sequences: each decodes after the context it holds, and a turn under the same mask leads in with nothing", async () => {
        const layerCount = profile.shape.layerCount;
        const twoSequences = await LayerSkipContext.create(model, {contextSize: 64, sequences: 2, threads: 1, batchSize: 32});
        try {
            const cache = new SkipAwareCache(twoSequences);
            const masks = [layerCount, schedule.minDepth].map((depth) => skipMaskKeeping(layerCount, keptLayersAtDepth(schedule, depth)));
            const short = await ScratchSequences.open(cache, schedule, 1, profile.vocabularySize);
            const long = await ScratchSequences.open(cache, schedule, 1, profile.vocabularySize, 1);
            await short.fillTo(8);
            await long.fillTo(40);
            // each step as (kept layers, sequence, position), in the order decoded
            const steps = watchDecodes(twoSequences).items;
            const timings = await ScratchSequences.timeTurns(
                [
                    {sequences: short, mask: masks[0]},
                    {sequences: short, mask: masks[1]},
                    {sequences: long, mask: masks[0]},
                    {sequences: long, mask: masks[1]}
                ],
                {minimumSteps: 40, targetRelativeHalfWidth: Infinity, maxSeconds: Infinity}
            );
            await long.close();
            await short.close();
            for (const step of steps) assert.equal(step.position, step.sequenceId === 0 ? 8 : 40);
            // runs of steps on one sequence under one mask
            const runs: {kept: number; sequenceId: number; steps: number}[] = [];
            for (const step of steps) {
                const last = runs.at(-1);
                if (last?.kept === step.kept && last.sequenceId === step.sequenceId) last.steps++;
                else runs.push({kept: step.kept, sequenceId: step.sequenceId, steps: 1});
            }
            // fewest layers first, and under one mask the turns in the order given: the short sequence's first
            const fewest = keptLayersAtDepth(schedule, schedule.minDepth).length;
            assert.deepEqual(
                runs.slice(0, 4).map((run) => [run.kept, run.sequenceId]),
                [
                    [fewest, 0],
                    [fewest, 1],
                    [layerCount, 0],
                    [layerCount, 1]
                ]
            );
            // a lead-in only where the mask changed (2 first, 16 after a drop, 1 after a rise), none between
            // two sequences' turns under one mask
            const leadIns = runs.map((run, index) => (index === 0 ? 2 : run.kept === runs[index - 1].kept ? 0 : run.kept < runs[index - 1].kept ? 16 : 1));
            // (40 timed steps each and at most 32 a turn: at least two rounds, and a drop between them)
            assert.ok(leadIns.includes(0) && leadIns.includes(16), `lead-ins ${leadIns.join(", ")}`);
            const turns = [
                {kept: fewest, sequenceId: 0, index: 1},
                {kept: layerCount, sequenceId: 0, index: 0},
                {kept: fewest, sequenceId: 1, index: 3},
                {kept: layerCount, sequenceId: 1, index: 2}
            ];
            for (const turn of turns) {
                const decoded = runs.reduce(
                    (sum, run, runIndex) => sum + (run.kept === turn.kept && run.sequenceId === turn.sequenceId ? run.steps - leadIns[runIndex] : 0),
                    0
                );
                const timing = timings[turn.index];
                assert.equal(timing.stepSeconds.samples + timing.rejectedOutliers, decoded, `${turn.kept} layers on sequence ${turn.sequenceId}`);
            }
            assert.equal(cache.ledger(0).length + cache.ledger(1).length, 0);
        } finally {
            await twoSequences.dispose();
        }
    });
});
