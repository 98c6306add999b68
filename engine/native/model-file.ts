// Opens a GGUF model for Layer Dial with errors that name the problem and the next step, instead of
// llama.cpp's terse "failed to load model". Reading the header first also tells whether the
// architecture can skip layers before any context exists.
import fs from "node:fs";
import {readGgufFileInfo, type Llama, type LlamaModel} from "node-llama-cpp";

/** the architectures whose graphs carry the skip guard (must match llama_model_supports_layer_skip in the patch) */
export const layerSkipArchitectures: ReadonlySet<string> = new Set([
    "llama", "qwen2", "qwen3", "qwen3moe", "phi3", "gemma2", "gemma3", "mistral3", "starcoder2", "granite"
]);

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
    path: string,
    architecture: string,
    layerCount: number,
    /** false: the model runs, but only at 1x */
    layerSkipSupported: boolean
};

export async function inspectModelFile(modelPath: string): Promise<ModelFileInfo> {
    if (!fs.existsSync(modelPath))
        throw new ModelFileNotFoundError(`Model file not found: ${modelPath}. Choose an existing .gguf file (Layer Dial: Select Model, or --model).`);
    if (!fs.statSync(modelPath).isFile())
        throw new ModelFileNotFoundError(`${modelPath} is not a file. Choose a .gguf model file.`);

    let architecture: string;
    let layerCount: number;
    try {
        const info = await readGgufFileInfo(modelPath, {readTensorInfo: false, sourceType: "filesystem"});
        architecture = String(info.metadata.general.architecture);
        const architectureMetadata = (info.metadata as unknown as Record<string, {block_count?: number} | undefined>)[architecture];
        layerCount = Number(architectureMetadata?.block_count ?? NaN);
    } catch (error) {
        throw new ModelFileCorruptError(`${modelPath} is not a readable GGUF model (${(error as Error).message}). ` +
            "The download may be incomplete or the file is not a GGUF; download it again or pick another file.");
    }
    if (!Number.isInteger(layerCount) || layerCount <= 0)
        throw new ModelFileCorruptError(`${modelPath} declares no layer count for architecture "${architecture}"; it is not a usable language model file.`);

    return {path: modelPath, architecture, layerCount, layerSkipSupported: layerSkipArchitectures.has(architecture)};
}

export async function openModel(llama: Llama, modelPath: string): Promise<{model: LlamaModel, info: ModelFileInfo}> {
    const info = await inspectModelFile(modelPath);
    try {
        const model = await llama.loadModel({modelPath});
        return {model, info};
    } catch (error) {
        throw new ModelLoadError(`llama.cpp could not load ${modelPath} (architecture "${info.architecture}"): ${(error as Error).message}. ` +
            "The file may be truncated or of an architecture this llama.cpp release does not know; try another model file.");
    }
}
