// The speed calibration measures what a token pays per cached token: on a real model (stories260K) it
// times full depth and the fewest layers at a long context as well as every depth at a short one, and the
// fitted per-context-token term is positive. It fills the long context outside the KV ledger, so it must
// leave the sequences empty and the native mask as it found it: the same tokens evaluated afterwards give
// exactly the logits of a fresh context. Intervals are loose (±10%) and nothing is cached (the load average
// is said to be high), so a busy test machine neither fails these tests nor leaves a calibration behind; a
// step at 1,024 cached tokens costs 5-14 times one at 8 on this model, far beyond any noise.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, before, describe, test} from "node:test";
import type {LlamaModel} from "node-llama-cpp";
import {readModelProfile, type ModelProfile} from "../../engine/model-profile.js";
import {LayerSkipContext} from "../../engine/native/skip-context.js";
import {
    buildSchedule,
    COST_MODEL_FORMAT,
    estimateCostModelFromTensorBytes,
    keptLayersAtDepth,
    predictedSpeedup,
    secondsPerToken,
    type CostModel,
    type SkipSchedule
} from "../../engine/plan/index.js";
import {SkipAwareCache} from "../../engine/skip-aware-cache.js";
import {calibrateSpeed, generatorBurst, SHORT_CONTEXT_TOKENS, speedCalibrationFile, type SpeedCalibrationOptions} from "../../engine/speed-calibration.js";
import {Generator} from "../../engine/generation/generator.js";
import {DialEngine, planInfo} from "../../engine/dial-engine.js";
import {maxAbsDifferenceOfRows, patchedLlama} from "../native/harness.js";

const storiesPath = new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;
const cacheRoot = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-context-calibration-"));
after(() => fs.rmSync(cacheRoot, {recursive: true, force: true}));

function filesIn(directory: string): string[] {
    return fs.existsSync(directory) ? fs.readdirSync(directory) : [];
}

const loose = {targetRelativeHalfWidth: 0.1, loadAverage: () => 1000};

