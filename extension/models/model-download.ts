// node-llama-cpp's resumable downloader, loaded only when a download starts: the package is ESM-only
// (so a dynamic import from this CommonJS bundle) and has no business in the editor otherwise.
import fs from "node:fs";
import {ModelDownloadFailedError, OperationCancelledError} from "../errors.js";

export type DownloadOptions = {
    uri: string;
    directory: string;
    /** Defaults to the name the server gives. */
    fileName?: string;
    signal: AbortSignal;
    onProgress: (downloadedBytes: number, totalBytes: number) => void;
};

/** Downloads and returns the model's entry file; the partial file is kept on cancel or failure, so a new call resumes. */
export async function downloadModel(options: DownloadOptions): Promise<string> {
    fs.mkdirSync(options.directory, {recursive: true});
    const {createModelDownloader} = await import("node-llama-cpp");
    options.signal.throwIfAborted();
    try {
        const downloader = await createModelDownloader({
            modelUri: options.uri,
            dirPath: options.directory,
            fileName: options.fileName,
            onProgress: ({downloadedSize, totalSize}) => options.onProgress(downloadedSize, totalSize),
            skipExisting: true,
            deleteTempFileOnCancel: false
        });
        const onAbort = () => void downloader.cancel({deleteTempFile: false}).catch(() => undefined);
        options.signal.addEventListener("abort", onAbort, {once: true});
        try {
            return await downloader.download({signal: options.signal});
        } finally {
            options.signal.removeEventListener("abort", onAbort);
        }
    } catch (error) {
        if (options.signal.aborted) throw new OperationCancelledError("Download paused");
        throw new ModelDownloadFailedError(
            `Downloading ${options.uri} failed: ${(error as Error).message}. ` +
                "Check the network connection and run the download again; it resumes where it stopped.",
            options.uri
        );
    }
}

export function formatBytes(bytes: number): string {
    const units = ["B", "KB", "MB", "GB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
        value /= 1000;
        unit++;
    }
    return `${value.toFixed(unit === 0 || value >= 100 ? 0 : 1)} ${units[unit]}`;
}
