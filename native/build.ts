// npm run build:native [-- --gpu false|auto|cuda|vulkan|metal] [--cpu-variants all|native] [--force]
//
// Builds node-llama-cpp's bundled llama.cpp release with our patches, offline, and caches the result
// outside the repo by (node-llama-cpp version, patch hash, gpu, cpu variants, platform). An unchanged
// rebuild does no work. The CPU build uses node-llama-cpp's release options (no OpenMP, ggml's
// dynamically loaded CPU backends) so it decodes as fast as the stock prebuilt binaries.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
    buildDirectory, buildInfoFileName, computeBuildKey, defaultBuildOptions, isCpuVariantSet, isGpuBackend, listPatches,
    nodeLlamaCppDirectory, readBuildInfo, type BuildInfo, type NativeBuildKey, type NativeBuildOptions
} from "./build-key.js";

class NativeBuildError extends Error {
    override name = "NativeBuildError";
}

function parseArgs(argv: string[]): NativeBuildOptions & {force: boolean} {
    const options = {...defaultBuildOptions(), force: false};
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = argv[i + 1];
        if (arg === "--gpu") {
            if (!isGpuBackend(value))
                throw new NativeBuildError(`--gpu must be one of false, auto, cuda, vulkan, metal (got "${value}")`);
            options.gpu = value;
            i++;
        } else if (arg === "--cpu-variants") {
            if (!isCpuVariantSet(value))
                throw new NativeBuildError(`--cpu-variants must be "all" or "native" (got "${value}")`);
            options.cpuVariants = value;
            i++;
        } else if (arg === "--force")
            options.force = true;
        else
            throw new NativeBuildError(`Unknown option "${arg}". Usage: npm run build:native -- [--gpu false|auto|cuda|vulkan|metal] [--cpu-variants all|native] [--force]`);
    }
    return options;
}

/** node-llama-cpp's own CI options for its release binaries (see its compileLLamaCpp ciMode), as custom cmake options */
function releaseCmakeOptions(options: NativeBuildOptions): Record<string, string> {
    const cmake: Record<string, string> = {GGML_OPENMP: "OFF", GGML_BACKEND_DL: "ON"};
    if (options.cpuVariants === "all") {
        cmake.GGML_NATIVE = "OFF";
        cmake.GGML_CPU_ALL_VARIANTS = "ON";
    } else
        cmake.GGML_NATIVE = "ON";
    return cmake;
}

function run(command: string, args: string[], options: {cwd: string, env?: NodeJS.ProcessEnv, quiet?: boolean}) {
    const result = spawnSync(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: options.quiet ? "pipe" : ["ignore", "inherit", "inherit"],
        encoding: "utf8"
    });
    return {status: result.status ?? 1, output: `${result.stdout ?? ""}${result.stderr ?? ""}`};
}

function nodeLlamaCppCli(nlcDirectory: string, args: string[], env: NodeJS.ProcessEnv) {
    const result = run(process.execPath, [path.join(nlcDirectory, "dist", "cli", "cli.js"), ...args], {cwd: nlcDirectory, env});
    if (result.status !== 0)
        throw new NativeBuildError(`"node-llama-cpp ${args.join(" ")}" failed (exit ${result.status}); see the output above`);
}

/** git apply, without letting git discover an enclosing repository (our own checkout contains node_modules),
 *  which would make it skip every path silently */
function gitApply(directory: string, args: string[]) {
    return run("git", ["apply", ...args], {
        cwd: directory,
        env: {...process.env, GIT_CEILING_DIRECTORIES: path.dirname(directory)},
        quiet: true
    });
}

const appliedStampName = ".layer-dial-applied-patches.json";

type AppliedStamp = {patches: {name: string, content: string}[]};

function patchTargetDirectory(llamaDirectory: string, target: "llama.cpp" | "addon") {
    return target === "llama.cpp" ? path.join(llamaDirectory, "llama.cpp") : llamaDirectory;
}