describe("the speed calibration at a long context", () => {
    let model: LlamaModel;
    let context: LayerSkipContext;
    let cache: SkipAwareCache;
    let profile: ModelProfile;
    let schedule: SkipSchedule;
    let options: Omit<SpeedCalibrationOptions, "cacheDirectory">;

    before(async () => {
        model = await (await patchedLlama()).loadModel({modelPath: storiesPath});
        context = await LayerSkipContext.create(model, {contextSize: 1100, sequences: 2, threads: 1, batchSize: 32});
        cache = new SkipAwareCache(context);
        profile = await readModelProfile(storiesPath);
        schedule = buildSchedule(profile.shape);
        options = {
            ...loose,
            cache,
            schedule,
            prior: estimateCostModelFromTensorBytes({layerBytes: profile.layerBytes, fixedBytes: profile.fixedBytes}),
            modelPath: storiesPath,
            vocabularySize: profile.vocabularySize,
            buildId: "context-test",
            device: "cpu",
            threads: 1,
            batch: 1
        };
    });
    after(async () => {
        await context.dispose();
        await model.dispose();
    });

    test("times full depth and the fewest layers at 1,024 cached tokens and fits a positive per-token term", async () => {
        const result = await calibrateSpeed({...options, longContextTokens: 1024, cacheDirectory: path.join(cacheRoot, "long")});
        const long = result.points.filter((point) => point.contextTokens === 1024);
        assert.deepEqual(
            long.map((point) => point.depth),
            [profile.shape.layerCount, schedule.minDepth]
        );
        // on the way there, full depth at a quarter, half and three quarters of it, for the context curve (a
        // point too spread to time is left out)
        const between = result.points.filter((point) => point.contextTokens !== SHORT_CONTEXT_TOKENS && point.contextTokens !== 1024);
        for (const point of between) {
            assert.equal(point.depth, profile.shape.layerCount);
            assert.ok([256, 512, 768].includes(point.contextTokens), `a curve point at ${point.contextTokens}`);
        }
        assert.deepEqual(result.costModel.contextCurve?.tokens ?? [], between.length > 0 ? [...between.map((point) => point.contextTokens), 1024] : []);
        assert.ok(result.points.filter((point) => point.contextTokens === SHORT_CONTEXT_TOKENS).length >= 2);
        // each timing met the target (a point set against the short one carries both intervals, so its own may not)
        for (const point of result.points)
            assert.ok((point.besideShortContext?.timedStepSeconds ?? point.stepSeconds).relativeHalfWidth <= loose.targetRelativeHalfWidth);
        // the context holds a second sequence, so every point beyond the short context was timed in turns with
        // its depth at the short context, and is the short group's point times the ratio of the two
        for (const point of [...between, ...long]) {
            const beside = point.besideShortContext;
            assert.ok(beside !== undefined, `${point.depth} layers at ${point.contextTokens} tokens timed beside the short context`);
            const short = result.points.find((other) => other.depth === point.depth && other.contextTokens === SHORT_CONTEXT_TOKENS)!;
            const expected = (short.stepSeconds.mean * beside.timedStepSeconds.mean) / beside.shortStepSeconds.mean;
            assert.ok(Math.abs(point.stepSeconds.mean - expected) <= 1e-12 * expected);
            assert.ok(beside.timedStepSeconds.relativeHalfWidth <= loose.targetRelativeHalfWidth);
            assert.ok(beside.shortStepSeconds.relativeHalfWidth <= loose.targetRelativeHalfWidth);
            assert.ok(point.stepSeconds.relativeHalfWidth >= beside.timedStepSeconds.relativeHalfWidth);
            // the short context's steps beside it cost what a short step costs, not a long one's
            assert.ok(beside.shortStepSeconds.mean < beside.timedStepSeconds.mean);
        }
        const costModel = result.costModel;
        assert.ok(
            costModel.layerSecondsPerContextToken.every((perToken) => perToken > 0),
            `per-context-token costs ${costModel.layerSecondsPerContextToken.join(", ")}`
        );
        assert.equal(costModel.calibration?.maxContextTokens, 1024);
        assert.equal(costModel.calibration?.measurements, result.points.length);
        // a token costs more the longer the context, the more so the more layers run
        const all = keptLayersAtDepth(schedule, profile.shape.layerCount);
        const fewest = keptLayersAtDepth(schedule, schedule.minDepth);
        const growth = (kept: number[]) => secondsPerToken(costModel, kept, {contextTokens: 1024}) - secondsPerToken(costModel, kept);
        assert.ok(growth(all) > growth(fewest) && growth(fewest) > 0);
        assert.ok(
            result.elapsedSeconds !== undefined && result.elapsedSeconds.longContext > 0 && result.elapsedSeconds.longContext < result.elapsedSeconds.total
        );
        assert.match(result.notCachedReason ?? "", /busy|far longer|fit/);
        assert.deepEqual(filesIn(path.join(cacheRoot, "long")), [], "a calibration made under load is never cached");
    });

    test("leaves the KV ledger and the native cache as a fresh context: the same tokens give the same logits", async () => {
        const tokens = [1, 403, 13, 71, 250, 9, 33, 101];
        const full = new Uint8Array(profile.shape.layerCount);
        const shallow = new Uint8Array(profile.shape.layerCount).fill(1);
        for (const layer of keptLayersAtDepth(schedule, schedule.minDepth)) shallow[layer] = 0;
        const logitIndexes = tokens.map((_, i) => i);
        const evaluateBoth = async () => {
            const [first] = await cache.evaluate(full, [{sequenceId: 0, tokens, logitIndexes}]);
            const [second] = await cache.evaluate(shallow, [{sequenceId: 1, tokens, logitIndexes}]);
            return [first.logits, second.logits];
        };
        const before = await evaluateBoth();
        // the sequences hold something when the calibration starts, and the native mask is not the full one
        assert.equal(cache.ledger(0).length, tokens.length);
        // succeeded or refused (a busy machine), it cleans up the same way, and so do the engine's own bursts
        // beside it (through the KV ledger, unlike the bare steps)
        const generator = new Generator({model, cache, currentMask: () => full, prefill: () => "full"});
        const engineBurst = generatorBurst(generator, cache, 2, profile.vocabularySize);
        const result = await calibrateSpeed({...options, batch: 2, engineBurst, cacheDirectory: path.join(cacheRoot, "ledger")}).catch(() => undefined);
        if (result !== undefined) {
            // two sequences leave no room for a second pair beside the short context's: the one pair fills on
            assert.ok(result.points.every((point) => point.besideShortContext === undefined));
            const engineStep = result.engineStep;
            assert.ok(engineStep !== undefined && engineStep.extraSeconds.samples >= 4 && Number.isFinite(engineStep.extraSeconds.mean));
            assert.equal(result.costModel.calibration?.engineStepSeconds, Math.max(0, engineStep.extraSeconds.mean));
        }
        assert.equal(cache.ledger(0).length, 0);
        assert.equal(cache.ledger(1).length, 0);
        assert.deepEqual([...context.getLayerSkip()], [...shallow], "the native mask is the one the cache last set");
        const afterwards = await evaluateBoth();
        assert.equal(maxAbsDifferenceOfRows(afterwards[0], before[0]), 0);
        assert.equal(maxAbsDifferenceOfRows(afterwards[1], before[1]), 0);
        await cache.clear(0);
        await cache.clear(1);
    });

    test("without room for the long context, or with it turned off, the term stays 0", async () => {
        // the short points alone must resolve stories260K's ~0.02 ms a layer: at ±10% a busy CI machine once
        // put 2 layers no faster than 5 and the fit refused, so these time to ±2% (still well under a second)
        const tight = {...options, targetRelativeHalfWidth: 0.02};
        const off = await calibrateSpeed({...tight, longContextTokens: 0, cacheDirectory: path.join(cacheRoot, "off")});
        assert.ok(off.points.every((point) => point.contextTokens === SHORT_CONTEXT_TOKENS));
        assert.ok(off.costModel.layerSecondsPerContextToken.every((perToken) => perToken === 0));
        assert.equal(off.elapsedSeconds?.longContext, 0);
        assert.equal(off.notCachedReason, "the attention's cost per cached token was not measured (turned off)");
        const tooLong = await calibrateSpeed({...tight, longContextTokens: 5000, cacheDirectory: path.join(cacheRoot, "too-long")});
        assert.ok(tooLong.points.every((point) => point.contextTokens === SHORT_CONTEXT_TOKENS));
        assert.match(tooLong.notCachedReason ?? "", /not measured \(a context of 1100 tokens leaves no room for it\)/);
    });
});

