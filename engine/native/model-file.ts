// Opens a GGUF model for Layer Dial with errors that name the problem and the next step, instead of
// llama.cpp's terse "failed to load model". Reading the header first also tells whether the
// architecture can skip layers before any context exists; which architectures can is the loaded
// build's own list (PatchedLlama.layerSkipArchitectures, from the patched libllama).
import fs from "node:fs";
import {checkGgufHeader} from "../gguf/reader.js";
import {readGgufFileInfo, type Llama, type LlamaModel} from "node-llama-cpp";
import {layerSkipArchitecturesOf} from "./loader.js";

export class ModelFileNotFoundError extends Error {
    override name = "ModelFileNotFoundError";
}

export class ModelFileCorruptError extends Error {
    override name = "ModelFileCorruptError";
}

export class ModelLoadError extends Error {
    override name = "ModelLoadError";
}

export type ModelFileInfo = {
    path: string;
    architecture: string;
    layerCount: number;
    /** false: the model runs, but only at 1x */
    layerSkipSupported: boolean;
};

export type InspectModelFileOptions = {
    /** the architectures the build that will run the model can skip layers of (loadPatchedLlama's `layerSkipArchitectures`) */
    layerSkipArchitectures: ReadonlySet<string>;
};

export async function inspectModelFile(modelPath: string, options: InspectModelFileOptions): Promise<ModelFileInfo> {
    if (!fs.existsSync(modelPath))
        throw new ModelFileNotFoundError(`Model file not found: ${modelPath}. Choose an existing .gguf file (Layer Dial: Select Model, or --model).`);
    if (!fs.statSync(modelPath).isFile()) throw new ModelFileNotFoundError(`${modelPath} is not a file. Choose a .gguf model file.`);

    let architecture: string;
    let layerCount: number;
    try {
        checkGgufHeader(modelPath);
        const info = await readGgufFileInfo(modelPath, {readTensorInfo: false, sourceType: "filesystem"});
        architecture = String(info.metadata.general.architecture);
        const architectureMetadata = (info.metadata as unknown as Record<string, {block_count?: number} | undefined>)[architecture];
        layerCount = Number(architectureMetadata?.block_count ?? NaN);
    } catch (error) {
        throw new ModelFileCorruptError(
            `${modelPath} is not a readable GGUF model (${(error as Error).message}). ` +
                "The download may be incomplete or the file is not a GGUF; download it again or pick another file."
        );
    }
    if (!Number.isInteger(layerCount) || layerCount <= 0)
        throw new ModelFileCorruptError(`${modelPath} declares no layer count for architecture "${architecture}"; it is not a usable language model file.`);

    return {path: modelPath, architecture, layerCount, layerSkipSupported: options.layerSkipArchitectures.has(architecture)};
}

export type OpenModelOptions = {
    /** layers offloaded to the GPU: "auto" fits as many as VRAM holds, a number at most that many. Defaults to "auto". */
    gpuLayers?: "auto" | number;
    /** for messages: the backend the layers go to */
    backendName?: string;
};

export async function openModel(llama: Llama, modelPath: string, options: OpenModelOptions = {}): Promise<{model: LlamaModel; info: ModelFileInfo}> {
    const info = await inspectModelFile(modelPath, {layerSkipArchitectures: layerSkipArchitecturesOf(llama)});
    const gpuLayers = options.gpuLayers ?? "auto";
    try {
        // a number is an upper bound the user set; fitted to VRAM like "auto", never forced past it
        const model = await llama.loadModel({modelPath, gpuLayers: gpuLayers === "auto" ? "auto" : {max: gpuLayers}});
        return {model, info};
    } catch (error) {
        if (/VRAM|GPU memory|out of memory|InsufficientMemory/i.test(`${(error as Error).name} ${(error as Error).message}`))
            throw new ModelLoadError(
                `Not enough GPU memory on ${options.backendName ?? "the GPU"} for ${modelPath} (${(error as Error).message}). ` +
                    "Offload fewer layers (layerDial.gpuLayers, or --gpu-layers), pick a smaller model, or run on the CPU (layerDial.gpu: cpu, or --gpu cpu)."
            );
        throw new ModelLoadError(
            `llama.cpp could not load ${modelPath} (architecture "${info.architecture}"): ${(error as Error).message}. ` +
                "The file may be truncated or of an architecture this llama.cpp release does not know; try another model file."
        );
    }
}
