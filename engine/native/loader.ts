// Loads Layer Dial's patched llama.cpp build, proves it is the patched one and that its pieces belong
// together, and chooses the compute backend. A stock node-llama-cpp binary cannot skip layers, so it is
// never a silent fallback; a GPU backend that cannot run is, with the reason said once.
//
// A build folder (`npm run build:native`'s cache entry, or dist/native in the VSIX) holds:
//   layer-dial-build.json   what was built from what (BuildInfo)
//   bins/                   our llama-addon.node and libllama, node-llama-cpp's ggml base and CPU variants
//   backends/vulkan/        node-llama-cpp's prebuilt Vulkan backend (prebuilt-backend builds)
// CUDA is not in it: `layer-dial gpu install cuda` (Layer Dial: Enable CUDA) puts it in a backends folder.
import fs from "node:fs";
import path from "node:path";
import {LlamaLogLevel, type Llama} from "node-llama-cpp";
import {
    buildDirectory,
    buildInfoFileName,
    computeBuildKey,
    defaultBuildOptions,
    readBuildInfo,
    type BuildInfo,
    type NativeBuildOptions
} from "./build-record.js";
import {layerDialCacheDir} from "../../common/cache-dir.js";
import {readBackendManifest} from "../../common/gpu-backends/backend-manifest.js";
import type {CudaInstallCheck} from "../../common/engine-protocol.js";
import {GPU_PROBE_MODEL_FILE, probeGpuBackend, type GpuProbeResult} from "./gpu-probe.js";
import {
    bindingOf,
    createLlamaFromBinding,
    layerSkipBindingFunctions,
    layerSkipMethods,
    loadBindingModule,
    type BuildMetadata,
    type NativeBinding
} from "./internals.js";

export class PatchedBuildMissingError extends Error {
    override name = "PatchedBuildMissingError";
}

export class PatchedBuildInvalidError extends Error {
    override name = "PatchedBuildInvalidError";
}

/** an explicitly chosen GPU backend cannot run here (with `fallbackToCpu: false`) */
export class GpuBackendUnavailableError extends Error {
    override name = "GpuBackendUnavailableError";
}

export const gpuChoices = ["auto", "cpu", "vulkan", "cuda", "metal"] as const;
export type GpuChoice = (typeof gpuChoices)[number];
export type GpuBackendName = "vulkan" | "cuda" | "metal";

export function isGpuChoice(value: unknown): value is GpuChoice {
    return gpuChoices.includes(value as GpuChoice);
}

export type LoadPatchedLlamaOptions = {
    /** A build folder (layer-dial-build.json, bins/, backends/), or a bare folder holding llama-addon.node
     *  and its libraries. Defaults to `$LAYER_DIAL_NATIVE_DIR`, else the cached build for this checkout. */
    nativeDirectory?: string;
    /** Which cached build to look for when no folder is given. Defaults to `npm run build:native`'s defaults. */
    build?: Partial<NativeBuildOptions>;
    /** The compute backend. `auto` takes the first that has a device: CUDA (when installed), Vulkan, Metal;
     *  else the CPU. Defaults to `$LAYER_DIAL_GPU`, else `auto`. */
    gpu?: GpuChoice;
    /** Folders holding installed GPU backends (`layer-dial gpu install cuda`). Defaults to
     *  `$LAYER_DIAL_BACKENDS_DIR`, else ~/.cache/layer-dial/backends. */
    installedBackendsDirectory?: string;
    /** When an explicitly chosen backend cannot run: true runs on the CPU and says why in
     *  `backend.fallbackReason`; false throws GpuBackendUnavailableError. Defaults to true. */
    fallbackToCpu?: boolean;
    /** Check a CUDA backend in a process of its own (gpu-probe.ts) before loading it here, so one that aborts
     *  at its first kernel is skipped with the reason instead of taking this process down. Needs the build's
     *  probe model (npm run build:native writes it); without one nothing is checked. Defaults to true. */
    probeGpu?: boolean;
    /** Told when a GPU check starts ("checking the CUDA backend…"), for a progress line. */
    onProgress?: (message: string) => void;
    /** Only this backend folder is tried (the GPU check's own process). */
    onlyBackendDirectory?: string;
    /** Defaults to `LlamaLogLevel.error`. */
    logLevel?: LlamaLogLevel;
    /** Defaults to every core. */
    maxThreads?: number;
};

