// Runs the engine's own speed calibration (the one behind the dial's predictions) at batch 1 and 4 in its
// own process, and prints the cost models as one JSON line.
import {readModelProfile} from "../engine/model-profile.js";
import {loadPatchedLlama} from "../engine/native/loader.js";
import {LayerSkipContext} from "../engine/native/skip-context.js";
import {buildSchedule, estimateCostModelFromTensorBytes, type CostModel, type ModelShape} from "../engine/plan/index.js";
import {SkipAwareCache} from "../engine/skip-aware-cache.js";
import {calibrateSpeed} from "../engine/speed-calibration.js";
import {describeCompute} from "../common/engine-protocol.js";

export type CalibrationReport = {shape: ModelShape; costModels: Record<number, CostModel>; cached: Record<number, boolean>; compute: string};

const [modelPath, batchesArgument = "1,4"] = process.argv.slice(2);
const {llama, buildInfo, binsDirectory, backend} = await loadPatchedLlama();
const model = await llama.loadModel({modelPath, gpuLayers: backend.gpu === false ? 0 : "auto"});
const profile = await readModelProfile(modelPath);
const batches = batchesArgument.split(",").map(Number);
const context = await LayerSkipContext.create(model, {
    contextSize: 4096 > (profile.trainContextSize ?? 4096) ? profile.trainContextSize! : 4096,
    sequences: Math.max(4, ...batches)
});
const cache = new SkipAwareCache(context);
const schedule = buildSchedule(profile.shape);
const prior = estimateCostModelFromTensorBytes({layerBytes: profile.layerBytes, fixedBytes: profile.fixedBytes});
const compute = describeCompute({
    backend: backend.gpu || "cpu",
    deviceNames: backend.deviceNames,
    offloadedLayers: model.gpuLayers,
    offloadableLayers: profile.shape.layerCount + 1
});
const report: CalibrationReport = {shape: profile.shape, costModels: {}, cached: {}, compute};
for (const batch of batches) {
    const result = await calibrateSpeed({
        cache,
        schedule,
        prior,
        modelPath,
        vocabularySize: profile.vocabularySize,
        buildId: buildInfo?.id ?? binsDirectory,
        device: compute,
        threads: llama.cpuMathCores,
        batch
    });
    report.costModels[batch] = result.costModel;
    report.cached[batch] = result.cached;
}
console.log(JSON.stringify(report));
await context.dispose();
await model.dispose();
