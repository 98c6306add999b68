// Loads Layer Dial's patched llama.cpp build and proves it is the patched one before anything uses it.
// A stock node-llama-cpp binary cannot skip layers, so it is never a silent fallback.
import fs from "node:fs";
import path from "node:path";
import {LlamaLogLevel, type Llama} from "node-llama-cpp";
import {buildDirectory, computeBuildKey, defaultBuildOptions, readBuildInfo, type BuildInfo, type NativeBuildOptions} from "../../native/build-key.js";
import {createLlamaFromBinding, layerSkipMethods, loadBindingModule, type BuildMetadata} from "./internals.js";

export class PatchedBuildMissingError extends Error {
    override name = "PatchedBuildMissingError";
}

export class PatchedBuildInvalidError extends Error {
    override name = "PatchedBuildInvalidError";
}

export type LoadPatchedLlamaOptions = {
    /** A folder holding llama-addon.node and its libraries (what a VSIX ships).
     *  Defaults to `$LAYER_DIAL_NATIVE_DIR`, else the cached build for this checkout's patches. */
    binsDirectory?: string,
    /** Which cached build to look for when no folder is given. Defaults to `npm run build:native`'s defaults. */
    build?: Partial<NativeBuildOptions>,
    /** Defaults to `LlamaLogLevel.error`. */
    logLevel?: LlamaLogLevel,
    /** Defaults to every core. */
    maxThreads?: number
};

export type PatchedLlama = {
    llama: Llama,
    binsDirectory: string,
    /** present when the build came from `npm run build:native`'s cache */
    buildInfo?: BuildInfo
};

function resolveBinsDirectory(options: LoadPatchedLlamaOptions): {binsDirectory: string, buildInfo?: BuildInfo} {
    const explicit = options.binsDirectory ?? process.env.LAYER_DIAL_NATIVE_DIR;
    if (explicit != null && explicit !== "")
        return {binsDirectory: path.resolve(explicit)};

    const key = computeBuildKey({...defaultBuildOptions(), ...options.build});
    const directory = buildDirectory(key);
    const buildInfo = readBuildInfo(directory);
    if (buildInfo == null)
        throw new PatchedBuildMissingError(
            `No patched llama.cpp build for this checkout (gpu ${key.gpu}, cpu variants ${key.cpuVariants}, patches ${key.patchHash.slice(0, 12)}). ` +
            `Run "npm run build:native" (about 10 minutes on 2 cores the first time; instant when cached). Expected it at ${directory}`);
    return {binsDirectory: path.join(directory, "bins"), buildInfo};
}

export async function loadPatchedLlama(options: LoadPatchedLlamaOptions = {}): Promise<PatchedLlama> {
    const {binsDirectory, buildInfo} = resolveBinsDirectory(options);
    const bindingPath = path.join(binsDirectory, "llama-addon.node");
    const metadataPath = path.join(binsDirectory, "_nlcBuildMetadata.json");
    if (!fs.existsSync(bindingPath) || !fs.existsSync(metadataPath))
        throw new PatchedBuildMissingError(`${binsDirectory} has no llama-addon.node and build metadata. Run "npm run build:native".`);

    const binding = loadBindingModule(bindingPath);
    const missing = layerSkipMethods.filter((method) => typeof binding.AddonContext.prototype[method] !== "function");
    if (missing.length > 0)
        throw new PatchedBuildInvalidError(
            `${bindingPath} is a stock node-llama-cpp binary: it lacks ${missing.join(", ")}. Run "npm run build:native -- --force" to rebuild it with Layer Dial's patches.`);

    const buildMetadata = JSON.parse(fs.readFileSync(metadataPath, "utf8")) as BuildMetadata;
    const llama = await createLlamaFromBinding({
        binding,
        bindingPath,
        buildMetadata,
        logLevel: options.logLevel ?? LlamaLogLevel.error,
        maxThreads: options.maxThreads
    });
    if (llama.buildType !== "localBuild")
        throw new PatchedBuildInvalidError(`Loaded ${bindingPath} but node-llama-cpp reports build type "${llama.buildType}", not the local patched build`);

    return {llama, binsDirectory, buildInfo};
}