export type ComputeBackend = {
    requested: GpuChoice;
    /** what runs: a GPU backend, or false for the CPU */
    gpu: GpuBackendName | false;
    /** the GPU devices of that backend (ggml's descriptions, e.g. "NVIDIA H200", "llvmpipe (LLVM 15.0.6, 256 bits)") */
    deviceNames: string[];
    /** where the backend library was loaded from */
    backendDirectory?: string;
    /** why the request was not met, why `auto` chose the CPU, or why it passed over a backend that was
     *  there (an enabled CUDA that cannot run); one line for the log */
    fallbackReason?: string;
};

export type PatchedLlama = {
    llama: Llama;
    binsDirectory: string;
    /** present when the folder carries layer-dial-build.json */
    buildInfo?: BuildInfo;
    backend: ComputeBackend;
    /** the general.architecture names this build can skip layers of: its libllama's own list */
    layerSkipArchitectures: ReadonlySet<string>;
};

type ResolvedBuild = {root?: string; binsDirectory: string; buildInfo?: BuildInfo};

function resolveBuild(options: LoadPatchedLlamaOptions): ResolvedBuild {
    const explicit = options.nativeDirectory ?? process.env.LAYER_DIAL_NATIVE_DIR;
    if (explicit != null && explicit !== "") {
        const folder = path.resolve(explicit);
        if (fs.existsSync(path.join(folder, buildInfoFileName)))
            return {root: folder, binsDirectory: path.join(folder, "bins"), buildInfo: readBuildInfo(folder)};
        return {binsDirectory: folder};
    }
    const key = computeBuildKey({...defaultBuildOptions(), ...options.build});
    const directory = buildDirectory(key);
    const buildInfo = readBuildInfo(directory);
    if (buildInfo == null)
        throw new PatchedBuildMissingError(
            `No patched llama.cpp build for this checkout (${key.backends} backends, patches ${key.patchHash.slice(0, 12)}). ` +
                `Run "npm run build:native" (a few minutes the first time; instant when cached). Expected it at ${directory}`
        );
    return {root: directory, binsDirectory: path.join(directory, "bins"), buildInfo};
}

/** node-llama-cpp's record of the build (its llama.cpp release among it), beside the addon */
function buildMetadataPath(build: ResolvedBuild): string {
    return path.join(build.binsDirectory, "_nlcBuildMetadata.json");
}

function readBuildMetadata(build: ResolvedBuild): BuildMetadata {
    return JSON.parse(fs.readFileSync(buildMetadataPath(build), "utf8")) as BuildMetadata;
}

function loadBinding(bindingPath: string): NativeBinding {
    try {
        return loadBindingModule(bindingPath);
    } catch (error) {
        const message = (error as Error).message;
        const symbol = /undefined symbol: (\S+)/.exec(message)?.[1];
        if (symbol != null)
            throw new PatchedBuildInvalidError(
                `The native libraries in ${path.dirname(bindingPath)} do not belong together: ${symbol} is missing from the ggml libraries beside ` +
                    `Layer Dial's libllama (they come from another llama.cpp release). Reinstall the extension, or run "npm run build:native -- --force".`
            );
        throw new PatchedBuildInvalidError(`Could not load ${bindingPath}: ${message}. Reinstall the extension, or run "npm run build:native -- --force".`);
    }
}