describe("the engine's predictions at a context", () => {
    let engine: DialEngine;
    // a calibration as the engine caches one (a real one is measured above): 20 µs fixed, 30 µs per layer
    // and 0.4 µs per layer per cached token, so every prediction below is exact
    let known: CostModel;

    before(async () => {
        const {shape} = await readModelProfile(storiesPath);
        known = {
            format: COST_MODEL_FORMAT,
            layerCount: shape.layerCount,
            fixedSeconds: 20e-6,
            layerSeconds: Array.from({length: shape.layerCount}, () => 30e-6),
            layerSecondsPerContextToken: Array.from({length: shape.layerCount}, () => 0.4e-6),
            source: "calibrated",
            calibration: {measurements: 5, rmsResidualSeconds: 0, rmsRelativeResidual: 0, maxContextTokens: 1024}
        };
        const cacheDirectory = path.join(cacheRoot, "engine");
        fs.mkdirSync(cacheDirectory, {recursive: true});
        fs.writeFileSync(
            speedCalibrationFile({modelPath: storiesPath, buildId: "context-test", device: "cpu", threads: 1, batch: 1}, cacheDirectory),
            JSON.stringify(known)
        );
        engine = await DialEngine.load({
            llama: await patchedLlama(),
            modelPath: storiesPath,
            contextSize: 1100,
            sequences: 1,
            threads: 1,
            buildId: "context-test",
            calibrationCacheDirectory: path.join(cacheRoot, "order"),
            drafterStateDirectory: false,
            speedCalibration: {cacheDirectory}
        });
    });
    after(async () => {
        await engine.dispose();
    });

    test("a run's stats predict at its own context, and the plan at the last request's", async () => {
        assert.equal(engine.summary({binsDirectory: "", buildType: ""}).costModelSource, "calibrated", engine.speedCalibrationError);
        const max = engine.setSpeed({speed: "Max"});
        assert.equal(engine.currentPlan.atContext, undefined, "no context before the first request");
        assert.equal(max.predictedSpeedup, predictedSpeedup(known, max.keptLayers));
        const prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.";
        const {stats} = await engine.generate({prompt, maxTokens: 24, temperature: 0, stopAtEndOfGeneration: false});
        const runContext = stats.promptTokens + (24 - 2) / 2;
        assert.equal(stats.predictedAtContextTokens, runContext);
        assert.equal(stats.predictedSpeedup, predictedSpeedup(known, max.keptLayers, {contextTokens: runContext}));
        assert.ok(stats.predictedSpeedup > max.predictedSpeedup, `${stats.predictedSpeedup} at ${runContext} tokens, ${max.predictedSpeedup} at none`);
        // achieved divides by the 1x rate at the same context
        const fullAtRun = secondsPerToken(known, keptLayersAtDepth(buildSchedule({layerCount: known.layerCount}), known.layerCount), {
            contextTokens: runContext
        });
        assert.ok(stats.achievedSpeedup !== null && Math.abs(stats.achievedSpeedup / (stats.decodeTokensPerSecond * fullAtRun) - 1) < 1e-12);

        const contextTokens = stats.promptTokens + 24;
        const current = planInfo(engine.currentPlan).atContext;
        assert.deepEqual(current, {contextTokens, predictedSpeedup: predictedSpeedup(known, max.keptLayers, {contextTokens})});
        assert.deepEqual(engine.contextPrediction, current);
        assert.equal(planInfo(engine.currentPlan).predictedSpeedup, max.predictedSpeedup, "the plan's own prediction stays at an empty cache");
        // turning the dial predicts the new level at the same context
        engine.setSpeed({speed: "Quality"});
        assert.deepEqual(planInfo(engine.currentPlan).atContext, {contextTokens, predictedSpeedup: 1});
    });
});
