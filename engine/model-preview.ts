// What a model file's dial would offer, before the model is loaded: its GGUF header and tensor sizes
// give the layers and the cost estimate, and the planner turns each named level into kept layers. The
// speed panel shows this from the first second; the loaded model later replaces the estimate with
// timings measured on this machine.
import fs from "node:fs";
import type {LevelPreview, ModelPreview} from "../common/engine-protocol.js";
import {defaultCalibrationCacheDirectory, readCachedCalibration} from "./calibration/index.js";
import {readModelProfile} from "./model-profile.js";
import {estimateCostModelFromTensorBytes, planForSpeed, SPEED_LEVELS, type PlannerInput} from "./plan/index.js";

export type PreviewModelOptions = {
    modelPath: string;
    /** the architectures the build that will run the model can skip layers of (PatchedLlama.layerSkipArchitectures) */
    layerSkipArchitectures: ReadonlySet<string>;
    /** where calibrated layer orders are cached. Defaults to ~/.cache/layer-dial/calibration. */
    calibrationCacheDirectory?: string;
    /** told about a level the file alone cannot plan (it is left out of the preview) */
    onSkippedLevel?: (level: string, reason: string) => void;
};

export async function previewModelFile(options: PreviewModelOptions): Promise<ModelPreview> {
    const {modelPath} = options;
    const fileBytes = (await fs.promises.stat(modelPath)).size;
    const profile = await readModelProfile(modelPath);
    const layerCount = profile.shape.layerCount;
    const layerSkipSupported = options.layerSkipArchitectures.has(profile.architecture);
    // the same order the engine would load with: a cached calibration of this very file, else even spacing
    const calibratedOrder = layerSkipSupported
        ? (await readCachedCalibration(options.calibrationCacheDirectory ?? defaultCalibrationCacheDirectory(), modelPath).catch(() => undefined))?.entry.order
        : undefined;
    const input: PlannerInput = {
        model: profile.shape,
        costModel: estimateCostModelFromTensorBytes({layerBytes: profile.layerBytes, fixedBytes: profile.fixedBytes}),
        strategy: calibratedOrder !== undefined ? "calibrated" : "even",
        calibratedOrder
    };
    const allLayers = Array.from({length: layerCount}, (_, layer) => layer);
    const levels: LevelPreview[] = [];
    for (const {name} of SPEED_LEVELS) {
        if (!layerSkipSupported) {
            levels.push({level: name, keptLayers: allLayers, predictedSpeedup: 1});
            continue;
        }
        try {
            const plan = planForSpeed(input, name);
            levels.push({level: name, keptLayers: [...plan.keptLayers], predictedSpeedup: plan.predictedSpeedup});
        } catch (error) {
            options.onSkippedLevel?.(name, (error as Error).message);
        }
    }
    return {
        path: modelPath,
        name: profile.name,
        architecture: profile.architecture,
        fileBytes,
        layerCount,
        layerSkipSupported,
        strategy: input.strategy ?? "even",
        levels
    };
}
