// Runs the engine's own speed calibration (the one behind the dial's predictions) at each batch size in
// its own process, and prints the cost models, each point's 95% interval, or why a batch's calibration
// was refused, as one JSON line. The bench passes a scratch cache directory: a benchmark's calibration
// never lands in (or is read from) the user's cache.
//   tsx bench/calibrate-worker.ts '{"modelPath":"...","batches":[1,4],"cacheDirectory":"/tmp/...","targetRelativeHalfWidth":0.02}'
import {readModelProfile} from "../engine/model-profile.js";
import {loadBenchLlama} from "./load-llama.js";
import {LayerSkipContext} from "../engine/native/skip-context.js";
import {buildSchedule, estimateCostModelFromTensorBytes, type CostModel, type ModelShape} from "../engine/plan/index.js";
import {SkipAwareCache} from "../engine/skip-aware-cache.js";
import {
    calibrateSpeed,
    DEFAULT_LONG_CONTEXT_TOKENS,
    generatorBurst,
    type CalibrationPoint,
    type EngineStepMeasurement,
    type SpeedCalibrationResult,
    type SpeedCalibrationTuning
} from "../engine/speed-calibration.js";
import {Generator} from "../engine/generation/generator.js";
import {describeCompute} from "../common/engine-protocol.js";
import {DEFAULT_SEQUENCES} from "../engine/dial-engine.js";

export type CalibrationRequest = SpeedCalibrationTuning & {modelPath: string; batches: number[]; threads?: number};

export type BatchCalibration =
    | {
          costModel: CostModel;
          points: CalibrationPoint[];
          engineStep?: EngineStepMeasurement;
          attentionFromOneSequence?: SpeedCalibrationResult["attentionFromOneSequence"];
          notCachedReason?: string;
          elapsedSeconds?: {total: number; longContext: number};
      }
    | {error: string};

export type CalibrationReport = {
    shape: ModelShape;
    prior: CostModel;
    calibrations: Record<number, BatchCalibration>;
    compute: string;
    threads: number;
    /** the context the calibration timed in: the bench runs the dial in the same shape, as the engine runs
     *  its own calibration and every answer in one context */
    context: {contextSize: number; sequences: number};
};

const request = JSON.parse(process.argv[2] ?? "{}") as CalibrationRequest;
const {llama, buildInfo, binsDirectory, backend} = await loadBenchLlama();
const model = await llama.loadModel({modelPath: request.modelPath, gpuLayers: backend.gpu === false ? 0 : "auto"});
const profile = await readModelProfile(request.modelPath);
const threads = request.threads ?? llama.cpuMathCores;
// room for the calibration's long-context points (DEFAULT_LONG_CONTEXT_TOKENS cached tokens), in as many
// sequences as the engine's context holds, and twice the largest batch: the calibration times the longer
// contexts on sequences beside the short context's (timeGroups)
const contextShape = {
    contextSize: Math.min(DEFAULT_LONG_CONTEXT_TOKENS + 64, profile.trainContextSize ?? 2048),
    sequences: Math.max(DEFAULT_SEQUENCES, 2 * Math.max(...request.batches))
};
const context = await LayerSkipContext.create(model, {...contextShape, threads});
const cache = new SkipAwareCache(context);
// the engine's own step, timed beside bare decodes (its bursts give their own mask and prefill)
const fullMask = new Uint8Array(profile.shape.layerCount);
const generator = new Generator({model, cache, currentMask: () => fullMask, prefill: () => "full"});
const schedule = buildSchedule(profile.shape);
const prior = estimateCostModelFromTensorBytes({layerBytes: profile.layerBytes, fixedBytes: profile.fixedBytes});
const compute = describeCompute({
    backend: backend.gpu || "cpu",
    deviceNames: backend.deviceNames,
    offloadedLayers: model.gpuLayers,
    offloadableLayers: profile.shape.layerCount + 1
});
const report: CalibrationReport = {shape: profile.shape, prior, calibrations: {}, compute, threads, context: contextShape};
for (const batch of request.batches) {
    try {
        const result = await calibrateSpeed({
            ...request,
            cache,
            schedule,
            prior,
            vocabularySize: profile.vocabularySize,
            buildId: buildInfo?.id ?? binsDirectory,
            device: compute,
            threads,
            batch,
            engineBurst: generatorBurst(generator, cache, batch, profile.vocabularySize)
        });
        report.calibrations[batch] = {
            costModel: result.costModel,
            points: result.points,
            ...(result.engineStep !== undefined ? {engineStep: result.engineStep} : {}),
            ...(result.attentionFromOneSequence !== undefined ? {attentionFromOneSequence: result.attentionFromOneSequence} : {}),
            ...(result.elapsedSeconds !== undefined ? {elapsedSeconds: result.elapsedSeconds} : {}),
            ...(result.notCachedReason !== undefined ? {notCachedReason: result.notCachedReason} : {})
        };
    } catch (error) {
        report.calibrations[batch] = {error: (error as Error).message};
    }
}
console.log(JSON.stringify(report));
await context.dispose();
await model.dispose();
