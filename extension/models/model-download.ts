// Downloading a model file: the one place the extension goes online, and only after the user started
// the download and confirmed its size and source. Two steps, so the confirmation can sit between them:
// probeDownload asks the server for the size (a HEAD request, no body), downloadFile fetches the file
// into `<file>.partial` and renames it when complete. A cancelled or failed download keeps the partial
// file, and the next downloadFile resumes from its end with an HTTP Range request.
//
// Our own few lines instead of node-llama-cpp's createModelDownloader: its downloader (ipull) sizes a
// file with a full GET, fetches in parallel 5 MB chunks, resolves as if finished when cancelled, and
// kept no partial file when cancelled within the first chunk, so neither "size before any download" nor
// "cancel, then resume" held. No 'vscode' here: tests run it against a local HTTP server.
import fs from "node:fs";
import path from "node:path";
import {Readable, Transform} from "node:stream";
import {pipeline} from "node:stream/promises";
import type {ReadableStream as NodeReadableStream} from "node:stream/web";
import {ModelDownloadFailedError, OperationCancelledError, UnsupportedModelUriError} from "../errors.js";
import {downloadFileName, parseHfUri} from "./model-path.js";

/** Where a model URI is fetched from, and the file name it is saved under. */
export type RemoteModelFile = {
    /** what the user or the setting gave: an hf: URI or an https URL */
    uri: string;
    /** the HTTP(S) URL fetched */
    url: string;
    fileName: string;
};

const HUGGING_FACE = "https://huggingface.co";

/**
 * The URL behind a model URI: `hf:<owner>/<repo>/<file>.gguf[#branch]` is Hugging Face's resolve URL for
 * that file; an https URL of a .gguf file is itself. The `hf:<owner>/<repo>:<quant>` form needs Hugging Face's API to
 * find its file, so it is refused with the form to use instead.
 */
export function remoteModelFile(uri: string): RemoteModelFile {
    const trimmed = uri.trim();
    const hf = parseHfUri(trimmed);
    if (hf?.filePath !== undefined) {
        const file = hf.filePath.split("/").map(encodeURIComponent).join("/");
        return {
            uri: hf.uri,
            url: `${HUGGING_FACE}/${hf.owner}/${hf.repo}/resolve/${encodeURIComponent(hf.branch ?? "main")}/${file}`,
            fileName: downloadFileName(hf) ?? path.basename(hf.filePath)
        };
    }
    if (hf !== undefined)
        throw new UnsupportedModelUriError(
            `"${trimmed}" names a model by quantization; Layer Dial downloads a named file. ` +
                "Use the form hf:<owner>/<repo>/<file>.gguf (the file name is on the repository's Files page)."
        );
    let url: URL | undefined;
    try {
        url = new URL(trimmed);
    } catch {
        url = undefined;
    }
    // https only: a model file is code-adjacent input to llama.cpp, and plain http lets anyone on the way swap it
    if (url?.protocol === "https:" && url.pathname.endsWith(".gguf"))
        return {uri: trimmed, url: url.toString(), fileName: decodeURIComponent(path.posix.basename(url.pathname)).replace(/[^A-Za-z0-9._-]/g, "_")};
    throw new UnsupportedModelUriError(
        `"${trimmed}" is not a model Layer Dial can download: give hf:<owner>/<repo>/<file>.gguf or an https:// URL of a .gguf file.`
    );
}

export type DownloadProbe = {
    url: string;
    /** the file's size as the server states it; undefined when it does not say */
    totalBytes: number | undefined;
    /** bytes of an earlier, unfinished download of the same file already on disk */
    partialBytes: number;
    /** false: the server does not take Range requests, so a partial file would be fetched again from the start */
    resumable: boolean;
};

export type ProbeOptions = {url: string; filePath: string; signal?: AbortSignal};

/** Asks the server for the file's size with a HEAD request (redirects followed); downloads nothing. */
export async function probeDownload(options: ProbeOptions): Promise<DownloadProbe> {
    const response = await request(options.url, {method: "HEAD", signal: options.signal});
    if (!response.ok)
        throw new ModelDownloadFailedError(
            `${options.url} answered ${response.status} ${response.statusText}. Check the model URI (layerDial.model) and try again.`,
            options.url
        );
    const length = Number(response.headers.get("content-length") ?? NaN);
    return {
        url: options.url,
        totalBytes: Number.isSafeInteger(length) && length > 0 ? length : undefined,
        partialBytes: fileSize(partialPath(options.filePath)),
        resumable: response.headers.get("accept-ranges")?.toLowerCase() === "bytes"
    };
}