/** the pieces of a prebuilt-backend build must come from one release: ours, and each package's */
function checkBuildCoherence(build: ResolvedBuild, metadata: BuildMetadata) {
    const ourRelease = metadata.buildOptions.llamaCpp.release;
    const info = build.buildInfo;
    if (info == null) return;
    if (info.llamaCppRelease != null && info.llamaCppRelease !== ourRelease)
        throw new PatchedBuildInvalidError(
            `${build.binsDirectory} was compiled from llama.cpp ${ourRelease}, but its build record says ${info.llamaCppRelease}. Rebuild it: npm run build:native -- --force`
        );
    for (const [name, origin] of Object.entries(info.backendOrigins ?? {})) {
        if (origin.llamaCppRelease !== ourRelease || origin.version !== info.nodeLlamaCppVersion)
            throw new PatchedBuildInvalidError(
                `The ${name} ggml libraries come from ${origin.package}@${origin.version} (llama.cpp ${origin.llamaCppRelease}), ` +
                    `but Layer Dial's libllama is from node-llama-cpp ${info.nodeLlamaCppVersion} (llama.cpp ${ourRelease}). Rebuild: npm run build:native -- --force`
            );
    }
}

function gpuDeviceNames(binding: NativeBinding): string[] {
    return binding.getGpuDeviceInfo().deviceNames;
}

type Candidate = {backend: GpuBackendName; directory?: string; problem?: string};

/** installed CUDA backends that belong to this build's release, newest install first */
function cudaCandidates(installedRoot: string, release: string, nodeLlamaCppVersion: string | undefined): Candidate[] {
    if (!fs.existsSync(installedRoot)) return [];
    const candidates: Candidate[] = [];
    for (const name of fs
        .readdirSync(installedRoot)
        .filter((entry) => entry.startsWith("cuda-"))
        .sort()
        .reverse()) {
        const directory = path.join(installedRoot, name);
        const manifest = readBackendManifest(directory);
        if (manifest == null) continue;
        if (manifest.llamaCppRelease !== release || (nodeLlamaCppVersion != null && manifest.version !== nodeLlamaCppVersion)) {
            candidates.push({
                backend: "cuda",
                directory,
                problem:
                    `the CUDA backend in ${directory} is ${manifest.package}@${manifest.version} (llama.cpp ${manifest.llamaCppRelease}), ` +
                    `but Layer Dial needs ${nodeLlamaCppVersion ?? "the same version"} (llama.cpp ${release}); run Layer Dial: Enable CUDA (layer-dial gpu install cuda) again`
            });
            continue;
        }
        candidates.push({backend: "cuda", directory});
        if (fs.existsSync(path.join(directory, "fallback"))) candidates.push({backend: "cuda", directory: path.join(directory, "fallback")});
    }
    return candidates;
}

function candidatesFor(choice: GpuChoice, build: ResolvedBuild, installedRoot: string, release: string): Candidate[] {
    const vulkanDirectory = build.root != null ? path.join(build.root, "backends", "vulkan") : undefined;
    const vulkan: Candidate[] =
        vulkanDirectory != null && fs.existsSync(vulkanDirectory) ? [{backend: "vulkan", directory: vulkanDirectory}] : [{backend: "vulkan"}]; // a from-source build may have it compiled into bins/
    const cuda = cudaCandidates(installedRoot, release, build.buildInfo?.nodeLlamaCppVersion);
    const metal: Candidate[] = [{backend: "metal"}];
    switch (choice) {
        case "cpu":
            return [];
        case "vulkan":
            return vulkan;
        case "cuda":
            return cuda.length > 0 ? cuda : [{backend: "cuda", problem: "CUDA is not installed: run Layer Dial: Enable CUDA (layer-dial gpu install cuda)"}];
        case "metal":
            return metal;
        case "auto":
            return [...cuda.filter((candidate) => candidate.problem == null), ...vulkan, ...(process.platform === "darwin" ? metal : [])];
    }
}