/** reverse what an earlier run applied, so that changed patches apply to pristine sources */
function unapplyStalePatches(llamaDirectory: string, wanted: AppliedStamp) {
    const stampPath = path.join(llamaDirectory, appliedStampName);
    if (!fs.existsSync(stampPath))
        return;

    const applied = JSON.parse(fs.readFileSync(stampPath, "utf8")) as AppliedStamp;
    if (JSON.stringify(applied) === JSON.stringify(wanted))
        return;

    for (const patch of [...applied.patches].reverse()) {
        const target = patch.name.startsWith("llama.cpp/") ? "llama.cpp" : "addon";
        const tempPatch = path.join(os.tmpdir(), `layer-dial-unapply-${process.pid}.diff`);
        fs.writeFileSync(tempPatch, patch.content);
        const result = gitApply(patchTargetDirectory(llamaDirectory, target), ["--reverse", tempPatch]);
        fs.rmSync(tempPatch, {force: true});
        if (result.status !== 0)
            throw new NativeBuildError(`Could not reverse the previously applied patch ${patch.name}:\n${result.output}\n` +
                `Reinstall node-llama-cpp (rm -rf node_modules/node-llama-cpp && npm ci --ignore-scripts) and run npm run build:native again.`);
    }
    fs.rmSync(stampPath);
}

/** applies each patch unless it is already applied; a failed apply names the patch, file and hunk */
function applyPatches(llamaDirectory: string) {
    const patches = listPatches();
    const wanted: AppliedStamp = {
        patches: patches.map((patch) => ({name: `${patch.target}/${path.basename(patch.file)}`, content: fs.readFileSync(patch.file, "utf8")}))
    };
    unapplyStalePatches(llamaDirectory, wanted);

    for (const patch of patches) {
        const directory = patchTargetDirectory(llamaDirectory, patch.target);
        const name = `${patch.target}/${path.basename(patch.file)}`;
        if (gitApply(directory, ["--check", "--reverse", patch.file]).status === 0) {
            console.log(`  patch ${name}: already applied`);
            continue;
        }
        const check = gitApply(directory, ["--check", "-v", patch.file]);
        if (check.status !== 0) {
            const failures = check.output.split("\n").filter((line) => line.startsWith("error:")).join("\n");
            throw new NativeBuildError(`Patch ${name} does not apply to ${directory}:\n${failures || check.output}\n` +
                "The bundled llama.cpp release or addon changed; update the patch (see native/README.md).");
        }
        if (!check.output.includes("Checking patch"))
            throw new NativeBuildError(`git apply checked no file of ${name} in ${directory}; refusing to continue`);

        const result = gitApply(directory, [patch.file]);
        if (result.status !== 0)
            throw new NativeBuildError(`Applying ${name} failed:\n${result.output}`);
        console.log(`  patch ${name}: applied`);
    }
    fs.writeFileSync(path.join(llamaDirectory, appliedStampName), JSON.stringify(wanted));
}

function ensureLlamaCppSource(nlcDirectory: string, options: NativeBuildOptions) {
    const llamaCppDirectory = path.join(nlcDirectory, "llama", "llama.cpp");
    if (fs.existsSync(path.join(llamaCppDirectory, "CMakeLists.txt")))
        return;

    console.log("Cloning the bundled llama.cpp release (offline, from node-llama-cpp's git bundle)");
    nodeLlamaCppCli(nlcDirectory, ["source", "download", "--skipBuild", "--noUsageExample", "--gpu", options.gpu], process.env);
}

type LastBuild = {folderName: string};

function copyBuildResult(nlcDirectory: string, destination: string) {
    const lastBuild = JSON.parse(fs.readFileSync(path.join(nlcDirectory, "llama", "lastBuild.json"), "utf8")) as LastBuild;
    const releaseDirectory = path.join(nlcDirectory, "llama", "localBuilds", lastBuild.folderName, "Release");
    if (!fs.existsSync(path.join(releaseDirectory, "llama-addon.node")))
        throw new NativeBuildError(`The build finished but ${releaseDirectory} has no llama-addon.node`);

    fs.rmSync(destination, {recursive: true, force: true});
    fs.mkdirSync(path.dirname(destination), {recursive: true});
    fs.cpSync(releaseDirectory, destination, {recursive: true, dereference: true});
}

function readCmakeCache(folder: string): Map<string, string> {
    const cache = new Map<string, string>();
    for (const line of fs.readFileSync(path.join(folder, "CMakeCache.txt"), "utf8").split("\n")) {
        const match = /^([A-Za-z0-9_]+):[A-Z]+=(.*)$/.exec(line);
        if (match != null)
            cache.set(match[1], match[2]);
    }
    return cache;
}

function isCmakeOn(value: string | undefined) {
    return value != null && ["ON", "1", "TRUE", "YES"].includes(value.toUpperCase());
}

