// Installs node-llama-cpp's prebuilt CUDA ggml backend from the npm registry, and only when the user asks
// for it (Layer Dial: Enable CUDA, `layer-dial gpu install cuda`): 159 MB the extension does not ship.
// The download is checked against the registry's integrity before anything is unpacked, only the
// backend's own files are taken from the package, and the finished folder replaces any previous one by
// rename: a failed or cancelled install leaves the previous install (or nothing), never half a folder.
import {createHash, randomBytes} from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {pipeline} from "node:stream/promises";
import zlib from "node:zlib";
import {readBackendManifest, writeBackendManifest, type BackendManifest, type InstalledPackage} from "./backend-manifest.js";
import {readTar, TarFormatError} from "./tar-reader.js";
import {isRegistryAddress} from "./registry-address.js";

export type GpuBackendInstallErrorCode =
    "unsupported-platform" | "offline" | "registry" | "integrity" | "interrupted" | "cancelled" | "bad-package" | "filesystem";

/** every message names the backend and says what to do next; `code` lets a UI tell a cancel from a failure */
export class GpuBackendInstallError extends Error {
    override name = "GpuBackendInstallError";

    constructor(
        message: string,
        readonly code: GpuBackendInstallErrorCode,
        options?: {cause?: unknown}
    ) {
        super(message, options);
    }
}

export type GpuBackendInstallProgress = {
    /** `keep`: a package the folder already holds, at the same integrity, is copied from it (see `keepInstalledPackages`) */
    phase: "metadata" | "download" | "verify" | "unpack" | "keep";
    /** download: bytes received; unpack: compressed bytes read; verify: the tarball's size; keep: bytes copied */
    receivedBytes: number;
    /** absent when the registry sends no Content-Length */
    totalBytes?: number;
    /** the npm package this step is about */
    package: string;
};

export type InstallGpuBackendOptions = {
    backend: "cuda";

    /** the folder backends are installed under; this one goes into `<targetRoot>/<gpuBackendFolderName(...)>/` */
    targetRoot: string;

    /**
     * The npm registry (or a mirror of it) to download from.
     *
     * Defaults to `https://registry.npmjs.org`.
     */
    registryUrl?: string;

    /**
     * The version of the backend package. node-llama-cpp publishes its backends at its own version, and a
     * backend only loads beside the ggml of the same release. The caller names it (the extension reads
     * its bundled node-llama-cpp's package.json, the CLI the one it runs with), so this module needs no
     * way to find a checkout.
     */
    version: string;

    /**
     * Also install the CUDA 12 build of the backend from `@node-llama-cpp/linux-x64-cuda-ext`, into `fallback/`,
     * for drivers too old for the main build.
     *
     * Defaults to `false`.
     */
    includeFallback?: boolean;

    /**
     * Copy a package from the install this one replaces instead of downloading it again, when that install
     * took it from the registry at the same version and with the integrity the registry gives now, and its
     * files are all there. Adding the CUDA 12 build to an install then downloads 177 MB, not 177 + 145 MB.
     * The registry is still asked for each package's integrity, so a changed package is downloaded.
     *
     * Defaults to `false`: a reinstall downloads everything, in case an installed file was damaged.
     */
    keepInstalledPackages?: boolean;

    /** aborting rejects with a `cancelled` error, and leaves any previous install as it was */
    signal?: AbortSignal;

    onProgress?: (progress: GpuBackendInstallProgress) => void;

    /**
     * The platform to install for; only `linux` has the package.
     *
     * Defaults to `process.platform`.
     */
    platform?: NodeJS.Platform;

    /**
     * The CPU architecture to install for; only `x64` has the package.
     *
     * Defaults to `process.arch`.
     */
    arch?: string;
};

export type InstallGpuBackendResult = {
    directory: string;
    manifest: BackendManifest;
    /** the tarballs' sizes together */
    downloadedBytes: number;
    /** the packages copied from the previous install instead of downloaded (see `keepInstalledPackages`) */
    keptPackages: string[];
};

export const DEFAULT_REGISTRY_URL = "https://registry.npmjs.org";

/** what the user runs to try again; every message ends with it */
const retryHint = "run Layer Dial: Enable CUDA again";
const backendTitle = "CUDA";

/** without a network a request can wait for minutes before failing */
const metadataTimeoutMs = 30_000;
const downloadStallTimeoutMs = 60_000;