const deviceHelp: Record<GpuBackendName, string> = {
    vulkan: "no Vulkan GPU device found (install your GPU's Vulkan driver, e.g. Mesa's mesa-vulkan-drivers or NVIDIA's driver)",
    cuda: "no CUDA device found (an NVIDIA driver and the CUDA 13 runtime, libcudart.so.13 and libcublas.so.13, must be installed)",
    metal: "no Metal device found (Metal needs a macOS build of Layer Dial)"
};

/** a CUDA candidate's check in a process of its own; undefined when this build cannot check (no probe model) */
async function checkCudaCandidate(
    build: ResolvedBuild,
    directory: string,
    installedRoot: string,
    onProgress: ((message: string) => void) | undefined
): Promise<GpuProbeResult | undefined> {
    if (build.root == null) return undefined;
    const modelPath = path.join(build.root, GPU_PROBE_MODEL_FILE);
    if (!fs.existsSync(modelPath)) return undefined;
    return await probeGpuBackend(
        {backend: "cuda", backendDirectory: directory, installedBackendsDirectory: installedRoot, nativeDirectory: build.root, modelPath},
        {onCheckStart: () => onProgress?.(`checking the CUDA backend in ${directory} in a separate process (once per install and driver)…`)}
    );
}

/** what a failed check means to the user; the loader's and Enable CUDA's words for it */
function cudaFailureText(directory: string, result: Extract<GpuProbeResult, {ok: false}>): string {
    if (result.noDevice)
        return isCuda12Build(directory)
            ? "no CUDA device found for the CUDA 12 build (an NVIDIA driver and the CUDA 12 runtime, libcudart.so.12 and libcublas.so.12, must be installed)"
            : deviceHelp.cuda;
    return (
        `the CUDA backend in ${directory} has a device but cannot run on it: ${result.reason}. ` +
        `Update the NVIDIA driver (node-llama-cpp's CUDA build needs one that supports its CUDA version on GPUs it carries no machine code for)` +
        (isCuda12Build(directory)
            ? ""
            : fs.existsSync(path.join(directory, "fallback"))
              ? `; its CUDA 12 build, installed beside it, is tried next`
              : `, or add its CUDA 12 build, which is tried next (Layer Dial: Enable CUDA offers it; layer-dial gpu install cuda --fallback, about 375 MB more)`) +
        `; Layer Dial checks again after a driver update or a new install`
    );
}

/** node-llama-cpp's CUDA 12 build sits in an install's fallback/ folder */
function isCuda12Build(directory: string): boolean {
    return path.basename(directory) === "fallback";
}

/** why a CUDA backend may not be loaded here, from its check in a process of its own; undefined when it ran */
async function cudaCheckProblem(
    build: ResolvedBuild,
    candidate: Candidate,
    installedRoot: string,
    onProgress: ((message: string) => void) | undefined
): Promise<string | undefined> {
    if (candidate.backend !== "cuda" || candidate.directory == null) return undefined;
    const result = await checkCudaCandidate(build, candidate.directory, installedRoot, onProgress);
    if (result === undefined || result.ok) return undefined;
    return `cuda: ${cudaFailureText(candidate.directory, result)}`;
}

/**
 * Checks every installed CUDA build (the package's, then its CUDA 12 build when installed) in a process of its
 * own, as the loader would before loading it, and loads none here: what Enable CUDA asks right after an install.
 */
