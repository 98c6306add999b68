// A model given as a local path or an hf: URI. URIs download through node-llama-cpp's downloader
// (resumable, with progress) into a models folder; nothing touches the network for a local path.
import fs from "node:fs";
import path from "node:path";
import {createModelDownloader} from "node-llama-cpp";
import {layerDialCacheDir} from "../common/cache-dir.js";

export class ModelDownloadError extends Error {
    override name = "ModelDownloadError";
}

export type ResolveModelOptions = {
    /** where downloads go. Defaults to ~/.cache/layer-dial/models. */
    directory?: string;
    /** print node-llama-cpp's progress bar (CLI) */
    showCliProgress?: boolean;
    onProgress?: (downloadedBytes: number, totalBytes: number) => void;
    signal?: AbortSignal;
};

/** resolving a URI only asks for file metadata; without a network it would otherwise wait for a long time */
const metadataTimeoutMs = 20_000;

function withTimeout<T>(promise: Promise<T>, milliseconds: number, message: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), milliseconds);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function isRemoteModel(spec: string): boolean {
    return /^(hf:|https?:\/\/)/.test(spec);
}

export async function resolveModelPath(spec: string, options: ResolveModelOptions = {}): Promise<string> {
    if (!isRemoteModel(spec)) return path.resolve(spec);

    const directory = options.directory ?? layerDialCacheDir("models");
    fs.mkdirSync(directory, {recursive: true});
    try {
        const downloader = await withTimeout(
            createModelDownloader({
                modelUri: spec,
                dirPath: directory,
                showCliProgress: options.showCliProgress ?? false,
                onProgress: ({downloadedSize, totalSize}) => options.onProgress?.(downloadedSize, totalSize),
                skipExisting: true,
                deleteTempFileOnCancel: false // keep the partial file so the next try resumes
            }),
            metadataTimeoutMs,
            `no answer from the model host within ${metadataTimeoutMs / 1000} s`
        );
        if (options.signal != null) options.signal.addEventListener("abort", () => void downloader.cancel({deleteTempFile: false}), {once: true});
        return await downloader.download({signal: options.signal});
    } catch (error) {
        if (options.signal?.aborted) throw new ModelDownloadError(`The download of ${spec} was cancelled; run it again to resume.`);
        throw new ModelDownloadError(
            `Could not download ${spec}: ${(error as Error).message}. ` +
                "Check the network connection (Layer Dial only goes online to download a model you asked for), or use a local .gguf file."
        );
    }
}
