// What identifies a patched native build: the node-llama-cpp release it was built from, our patches,
// the GPU backend, the CPU variant set and the platform. Shared by the build script (to cache builds)
// and the engine's loader (to find the build that matches the checkout it runs from).
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

export type NativeBuildOptions = {
    gpu: GpuBackend,
    cpuVariants: CpuVariantSet
};

export type NativeBuildKey = NativeBuildOptions & {
    nodeLlamaCppVersion: string,
    patchHash: string,
    platform: NodeJS.Platform,
    arch: string,
    /** the folder name under the cache root; every field above is part of it */
    id: string
};

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const patchesDirectory = path.join(projectRoot, "native", "patches");

/** the patches in the order they are applied, with the folder (relative to node-llama-cpp's `llama/`) each applies in */
export function listPatches(): {file: string, target: "llama.cpp" | "addon"}[] {
    const result: {file: string, target: "llama.cpp" | "addon"}[] = [];
    for (const target of ["llama.cpp", "addon"] as const) {
        const folder = path.join(patchesDirectory, target);
        for (const name of fs.readdirSync(folder).filter((name) => name.endsWith(".diff")).sort())
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
        `gpu-${options.gpu}`,
        `cpu-${options.cpuVariants}`,
        patchHash.slice(0, 12)
    ].join("_");
    return {...options, nodeLlamaCppVersion: nodeLlamaCppVersionValue, patchHash, platform: process.platform, arch: process.arch, id};
}

/** builds live outside the repo, so a fresh clone or `git clean` keeps them and an unchanged rebuild is instant */
export function nativeCacheRoot(): string {
    if (process.env.LAYER_DIAL_CACHE_DIR)
        return path.join(process.env.LAYER_DIAL_CACHE_DIR, "native");

    const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache");
    return path.join(base, "layer-dial", "native");
}

export function buildDirectory(key: NativeBuildKey): string {
    return path.join(nativeCacheRoot(), key.id);
}

export const buildInfoFileName = "layer-dial-build.json";

export type BuildInfo = NativeBuildKey & {
    builtAt: string,
    buildSeconds: number
};

export function readBuildInfo(directory: string): BuildInfo | undefined {
    try {
        return JSON.parse(fs.readFileSync(path.join(directory, buildInfoFileName), "utf8")) as BuildInfo;
    } catch {
        return undefined;
    }
}

export function defaultBuildOptions(): NativeBuildOptions {
    const gpu = process.env.LAYER_DIAL_GPU;
    const cpuVariants = process.env.LAYER_DIAL_CPU_VARIANTS;
    return {
        gpu: isGpuBackend(gpu) ? gpu : "false",
        cpuVariants: isCpuVariantSet(cpuVariants) ? cpuVariants : "all"
    };
}

export function isGpuBackend(value: string | undefined): value is GpuBackend {
    return gpuBackends.includes(value as GpuBackend);
}

export function isCpuVariantSet(value: string | undefined): value is CpuVariantSet {
    return cpuVariantSets.includes(value as CpuVariantSet);
}
