// What identifies a patched native build: the node-llama-cpp release it was built from, our patches,
// where ggml's backends come from (node-llama-cpp's prebuilt packages, or our own compile), and the
// platform. The engine's loader reads it to find the build that matches the checkout it runs from; the
// build script (native/build.ts) writes builds under the same key.
import {createHash} from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {createRequire} from "node:module";
import {fileURLToPath} from "node:url";

export const gpuBackends = ["false", "auto", "cuda", "vulkan", "metal"] as const;
export type GpuBackend = (typeof gpuBackends)[number];

/** `all`: every CPU variant, picked at run time (what node-llama-cpp's release binaries ship, and what a VSIX needs).
 *  `native`: one variant tuned for this machine's CPU; far quicker to build, same run-time speed on this machine. */
export const cpuVariantSets = ["all", "native"] as const;
export type CpuVariantSet = (typeof cpuVariantSets)[number];

/** `prebuilt`: compile only what our patches change (libllama, llama-common and the addon) and take every
 *  ggml library (libggml-base, the CPU variants, Vulkan) from node-llama-cpp's own release packages of
 *  the same version. `source`: compile everything, ggml included (platforms without those packages). */
export const backendSources = ["prebuilt", "source"] as const;
export type BackendSource = (typeof backendSources)[number];

export type NativeBuildOptions = {
    backends: BackendSource;
    /** `source` builds only: the GPU backend compiled in */
    gpu: GpuBackend;
    /** `source` builds only */
    cpuVariants: CpuVariantSet;
};

/** node-llama-cpp's prebuilt ggml packages for a platform, pinned to node-llama-cpp's own version
 *  (they are its optional dependencies, and ours, at exactly that version) */
export type PrebuiltBackendPackages = {cpu: string; vulkan?: string; cuda?: string; cudaFallback?: string};

export function prebuiltBackendPackages(platform: string = process.platform, arch: string = process.arch): PrebuiltBackendPackages | undefined {
    if (platform === "linux" && arch === "x64")
        return {
            cpu: "@node-llama-cpp/linux-x64",
            vulkan: "@node-llama-cpp/linux-x64-vulkan",
            cuda: "@node-llama-cpp/linux-x64-cuda",
            cudaFallback: "@node-llama-cpp/linux-x64-cuda-ext"
        };
    if (platform === "linux" && arch === "arm64") return {cpu: "@node-llama-cpp/linux-arm64"};
    // node-llama-cpp's macOS and Windows packages stop at an older release than the one it bundles:
    // those platforms build everything from source
    return undefined;
}

/** bump when the layout of a build folder changes, so cached builds of the old layout are not reused */
const BUILD_LAYOUT_VERSION = 3;

/** llama.cpp's license (ggml's included) inside a build folder, since the build ships their code */
export const LLAMA_CPP_LICENSE_FILE = "licenses/llama.cpp-LICENSE";

export type NativeBuildKey = NativeBuildOptions & {
    nodeLlamaCppVersion: string;
    patchHash: string;
    platform: NodeJS.Platform;
    arch: string;
    /** the folder name under the cache root; every field above is part of it */
    id: string;
};

/** The folder holding Layer Dial's package.json, found by walking up: this module runs from engine/native/
 *  in a checkout and from dist/ once bundled (the CLI, the host). */
function findProjectRoot(start: string): string {
    for (let folder = start; ; folder = path.dirname(folder)) {
        try {
            if ((JSON.parse(fs.readFileSync(path.join(folder, "package.json"), "utf8")) as {name?: string}).name === "layer-dial") return folder;
        } catch {
            // no package.json here, or not ours: keep walking up
        }
        if (path.dirname(folder) === folder) return path.resolve(start, "../..");
    }
}

export const projectRoot = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));
export const patchesDirectory = path.join(projectRoot, "native", "patches");

/** the patches in the order they are applied, with the folder (relative to node-llama-cpp's `llama/`) each applies in */
export function listPatches(): {file: string; target: "llama.cpp" | "addon"}[] {
    const result: {file: string; target: "llama.cpp" | "addon"}[] = [];
    for (const target of ["llama.cpp", "addon"] as const) {
        const folder = path.join(patchesDirectory, target);
        for (const name of fs
            .readdirSync(folder)
            .filter((name) => name.endsWith(".diff"))
            .sort())
            result.push({file: path.join(folder, name), target});
    }
    return result;
}