/** tar entry name → path inside the install folder: only these are unpacked, the rest of the package
 *  (CPU variants, libllama, the addon) comes from our own build */
type BackendPackage = {name: string; files: Record<string, string>};

const cudaPackage: BackendPackage = {
    name: "@node-llama-cpp/linux-x64-cuda",
    files: {
        "package/bins/linux-x64-cuda/libggml-cuda.so": "libggml-cuda.so",
        "package/bins/linux-x64-cuda/_nlcBuildMetadata.json": "_nlcBuildMetadata.json"
    }
};
const cudaFallbackPackage: BackendPackage = {
    name: "@node-llama-cpp/linux-x64-cuda-ext",
    files: {
        "package/bins/linux-x64-cuda/fallback/libggml-cuda.so": "fallback/libggml-cuda.so"
    }
};
const buildMetadataFile = "_nlcBuildMetadata.json";

export function gpuBackendFolderName(backend: "cuda", version: string, platform: string = process.platform, arch: string = process.arch): string {
    return `${backend}-${version}-${platform}-${arch}`;
}

export async function installGpuBackend(options: InstallGpuBackendOptions): Promise<InstallGpuBackendResult> {
    const platform = options.platform ?? process.platform;
    const arch = options.arch ?? process.arch;
    if (options.backend !== "cuda")
        throw new GpuBackendInstallError(`Layer Dial can only install the CUDA backend, not "${String(options.backend)}".`, "unsupported-platform");
    if (platform !== "linux" || arch !== "x64")
        throw new GpuBackendInstallError(
            `node-llama-cpp publishes its prebuilt ${backendTitle} backend for Linux x64 only, not for ${platform}-${arch}. ` +
                (platform === "darwin"
                    ? "On a Mac, choose Metal with the layerDial.gpu setting instead."
                    : "Choose another backend with the layerDial.gpu setting, or build the native addon with CUDA from source (npm run build:native -- --gpu cuda)."),
            "unsupported-platform"
        );

    const version = options.version;
    // it becomes part of a folder name and a URL
    if (!/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version))
        throw new GpuBackendInstallError(`"${version}" is not a version the ${backendTitle} backend package can have (expected e.g. 3.22.1).`, "registry");
    const registry = (options.registryUrl ?? DEFAULT_REGISTRY_URL).replace(/\/+$/, "");
    if (!isRegistryAddress(registry))
        throw new GpuBackendInstallError(
            `The npm registry address "${registry}" is not an http(s) URL; give one like ${DEFAULT_REGISTRY_URL}, then ${retryHint}.`,
            "registry"
        );
    if (options.signal?.aborted) throw cancelledError();

    const targetRoot = path.resolve(options.targetRoot);
    const finalDirectory = path.join(targetRoot, gpuBackendFolderName("cuda", version, platform, arch));
    const partial = path.join(targetRoot, `.partial-${process.pid}-${randomBytes(6).toString("hex")}`);
    const staging = path.join(partial, "backend");
    try {
        fs.mkdirSync(staging, {recursive: true});
        removeAbandonedPartials(targetRoot);

        const context: StepContext = {version, signal: options.signal, onProgress: options.onProgress};
        const packages = [cudaPackage, ...(options.includeFallback ? [cudaFallbackPackage] : [])];
        const previous = options.keepInstalledPackages ? readBackendManifest(finalDirectory) : undefined;
        let downloadedBytes = 0;
        const keptPackages: string[] = [];
        const sources: InstalledPackage[] = [];
        for (const [index, backendPackage] of packages.entries()) {
            const dist = await fetchPackageDist(registry, backendPackage.name, context);
            sources.push({name: backendPackage.name, integrity: dist.integrity, files: Object.values(backendPackage.files)});
            if (previous != null && holdsPackage(finalDirectory, previous, backendPackage, dist.integrity, version)) {
                copyInstalledPackage(finalDirectory, backendPackage, staging, context);
                keptPackages.push(backendPackage.name);
                continue;
            }
            const archive = path.join(partial, `package-${index}.tgz`);
            downloadedBytes += await downloadVerified(dist, archive, backendPackage.name, context);
            await unpackPackage(archive, backendPackage, staging, context);
            fs.rmSync(archive); // over 100 MB less on disk before the next download
        }

        const manifest: BackendManifest = {
            backend: "cuda",
            package: cudaPackage.name,
            version,
            llamaCppRelease: readLlamaCppRelease(staging, version),
            files: packages.flatMap((backendPackage) => Object.values(backendPackage.files)),
            integrity: sources[0]!.integrity, // the main package's; the manifest names that package
            packages: sources,
            installedAt: new Date().toISOString()
        };
        // a cancel that came during the last step still counts: nothing has replaced the previous install yet
        options.signal?.throwIfAborted();
        // written last: a folder with a manifest is complete
        writeBackendManifest(staging, manifest);
        replaceDirectory(staging, finalDirectory, path.join(partial, "previous"));
        return {directory: finalDirectory, manifest, downloadedBytes, keptPackages};
    } catch (error) {
        if (options.signal?.aborted) throw cancelledError(error);
        if (error instanceof GpuBackendInstallError) throw error;
        throw new GpuBackendInstallError(
            `Could not install the ${backendTitle} backend in ${targetRoot} (${(error as Error).message}). ` +
                `Check that the folder is writable and its disk has room (about 400 MB, 1 GB with the CUDA 12 fallback), then ${retryHint}.`,
            "filesystem",
            {cause: error}
        );
    } finally {
        removeQuietly(partial);
    }
}