export async function checkInstalledCudaBackends(
    options: Pick<LoadPatchedLlamaOptions, "nativeDirectory" | "build" | "installedBackendsDirectory" | "onProgress"> = {}
): Promise<CudaInstallCheck[]> {
    const build = resolveBuild(options);
    if (!fs.existsSync(buildMetadataPath(build)))
        throw new PatchedBuildMissingError(`${build.binsDirectory} has no build metadata. Run "npm run build:native".`);
    const release = readBuildMetadata(build).buildOptions.llamaCpp.release;
    const installedRoot = installedBackendsRoot(options);
    const checks: CudaInstallCheck[] = [];
    for (const candidate of cudaCandidates(installedRoot, release, build.buildInfo?.nodeLlamaCppVersion)) {
        const directory = candidate.directory!;
        const buildName = isCuda12Build(directory) ? "cuda-12" : "cuda";
        if (candidate.problem != null) {
            checks.push({directory, build: buildName, ok: false, noDevice: false, deviceNames: [], reason: candidate.problem, seconds: 0});
            continue;
        }
        const result = await checkCudaCandidate(build, directory, installedRoot, options.onProgress);
        if (result === undefined)
            throw new PatchedBuildInvalidError(
                `${build.root ?? build.binsDirectory} has no GPU check model (${GPU_PROBE_MODEL_FILE}), so CUDA cannot be checked. ` +
                    `Run "npm run build:native" (or reinstall the Layer Dial extension).`
            );
        checks.push(
            result.ok
                ? {directory, build: buildName, ok: true, noDevice: false, deviceNames: result.deviceNames, seconds: result.seconds}
                : {
                      directory,
                      build: buildName,
                      ok: false,
                      noDevice: result.noDevice,
                      deviceNames: [],
                      reason: cudaFailureText(directory, result),
                      seconds: result.seconds
                  }
        );
    }
    return checks;
}

function installedBackendsRoot(options: Pick<LoadPatchedLlamaOptions, "installedBackendsDirectory">): string {
    return options.installedBackendsDirectory ?? process.env.LAYER_DIAL_BACKENDS_DIR ?? layerDialCacheDir("backends");
}

/** loads the CPU backend, then GPU backends in the order the choice allows until one yields a device */
async function chooseBackend(
    binding: NativeBinding,
    build: ResolvedBuild,
    choice: GpuChoice,
    installedRoot: string,
    release: string,
    options: Pick<LoadPatchedLlamaOptions, "probeGpu" | "onlyBackendDirectory" | "onProgress">
): Promise<ComputeBackend> {
    binding.loadBackends();
    binding.loadBackends(build.binsDirectory);
    const problems: string[] = [];
    const candidates = candidatesFor(choice, build, installedRoot, release).filter(
        (candidate) =>
            options.onlyBackendDirectory == null ||
            (candidate.directory != null && path.resolve(candidate.directory) === path.resolve(options.onlyBackendDirectory))
    );
    for (const candidate of candidates) {
        if (candidate.problem != null) {
            problems.push(candidate.problem);
            continue;
        }
        // checked before it is loaded here: a loaded backend stays in ggml's registry for good
        const checkProblem = options.probeGpu === false ? undefined : await cudaCheckProblem(build, candidate, installedRoot, options.onProgress);
        if (checkProblem !== undefined) {
            problems.push(checkProblem);
            continue;
        }
        const before = new Set(gpuDeviceNames(binding));
        if (candidate.directory != null) binding.loadBackends(candidate.directory);
        const type = binding.getGpuType();
        const added = gpuDeviceNames(binding).filter((name) => !before.has(name));
        const devices = candidate.directory != null ? added : gpuDeviceNames(binding);
        if (devices.length > 0 && (type === candidate.backend || candidate.directory != null))
            return {
                requested: choice,
                gpu: candidate.backend,
                deviceNames: devices,
                backendDirectory: candidate.directory ?? build.binsDirectory,
                // a backend tried before this one did not run (an enabled CUDA that cannot): say why
                ...(problems.length > 0 ? {fallbackReason: `running on ${candidate.backend}: ${problems.join("; ")}`} : {})
            };
        problems.push(`${candidate.backend}: ${deviceHelp[candidate.backend]}`);
    }
    const fallbackReason =
        choice === "cpu" ? undefined : problems.length > 0 ? `running on the CPU: ${problems.join("; ")}` : "running on the CPU: this build has no GPU backend";
    return {requested: choice, gpu: false, deviceNames: [], fallbackReason};
}