export function nodeLlamaCppDirectory(): string {
    const require = createRequire(path.join(projectRoot, "package.json"));
    // its exports map hides package.json; its entry point is <package>/dist/index.js
    return path.resolve(path.dirname(require.resolve("node-llama-cpp")), "..");
}

export function nodeLlamaCppVersion(): string {
    const packageJson = JSON.parse(fs.readFileSync(path.join(nodeLlamaCppDirectory(), "package.json"), "utf8")) as {version: string};
    return packageJson.version;
}

export function computePatchHash(): string {
    const hash = createHash("sha256");
    hash.update(`layout ${BUILD_LAYOUT_VERSION}\0`);
    for (const patch of listPatches()) {
        hash.update(path.relative(patchesDirectory, patch.file));
        hash.update("\0");
        hash.update(fs.readFileSync(patch.file));
        hash.update("\0");
    }
    return hash.digest("hex");
}

export function computeBuildKey(options: NativeBuildOptions): NativeBuildKey {
    const nodeLlamaCppVersionValue = nodeLlamaCppVersion();
    const patchHash = computePatchHash();
    const id = [
        `nlc${nodeLlamaCppVersionValue}`,
        `${process.platform}-${process.arch}`,
        ...(options.backends === "prebuilt" ? [`prebuilt-backends`] : [`source`, `gpu-${options.gpu}`, `cpu-${options.cpuVariants}`]),
        `${patchHash.slice(0, 12)}`
    ].join("_");
    return {...options, nodeLlamaCppVersion: nodeLlamaCppVersionValue, patchHash, platform: process.platform, arch: process.arch, id};
}

/** builds live outside the repo, so a fresh clone or `git clean` keeps them and an unchanged rebuild is instant */
export function nativeCacheRoot(): string {
    if (process.env.LAYER_DIAL_CACHE_DIR) return path.join(process.env.LAYER_DIAL_CACHE_DIR, "native");

    const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache");
    return path.join(base, "layer-dial", "native");
}

export function buildDirectory(key: NativeBuildKey): string {
    return path.join(nativeCacheRoot(), key.id);
}

export const buildInfoFileName = "layer-dial-build.json";

/** where one ggml library set of a build came from */
export type BackendOrigin = {package: string; version: string; llamaCppRelease: string};

export type BuildInfo = NativeBuildKey & {
    builtAt: string;
    buildSeconds: number;
    /** the llama.cpp release our libllama and addon were compiled from */
    llamaCppRelease: string;
    /** prebuilt builds: the packages their ggml libraries came from (cpu: bins/, vulkan: backends/vulkan/) */
    backendOrigins?: {cpu: BackendOrigin; vulkan?: BackendOrigin};
};

export function readBuildInfo(directory: string): BuildInfo | undefined {
    try {
        return JSON.parse(fs.readFileSync(path.join(directory, buildInfoFileName), "utf8")) as BuildInfo;
    } catch {
        return undefined;
    }
}

/** prebuilt backends where node-llama-cpp publishes them; `$LAYER_DIAL_NATIVE_BACKENDS=source` (with
 *  `$LAYER_DIAL_BUILD_GPU` and `$LAYER_DIAL_CPU_VARIANTS`) selects a from-source build instead */
export function defaultBuildOptions(): NativeBuildOptions {
    const backends = process.env.LAYER_DIAL_NATIVE_BACKENDS;
    const gpu = process.env.LAYER_DIAL_BUILD_GPU;
    const cpuVariants = process.env.LAYER_DIAL_CPU_VARIANTS;
    return {
        backends: isBackendSource(backends) ? backends : prebuiltBackendPackages() != null ? "prebuilt" : "source",
        gpu: isGpuBackend(gpu) ? gpu : "false",
        cpuVariants: isCpuVariantSet(cpuVariants) ? cpuVariants : "all"
    };
}

export function isBackendSource(value: string | undefined): value is BackendSource {
    return backendSources.includes(value as BackendSource);
}

export function isGpuBackend(value: string | undefined): value is GpuBackend {
    return gpuBackends.includes(value as GpuBackend);
}

export function isCpuVariantSet(value: string | undefined): value is CpuVariantSet {
    return cpuVariantSets.includes(value as CpuVariantSet);
}