export type DownloadFileOptions = {
    url: string;
    /** where the finished file goes; `<filePath>.partial` holds it until then */
    filePath: string;
    /** the size probeDownload reported: the finished file must have it */
    totalBytes?: number;
    signal?: AbortSignal;
    onProgress?: (downloadedBytes: number, totalBytes: number | undefined) => void;
};

/** The file an unfinished download of `filePath` is kept in. */
export function partialPath(filePath: string): string {
    return `${filePath}.partial`;
}

/**
 * Downloads `url` to `filePath`, resuming `<filePath>.partial` when there is one. Throws
 * OperationCancelledError when the signal aborts (the partial file stays for the next call) and
 * ModelDownloadFailedError for anything the network or the server did.
 */
export async function downloadFile(options: DownloadFileOptions): Promise<string> {
    const partial = partialPath(options.filePath);
    fs.mkdirSync(path.dirname(options.filePath), {recursive: true});
    let offset = fileSize(partial);
    if (options.totalBytes !== undefined && offset > options.totalBytes) {
        // not a prefix of this file (the file changed on the server): start again
        fs.rmSync(partial, {force: true});
        offset = 0;
    }
    try {
        if (options.totalBytes === undefined || offset < options.totalBytes) {
            const response = await request(options.url, {
                method: "GET",
                signal: options.signal,
                headers: offset > 0 ? {Range: `bytes=${offset}-`} : {}
            });
            if (response.status === 200)
                offset = 0; // the server ignored the range: the body is the whole file
            else if (response.status !== 206 || offset === 0 || rangeStart(response.headers.get("content-range")) !== offset)
                throw new ModelDownloadFailedError(
                    `${options.url} answered ${response.status} ${response.statusText}` +
                        (response.status === 206 ? " with a range that does not continue the partial file" : "") +
                        ". Try again later; the download resumes where it stopped.",
                    options.url
                );
            if (response.body === null) throw new ModelDownloadFailedError(`${options.url} sent no data. Try again later.`, options.url);
            let downloaded = offset;
            options.onProgress?.(downloaded, options.totalBytes);
            const counter = new Transform({
                transform(chunk: Buffer, _encoding, callback) {
                    downloaded += chunk.length;
                    options.onProgress?.(downloaded, options.totalBytes);
                    callback(null, chunk);
                }
            });
            await pipeline(
                Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>),
                counter,
                fs.createWriteStream(partial, {flags: offset > 0 ? "a" : "w"}),
                {
                    signal: options.signal
                }
            );
        }
        const size = fileSize(partial);
        if (options.totalBytes !== undefined && size !== options.totalBytes)
            throw new ModelDownloadFailedError(
                `The download of ${options.url} ended at ${size} of ${options.totalBytes} bytes. Run it again; it resumes where it stopped.`,
                options.url
            );
        fs.renameSync(partial, options.filePath);
        return options.filePath;
    } catch (error) {
        if (options.signal?.aborted) throw new OperationCancelledError("Download paused");
        if (error instanceof ModelDownloadFailedError) throw error;
        throw new ModelDownloadFailedError(
            `Downloading ${options.url} failed: ${(error as Error).message}. Check the network connection and run the download again; it resumes where it stopped.`,
            options.url
        );
    }
}

async function request(url: string, init: RequestInit): Promise<Response> {
    try {
        return await fetch(url, {...init, redirect: "follow"});
    } catch (error) {
        if (init.signal?.aborted) throw new OperationCancelledError("Download cancelled");
        const cause = (error as Error & {cause?: Error}).cause?.message;
        throw new ModelDownloadFailedError(
            `Could not reach ${new URL(url).host} (${cause ?? (error as Error).message}). Check the network connection and try again.`,
            url
        );
    }
}

/** "bytes 100-199/200" → 100 */
function rangeStart(contentRange: string | null): number | undefined {
    const match = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(contentRange?.trim() ?? "");
    return match === null ? undefined : Number(match[1]);
}

function fileSize(file: string): number {
    try {
        return fs.statSync(file).size;
    } catch {
        return 0;
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