export async function loadPatchedLlama(options: LoadPatchedLlamaOptions = {}): Promise<PatchedLlama> {
    const build = resolveBuild(options);
    const bindingPath = path.join(build.binsDirectory, "llama-addon.node");
    if (!fs.existsSync(bindingPath) || !fs.existsSync(buildMetadataPath(build)))
        throw new PatchedBuildMissingError(`${build.binsDirectory} has no llama-addon.node and build metadata. Run "npm run build:native".`);
    const buildMetadata = readBuildMetadata(build);
    checkBuildCoherence(build, buildMetadata);

    const binding = loadBinding(bindingPath);
    const missing = [
        ...layerSkipMethods.filter((method) => typeof binding.AddonContext.prototype[method] !== "function"),
        ...layerSkipBindingFunctions.filter((name) => typeof (binding as Partial<NativeBinding>)[name] !== "function")
    ];
    if (missing.length > 0)
        throw new PatchedBuildInvalidError(
            `${bindingPath} is a stock node-llama-cpp binary or an older Layer Dial build: it lacks ${missing.join(", ")}. ` +
                `Run "npm run build:native -- --force" to rebuild it with Layer Dial's patches.`
        );
    const layerSkipArchitectures = layerSkipArchitecturesOfBinding(binding, bindingPath);

    const envChoice = process.env.LAYER_DIAL_GPU;
    const choice: GpuChoice = options.gpu ?? (isGpuChoice(envChoice) ? envChoice : "auto");
    const installedRoot = installedBackendsRoot(options);
    const backend = await chooseBackend(binding, build, choice, installedRoot, buildMetadata.buildOptions.llamaCpp.release, options);
    if (backend.gpu === false && choice !== "auto" && choice !== "cpu" && options.fallbackToCpu === false)
        throw new GpuBackendUnavailableError(
            `${choice} was requested, but it cannot run here: ${backend.fallbackReason?.replace(/^running on the CPU: /, "")}. Use --gpu auto or --gpu cpu to run on the CPU.`
        );

    const llama = await createLlamaFromBinding({
        binding,
        bindingPath,
        buildMetadata,
        logLevel: options.logLevel ?? LlamaLogLevel.error,
        maxThreads: options.maxThreads
    });
    if (llama.buildType !== "localBuild")
        throw new PatchedBuildInvalidError(`Loaded ${bindingPath} but node-llama-cpp reports build type "${llama.buildType}", not the local patched build`);

    return {llama, binsDirectory: build.binsDirectory, buildInfo: build.buildInfo, backend, layerSkipArchitectures};
}

function layerSkipArchitecturesOfBinding(binding: Partial<NativeBinding>, source: string): ReadonlySet<string> {
    if (typeof binding.getLayerSkipArchitectures !== "function")
        throw new PatchedBuildInvalidError(
            `${source} is not Layer Dial's patched build: it cannot list the architectures it can skip layers of. ` +
                `Load it with loadPatchedLlama; run "npm run build:native -- --force" if it is an older build.`
        );
    const names = binding.getLayerSkipArchitectures();
    if (!Array.isArray(names) || names.length === 0 || !names.every((name) => typeof name === "string" && name !== ""))
        throw new PatchedBuildInvalidError(
            `${source} lists no architectures it can skip layers of (got ${JSON.stringify(names)}). Rebuild it: npm run build:native -- --force`
        );
    return new Set(names);
}

/** the general.architecture names the patched build behind `llama` can skip layers of (as loadPatchedLlama's
 *  `layerSkipArchitectures`), read from its libllama */
export function layerSkipArchitecturesOf(llama: Llama): ReadonlySet<string> {
    return layerSkipArchitecturesOfBinding(bindingOf(llama), "This Llama");
}