type StepContext = {
    version: string;
    signal?: AbortSignal;
    onProgress?: (progress: GpuBackendInstallProgress) => void;
};

type PackageDist = {tarball: string; integrity: string};

function cancelledError(cause?: unknown): GpuBackendInstallError {
    return new GpuBackendInstallError(
        `The ${backendTitle} backend install was cancelled; nothing was installed and any previous install is unchanged.`,
        "cancelled",
        {cause}
    );
}

/** the npm registry's per-version document: `dist.tarball` and `dist.integrity` are all we need */
async function fetchPackageDist(registry: string, name: string, context: StepContext): Promise<PackageDist> {
    context.onProgress?.({phase: "metadata", receivedBytes: 0, package: name});
    // npm's own spelling of a scoped name in a URL: the @ kept, the slash escaped
    const url = `${registry}/${name.replace("/", "%2f")}/${context.version}`;
    const watchdog = new Watchdog(context.signal, metadataTimeoutMs);
    let text: string;
    let status: number;
    try {
        const response = await fetch(url, {headers: {accept: "application/json"}, signal: watchdog.signal});
        status = response.status;
        text = await response.text();
    } catch (error) {
        if (context.signal?.aborted) throw error;
        throw new GpuBackendInstallError(
            `Could not reach the npm registry at ${registry} (${watchdog.expired ? `no answer within ${metadataTimeoutMs / 1000} s` : describeCause(error)}). ` +
                `Check the connection or proxy, then ${retryHint}.`,
            "offline",
            {cause: error}
        );
    } finally {
        watchdog.dispose();
    }

    if (status === 404)
        throw new GpuBackendInstallError(
            `The npm registry at ${registry} has no ${name}@${context.version}, the ${backendTitle} backend for this node-llama-cpp. ` +
                `If it is a mirror, let it fetch that package from registry.npmjs.org, then ${retryHint}.`,
            "registry"
        );
    if (status < 200 || status >= 300)
        throw new GpuBackendInstallError(
            `The npm registry at ${registry} answered HTTP ${status} for ${name}@${context.version} (the ${backendTitle} backend). ` +
                `Try again later: ${retryHint}.`,
            "registry"
        );

    let dist: Partial<PackageDist> | undefined;
    try {
        dist = (JSON.parse(text) as {dist?: Partial<PackageDist>}).dist;
    } catch {
        // reported below
    }
    if (typeof dist?.tarball !== "string" || !/^https?:\/\//.test(dist.tarball) || typeof dist.integrity !== "string")
        throw new GpuBackendInstallError(
            `The npm registry at ${registry} sent no tarball address or integrity for ${name}@${context.version} (the ${backendTitle} backend), ` +
                `so nothing was downloaded. Check the registry address, then ${retryHint}.`,
            "registry"
        );
    return {tarball: dist.tarball, integrity: dist.integrity};
}

/** streams the tarball to `file` while hashing it; resolves with its size once it matches the registry's integrity */
async function downloadVerified(dist: PackageDist, file: string, name: string, context: StepContext): Promise<number> {
    const expected = strongestHash(dist.integrity);
    if (expected == null)
        throw new GpuBackendInstallError(
            `The npm registry gave no sha512, sha384 or sha256 integrity for ${name}@${context.version} (the ${backendTitle} backend), ` +
                `only "${dist.integrity}", so the download could not be checked and nothing was installed. ${capitalised(retryHint)} with another registry.`,
            "registry"
        );

    const hash = createHash(expected.algorithm);
    const watchdog = new Watchdog(context.signal, downloadStallTimeoutMs);
    const handle = await fs.promises.open(file, "wx");
    let receivedBytes = 0;
    let totalBytes: number | undefined;
    const brokeOff = (cause: string, error?: unknown) =>
        new GpuBackendInstallError(
            `The download of the ${backendTitle} backend (${name}@${context.version}) broke off after ${megabytes(receivedBytes)}` +
                `${totalBytes != null ? ` of ${megabytes(totalBytes)}` : ""} (${cause}). Nothing was installed; check the connection, then ${retryHint}.`,
            "interrupted",
            {cause: error}
        );
    try {
        let response: Response;
        try {
            response = await fetch(dist.tarball, {signal: watchdog.signal});
        } catch (error) {
            if (context.signal?.aborted) throw error;
            throw new GpuBackendInstallError(
                `Could not download the ${backendTitle} backend from ${dist.tarball} ` +
                    `(${watchdog.expired ? `no answer within ${downloadStallTimeoutMs / 1000} s` : describeCause(error)}). ` +
                    `Check the connection or proxy, then ${retryHint}.`,
                "offline",
                {cause: error}
            );
        }
        if (!response.ok || response.body == null) {
            await response.body?.cancel();
            throw new GpuBackendInstallError(
                `The npm registry answered HTTP ${response.status} for the ${backendTitle} backend's tarball ${dist.tarball}. ` +
                    `Try again later: ${retryHint}.`,
                "registry"
            );
        }
        const length = Number(response.headers.get("content-length") ?? Number.NaN);
        totalBytes = Number.isSafeInteger(length) && length >= 0 ? length : undefined;

        const reader = response.body.getReader();
        try {
            for (;;) {
                let chunk: ReadableStreamReadResult<Uint8Array>;
                try {
                    chunk = await reader.read();
                } catch (error) {
                    if (context.signal?.aborted) throw error;
                    throw brokeOff(watchdog.expired ? `no data for ${downloadStallTimeoutMs / 1000} s` : describeCause(error), error);
                }
                if (chunk.done) break;
                watchdog.touch();
                hash.update(chunk.value);
                await writeAll(handle, chunk.value);
                receivedBytes += chunk.value.length;
                context.onProgress?.({phase: "download", receivedBytes, totalBytes, package: name});
                context.signal?.throwIfAborted();
            }
        } finally {
            // closes the connection when we stop early (abort, a full disk); a no-op after the end
            await reader.cancel().catch(() => undefined);
        }
        if (totalBytes != null && receivedBytes !== totalBytes) throw brokeOff("the connection closed early");
    } finally {
        watchdog.dispose();
        await handle.close();
    }

    context.onProgress?.({phase: "verify", receivedBytes, totalBytes: receivedBytes, package: name});
    const actual = hash.digest("base64");
    if (actual !== expected.digest)
        throw new GpuBackendInstallError(
            `The ${backendTitle} backend download (${name}@${context.version}) did not match the registry's integrity ` +
                `(${expected.algorithm} ${expected.digest.slice(0, 16)}…, got ${actual.slice(0, 16)}…), so nothing was installed. ` +
                `${capitalised(retryHint)}; if it keeps failing, a proxy or the registry is serving a different file.`,
            "integrity"
        );
    return receivedBytes;
}

/** the strongest hash of an SRI string (`sha512-<base64> sha1-…`) that is worth checking */
function strongestHash(integrity: string): {algorithm: string; digest: string} | undefined {
    const hashes = new Map<string, string>();
    for (const item of integrity.trim().split(/\s+/)) {
        const match = /^(sha512|sha384|sha256)-([A-Za-z0-9+/]+={0,2})(?:\?.*)?$/.exec(item);
        if (match != null) hashes.set(match[1], match[2]);
    }
    for (const algorithm of ["sha512", "sha384", "sha256"]) if (hashes.has(algorithm)) return {algorithm, digest: hashes.get(algorithm)!};
    return undefined;
}

/** gunzips and untars `archive`, writing only the package's wanted entries into `staging` */
async function unpackPackage(archive: string, backendPackage: BackendPackage, staging: string, context: StepContext): Promise<void> {
    const totalBytes = fs.statSync(archive).size;
    let receivedBytes = 0;
    const found = new Set<string>();
    const refuse = (problem: string) =>
        new GpuBackendInstallError(
            `The ${backendTitle} backend package ${backendPackage.name}@${context.version} ${problem}; ` +
                `nothing was installed. It passed the registry's integrity check, so the registry itself serves it: ${retryHint} with another registry.`,
            "bad-package"
        );

    context.onProgress?.({phase: "unpack", receivedBytes, totalBytes, package: backendPackage.name});
    try {
        await pipeline(
            fs.createReadStream(archive),
            async function* (chunks: AsyncIterable<Buffer>) {
                for await (const chunk of chunks) {
                    receivedBytes += chunk.length;
                    context.onProgress?.({phase: "unpack", receivedBytes, totalBytes, package: backendPackage.name});
                    context.signal?.throwIfAborted();
                    yield chunk;
                }
            },
            zlib.createGunzip(),
            async (tar: AsyncIterable<Buffer>) => {
                await readTar(tar, async (entry, content) => {
                    if (!isSafeEntryName(entry.name)) throw refuse(`holds an entry outside its folder ("${entry.name}")`);
                    const relative = backendPackage.files[entry.name];
                    if (relative == null) return content.skip();
                    if (entry.type !== "0" && entry.type !== "\0" && entry.type !== "7")
                        throw refuse(`has ${entry.name} as something other than a plain file (tar type "${entry.type}")`);
                    const destination = path.join(staging, relative);
                    fs.mkdirSync(path.dirname(destination), {recursive: true});
                    const output = await fs.promises.open(destination, "w");
                    try {
                        await content.forEach((piece) => writeAll(output, piece));
                    } finally {
                        await output.close();
                    }
                    found.add(entry.name);
                });
            }
        );
    } catch (error) {
        if (error instanceof GpuBackendInstallError || context.signal?.aborted) throw error;
        if (error instanceof TarFormatError || (error as NodeJS.ErrnoException).code?.startsWith("Z_"))
            throw refuse(`could not be unpacked (${(error as Error).message})`);
        throw error;
    }
    const missing = Object.keys(backendPackage.files).filter((name) => !found.has(name));
    if (missing.length > 0)
        throw refuse(`has no ${missing.map((name) => name.replace(/^package\//, "")).join(" or ")}, so it is not the package Layer Dial expects`);
}

/**
 * Whether the install in `directory` took `backendPackage` from the registry at `version` with `integrity`
 * (an install from before the manifest listed its packages names its main package only) and still has
 * every file the package gives.
 */
function holdsPackage(directory: string, manifest: BackendManifest, backendPackage: BackendPackage, integrity: string, version: string): boolean {
    if (manifest.version !== version) return false;
    const recorded =
        manifest.packages?.find((installed) => installed.name === backendPackage.name)?.integrity ??
        (manifest.package === backendPackage.name ? manifest.integrity : undefined);
    if (recorded !== integrity) return false;
    return Object.values(backendPackage.files).every((file) => {
        try {
            return fs.statSync(path.join(directory, file)).isFile();
        } catch {
            return false;
        }
    });
}

/** copies the package's files from the install being replaced into `staging` (which then replaces it) */
function copyInstalledPackage(directory: string, backendPackage: BackendPackage, staging: string, context: StepContext): void {
    let receivedBytes = 0;
    for (const file of Object.values(backendPackage.files)) {
        context.signal?.throwIfAborted();
        const destination = path.join(staging, file);
        fs.mkdirSync(path.dirname(destination), {recursive: true});
        fs.copyFileSync(path.join(directory, file), destination);
        receivedBytes += fs.statSync(destination).size;
        context.onProgress?.({phase: "keep", receivedBytes, package: backendPackage.name});
    }
}

/** the llama.cpp release in the package's build metadata; the loader matches it against our own build */
function readLlamaCppRelease(staging: string, version: string): string {
    let metadata: {buildOptions?: {gpu?: unknown; llamaCpp?: {release?: unknown}}} | undefined;
    try {
        metadata = JSON.parse(fs.readFileSync(path.join(staging, buildMetadataFile), "utf8")) as typeof metadata;
    } catch {
        // reported below
    }
    const release = metadata?.buildOptions?.llamaCpp?.release;
    const gpu = metadata?.buildOptions?.gpu;
    if (typeof release !== "string" || release.length === 0 || (gpu !== undefined && gpu !== "cuda"))
        throw new GpuBackendInstallError(
            `The ${backendTitle} backend package ${cudaPackage.name}@${version} has no usable ${buildMetadataFile} ` +
                `(a llama.cpp release for a cuda build), so Layer Dial cannot tell which build it matches; nothing was installed. ` +
                `${capitalised(retryHint)} with another registry.`,
            "bad-package"
        );
    return release;
}

/** renames `staging` to `destination`, setting any previous install aside at `previous` (which the caller
 *  removes) and restoring it if the new one cannot be moved in */
function replaceDirectory(staging: string, destination: string, previous: string): void {
    let setAside = false;
    try {
        fs.renameSync(destination, previous);
        setAside = true;
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    try {
        fs.renameSync(staging, destination);
    } catch (error) {
        if (setAside) fs.renameSync(previous, destination);
        throw error;
    }
}

/** an install that crashed leaves its `.partial-<pid>-*` folder behind (up to 160 MB); remove those whose
 *  process is gone. Another process of ours, or this one, may be installing into its own. */
function removeAbandonedPartials(root: string): void {
    for (const name of fs.readdirSync(root)) {
        const pid = Number(/^\.partial-(\d+)-/.exec(name)?.[1]);
        if (!Number.isSafeInteger(pid) || pid === process.pid || isProcessAlive(pid)) continue;
        removeQuietly(path.join(root, name));
    }
}

/** clean-up must not hide the install's own outcome; what it leaves, the next install's removeAbandonedPartials takes */
function removeQuietly(target: string): void {
    try {
        fs.rmSync(target, {recursive: true, force: true});
    } catch {
        // left for later
    }
}

function isProcessAlive(pid: number): boolean {
    try {
        process.kill(pid, 0); // signal 0 only asks whether the process exists
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** tar names are `/`-separated and relative; anything absolute or with a `..` part could escape the folder */
function isSafeEntryName(name: string): boolean {
    if (name.length === 0 || name.includes("\0") || /^([/\\]|[A-Za-z]:)/.test(name)) return false;
    return !name.split(/[/\\]/).includes("..");
}

/** an abort signal that also fires when `touch()` has not been called for `timeoutMs`, so a dead
 *  connection fails instead of hanging */
class Watchdog {
    private readonly controller = new AbortController();
    private timer: NodeJS.Timeout | undefined;
    private readonly onAbort = () => this.controller.abort(this.parent?.reason);
    expired = false;

    constructor(
        private readonly parent: AbortSignal | undefined,
        private readonly timeoutMs: number
    ) {
        parent?.addEventListener("abort", this.onAbort, {once: true});
        this.touch();
    }

    get signal(): AbortSignal {
        return this.controller.signal;
    }

    touch(): void {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => {
            this.expired = true;
            this.controller.abort(new Error(`no data for ${this.timeoutMs / 1000} s`));
        }, this.timeoutMs);
        this.timer.unref();
    }

    dispose(): void {
        clearTimeout(this.timer);
        this.parent?.removeEventListener("abort", this.onAbort);
    }
}

/** fetch's "fetch failed" hides the reason (ECONNREFUSED, ENOTFOUND, a certificate) in `cause` */
function describeCause(error: unknown): string {
    const cause = (error as {cause?: {message?: string; code?: string}} | undefined)?.cause;
    if (cause?.message) return cause.message;
    if (cause?.code) return cause.code;
    return (error as Error)?.message ?? String(error);
}

/** one write(2) may take only part of a buffer */
async function writeAll(handle: fs.promises.FileHandle, bytes: Uint8Array): Promise<void> {
    for (let offset = 0; offset < bytes.length;) offset += (await handle.write(bytes, offset)).bytesWritten;
}

function megabytes(bytes: number): string {
    return `${(bytes / 1e6).toFixed(1)} MB`;
}

function capitalised(text: string): string {
    return text.charAt(0).toUpperCase() + text.slice(1);
}