/** the build folder of node-llama-cpp's last build, when it was configured exactly as this build needs:
 *  then only what our patches touch is recompiled (`source build` always starts from scratch) */
function reusableBuildFolder(nlcDirectory: string, key: NativeBuildKey, cmakeOptions: Record<string, string>): string | undefined {
    if (key.gpu === "auto")
        return undefined;
    try {
        const lastBuild = JSON.parse(fs.readFileSync(path.join(nlcDirectory, "llama", "lastBuild.json"), "utf8")) as LastBuild;
        const folder = path.join(nlcDirectory, "llama", "localBuilds", lastBuild.folderName);
        if (!fs.existsSync(path.join(folder, "buildDone.status")))
            return undefined;

        const cache = readCmakeCache(folder);
        const wanted: Record<string, boolean> = {GGML_CUDA: key.gpu === "cuda", GGML_VULKAN: key.gpu === "vulkan", GGML_METAL: key.gpu === "metal"};
        for (const [name, value] of Object.entries(cmakeOptions))
            wanted[name] = isCmakeOn(value);
        for (const [name, on] of Object.entries(wanted))
            if (isCmakeOn(cache.get(name)) !== on)
                return undefined;
        return folder;
    } catch {
        return undefined;
    }
}

function rebuildIncrementally(folder: string) {
    console.log(`  reusing the configured build folder ${folder}`);
    const cmake = readCmakeCache(folder).get("CMAKE_COMMAND") ?? "cmake";
    const result = run(cmake, ["--build", folder, "--config", "Release", "--parallel", String(os.availableParallelism())], {cwd: folder});
    if (result.status !== 0)
        throw new NativeBuildError(`cmake --build ${folder} failed (exit ${result.status}); see the output above`);

    // the shared libraries land in bin/; node-llama-cpp loads them from next to the addon
    const binFolder = path.join(folder, "bin");
    for (const name of fs.readdirSync(binFolder))
        fs.cpSync(path.join(binFolder, name), path.join(folder, "Release", name), {dereference: true});
}

function build(nlcDirectory: string, key: NativeBuildKey): BuildInfo {
    const started = Date.now();
    ensureLlamaCppSource(nlcDirectory, key);
    console.log("Applying Layer Dial's patches");
    applyPatches(path.join(nlcDirectory, "llama"));

    const cmakeOptions = releaseCmakeOptions(key);
    const env: NodeJS.ProcessEnv = {...process.env};
    for (const [name, value] of Object.entries(cmakeOptions))
        env[`NODE_LLAMA_CPP_CMAKE_OPTION_${name}`] = value;

    console.log(`Building llama.cpp (gpu ${key.gpu}, cpu variants ${key.cpuVariants}; ` +
        `${Object.entries(cmakeOptions).map(([name, value]) => `${name}=${value}`).join(" ")})`);
    const reusable = reusableBuildFolder(nlcDirectory, key, cmakeOptions);
    if (reusable != null)
        rebuildIncrementally(reusable);
    else
        nodeLlamaCppCli(nlcDirectory, ["source", "build", "--noUsageExample", "--gpu", key.gpu], env);

    const staging = `${buildDirectory(key)}.partial-${process.pid}`;
    copyBuildResult(nlcDirectory, path.join(staging, "bins"));
    const info: BuildInfo = {...key, builtAt: new Date().toISOString(), buildSeconds: Math.round((Date.now() - started) / 1000)};
    fs.writeFileSync(path.join(staging, buildInfoFileName), JSON.stringify(info, null, 2));

    // publish atomically: a build interrupted half-way never looks complete to the loader
    fs.rmSync(buildDirectory(key), {recursive: true, force: true});
    fs.renameSync(staging, buildDirectory(key));
    return info;
}

function main() {
    const options = parseArgs(process.argv.slice(2));
    const key = computeBuildKey(options);
    const directory = buildDirectory(key);
    const existing = readBuildInfo(directory);

    if (existing != null && !options.force && fs.existsSync(path.join(directory, "bins", "llama-addon.node"))) {
        console.log(`Native build up to date: ${directory}`);
        return;
    }

    const info = build(nodeLlamaCppDirectory(), key);
    console.log(`Native build ready in ${info.buildSeconds}s: ${directory}`);
}

try {
    main();
} catch (error) {
    if (error instanceof NativeBuildError) {
        console.error(`build:native: ${error.message}`);
        process.exit(1);
    }
    throw error;
}
