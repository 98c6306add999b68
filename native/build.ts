// npm run build:native [-- --backends prebuilt|source] [--gpu false|auto|cuda|vulkan|metal] [--cpu-variants all|native] [--force]
//
// Our patches change only llama.cpp's libllama and node-llama-cpp's addon; ggml itself is untouched. So
// the default build (`--backends prebuilt`, wherever node-llama-cpp publishes prebuilt packages) compiles
// only libllama and the addon (native/cmake/CMakeLists.txt), and takes every other library from
// node-llama-cpp's own release packages of the same version: libggml-base, the registry, every CPU
// variant and llama-common from @node-llama-cpp/<platform>, the Vulkan backend from -vulkan. They are built on node-llama-cpp's CI and
// run on every CPU they claim (our own gcc-12 compile of the AMX variant did not). `--backends source`
// compiles everything from source, as platforms without those packages (macOS, Windows) must.
//
// The result is cached outside the repo by (node-llama-cpp version, patches, backends, platform); an
// unchanged rebuild does no work, a changed patch recompiles only what it touches.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
    buildDirectory,
    buildInfoFileName,
    computeBuildKey,
    LLAMA_CPP_LICENSE_FILE,
    defaultBuildOptions,
    isBackendSource,
    isCpuVariantSet,
    isGpuBackend,
    listPatches,
    nativeCacheRoot,
    nodeLlamaCppDirectory,
    prebuiltBackendPackages,
    projectRoot,
    readBuildInfo,
    type BackendOrigin,
    type BuildInfo,
    type NativeBuildKey,
    type NativeBuildOptions
} from "../engine/native/build-record.js";
import {applyPatchStack, PatchStackError, type StackedPatch} from "./patch-stack.js";
import {checkGgmlSymbols} from "./symbols.js";
import {GPU_PROBE_MODEL_FILE} from "../engine/native/gpu-probe.js";
import {writeSyntheticModel} from "../test/fixtures/gguf/synthetic.js";

class NativeBuildError extends Error {
    override name = "NativeBuildError";
}

const usage = "Usage: npm run build:native -- [--backends prebuilt|source] [--gpu false|auto|cuda|vulkan|metal] [--cpu-variants all|native] [--force]";

function parseArgs(argv: string[]): NativeBuildOptions & {force: boolean} {
    const options = {...defaultBuildOptions(), force: false};
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = argv[i + 1];
        if (arg === "--backends") {
            if (!isBackendSource(value)) throw new NativeBuildError(`--backends must be "prebuilt" or "source" (got "${value}")`);
            options.backends = value;
            i++;
        } else if (arg === "--gpu") {
            if (!isGpuBackend(value)) throw new NativeBuildError(`--gpu must be one of false, auto, cuda, vulkan, metal (got "${value}")`);
            options.gpu = value;
            i++;
        } else if (arg === "--cpu-variants") {
            if (!isCpuVariantSet(value)) throw new NativeBuildError(`--cpu-variants must be "all" or "native" (got "${value}")`);
            options.cpuVariants = value;
            i++;
        } else if (arg === "--force") options.force = true;
        else throw new NativeBuildError(`Unknown option "${arg}". ${usage}`);
    }
    if (options.backends === "prebuilt" && prebuiltBackendPackages() == null)
        throw new NativeBuildError(`node-llama-cpp publishes no prebuilt ggml backends for ${process.platform}-${process.arch}; build with --backends source`);
    if (options.backends === "prebuilt" && (options.gpu !== "false" || options.cpuVariants !== "all"))
        throw new NativeBuildError("--gpu and --cpu-variants choose what a from-source build compiles; add --backends source");
    return options;
}

function run(command: string, args: string[], options: {cwd: string; env?: NodeJS.ProcessEnv}) {
    const result = spawnSync(command, args, {cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "inherit", "inherit"]});
    return result.status ?? 1;
}

function nodeLlamaCppCli(nlcDirectory: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    const status = run(process.execPath, [path.join(nlcDirectory, "dist", "cli", "cli.js"), ...args], {cwd: nlcDirectory, env});
    if (status !== 0) throw new NativeBuildError(`"node-llama-cpp ${args.join(" ")}" failed (exit ${status}); see the output above`);
}

function readJson<T>(file: string): T {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

type NlcBuildMetadata = {buildOptions: {gpu: string | false; llamaCpp: {repo: string; release: string}; customCmakeOptions: Record<string, string>}};

function bundledRelease(nlcDirectory: string): {repo: string; release: string} {
    const info = readJson<{tag: string; llamaCppGithubRepo: string}>(path.join(nlcDirectory, "llama", "llama.cpp.info.json"));
    return {repo: info.llamaCppGithubRepo, release: info.tag};
}

function ensureLlamaCppSource(nlcDirectory: string, gpu: string) {
    if (fs.existsSync(path.join(nlcDirectory, "llama", "llama.cpp", "CMakeLists.txt"))) return;
    console.log("Cloning the bundled llama.cpp release (offline, from node-llama-cpp's git bundle)");
    nodeLlamaCppCli(nlcDirectory, ["source", "download", "--skipBuild", "--noUsageExample", "--gpu", gpu]);
}

function applyPatches(nlcDirectory: string) {
    const llamaDirectory = path.join(nlcDirectory, "llama");
    const patches: StackedPatch[] = listPatches().map((patch) => ({
        name: `${patch.target}/${path.basename(patch.file)}`,
        directory: patch.target === "llama.cpp" ? path.join(llamaDirectory, "llama.cpp") : llamaDirectory,
        content: fs.readFileSync(patch.file, "utf8")
    }));
    const report = applyPatchStack(
        patches,
        path.join(llamaDirectory, ".layer-dial-applied-patches.json"),
        "Reinstall node-llama-cpp (rm -rf node_modules/node-llama-cpp && npm install --ignore-scripts), then run npm run build:native again."
    );
    if (report.unchanged) console.log(`  ${patches.length} patches already applied`);
    for (const name of report.reversed) console.log(`  patch ${name}: reversed (changed since it was applied)`);
    for (const name of report.applied) console.log(`  patch ${name}: applied`);
}

/** a prebuilt package's folder, checked to be exactly node-llama-cpp's version and llama.cpp release */
function prebuiltPackage(name: string, expectedVersion: string, expectedRelease: string): {binsFolder: string; origin: BackendOrigin} {
    const packageFolder = path.join(nodeLlamaCppDirectory(), "..", ...name.split("/"));
    const packageJsonPath = path.join(packageFolder, "package.json");
    if (!fs.existsSync(packageJsonPath))
        throw new NativeBuildError(`${name} is not installed. Run "npm install --ignore-scripts" (it is pinned in package.json's optionalDependencies).`);
    const version = readJson<{version: string}>(packageJsonPath).version;
    if (version !== expectedVersion)
        throw new NativeBuildError(
            `${name} is version ${version}, but node-llama-cpp is ${expectedVersion}: their libraries must come from one release. Pin both to the same version and run npm install.`
        );
    const binsRoot = path.join(packageFolder, "bins");
    const [platformFolder] = fs.readdirSync(binsRoot);
    const binsFolder = path.join(binsRoot, platformFolder);
    const metadata = readJson<NlcBuildMetadata>(path.join(binsFolder, "_nlcBuildMetadata.json"));
    if (metadata.buildOptions.llamaCpp.release !== expectedRelease)
        throw new NativeBuildError(
            `${name}@${version} was built from llama.cpp ${metadata.buildOptions.llamaCpp.release}, but node-llama-cpp bundles ${expectedRelease}`
        );
    return {binsFolder, origin: {package: name, version, llamaCppRelease: expectedRelease}};
}

/** the persistent cmake build tree of prebuilt-backend builds: kept between builds, so a changed patch
 *  recompiles only the files it touches */
function prebuiltBuildTree(): string {
    return path.join(nativeCacheRoot(), "build-tree", `${process.platform}-${process.arch}-prebuilt-backends`);
}

/** the library variant suffix node-llama-cpp's release used (`libggml.v0.5.0.so` → `v0.5.0`); ours must
 *  match, since our libllama links libggml by that name */
function stockVariant(cpuBinsFolder: string): string {
    const registry = fs.readdirSync(cpuBinsFolder).find((name) => /^libggml\..+\.(so|dylib|dll)$/.test(name));
    if (registry == null) throw new NativeBuildError(`${cpuBinsFolder} has no libggml.<variant> library`);
    return registry.replace(/^libggml\./, "").replace(/\.(so|dylib|dll)$/, "");
}

/** compiles our libllama and the addon with native/cmake/CMakeLists.txt, which imports libggml,
 *  libggml-base and libllama-common from the prebuilt package instead of compiling them */
function compilePatchedLibraries(nlcDirectory: string, prebuiltBinsFolder: string, variant: string): string {
    const tree = prebuiltBuildTree();
    fs.mkdirSync(tree, {recursive: true});
    const cmakeOptions: Record<string, string> = {
        NLC_LLAMA_DIR: path.join(nlcDirectory, "llama"),
        PREBUILT_BINS_DIR: prebuiltBinsFolder,
        NLC_VARIANT: variant,
        LLAMA_CURL: "OFF",
        LLAMA_HTTPLIB: "OFF",
        LLAMA_OPENSSL: "OFF",
        LLAMA_BUILD_NUMBER: "1",
        CMAKE_CONFIGURATION_TYPES: "Release"
    };
    console.log(`Compiling libllama and the addon against ${prebuiltBinsFolder}`);
    // cmake-js, run through npm as node-llama-cpp runs it, finds Node's headers the way npm is configured to
    const status = run(
        "npm",
        [
            "exec",
            "--no",
            "--",
            "cmake-js",
            "compile",
            "--log-level",
            "warn",
            "--config",
            "Release",
            `--arch=${process.arch}`,
            "--directory",
            path.join(projectRoot, "native", "cmake"),
            "--out",
            tree,
            `--runtime-version=${process.versions.node}`,
            `--parallel=${os.availableParallelism()}`,
            ...Object.entries(cmakeOptions).map(([name, value]) => `--CD${name}=${value}`)
        ],
        {cwd: projectRoot}
    );
    if (status !== 0) throw new NativeBuildError(`Compiling the patched libraries failed (exit ${status}); see the output above`);
    return tree;
}

function findFile(root: string, name: string): string {
    for (const entry of fs.readdirSync(root, {withFileTypes: true, recursive: true})) {
        if (entry.isFile() && entry.name === name) return path.join(entry.parentPath, entry.name);
    }
    throw new NativeBuildError(`The build finished but ${root} has no ${name}`);
}

function copyInto(folder: string, file: string, name = path.basename(file)) {
    fs.mkdirSync(folder, {recursive: true});
    fs.copyFileSync(file, path.join(folder, name));
}

function buildWithPrebuiltBackends(nlcDirectory: string, key: NativeBuildKey, staging: string): Pick<BuildInfo, "llamaCppRelease" | "backendOrigins"> {
    const release = bundledRelease(nlcDirectory);
    const packages = prebuiltBackendPackages()!;
    const cpu = prebuiltPackage(packages.cpu, key.nodeLlamaCppVersion, release.release);
    const vulkan = packages.vulkan != null ? prebuiltPackage(packages.vulkan, key.nodeLlamaCppVersion, release.release) : undefined;
    const variant = stockVariant(cpu.binsFolder);

    ensureLlamaCppSource(nlcDirectory, "false");
    console.log("Applying Layer Dial's patches");
    applyPatches(nlcDirectory);
    const tree = compilePatchedLibraries(nlcDirectory, cpu.binsFolder, variant);

    const bins = path.join(staging, "bins");
    const libraryExtension = process.platform === "win32" ? "dll" : process.platform === "darwin" ? "dylib" : "so";
    const prefix = process.platform === "win32" ? "" : "lib";
    // ours: what the patches change
    for (const name of ["llama-addon.node", `${prefix}llama.${variant}.${libraryExtension}`]) copyInto(bins, findFile(tree, name));
    // theirs: every ggml library, and llama-common (it uses only libllama's public API, which the patches extend but do not change)
    const stock = fs.readdirSync(cpu.binsFolder).filter((name) => /^(lib)?(ggml[-.]|llama-common\.)/.test(name));
    for (const name of stock) copyInto(bins, path.join(cpu.binsFolder, name));
    const metadata: NlcBuildMetadata = {
        buildOptions: {gpu: false, llamaCpp: release, customCmakeOptions: {LAYER_DIAL_GGML: `${cpu.origin.package}@${cpu.origin.version}`}}
    };
    fs.writeFileSync(path.join(bins, "_nlcBuildMetadata.json"), JSON.stringify(metadata));

    if (vulkan != null) {
        const folder = path.join(staging, "backends", "vulkan");
        copyInto(folder, path.join(vulkan.binsFolder, `${prefix}ggml-vulkan.${libraryExtension}`));
        fs.writeFileSync(
            path.join(folder, "layer-dial-backend.json"),
            JSON.stringify(
                {
                    backend: "vulkan",
                    package: vulkan.origin.package,
                    version: vulkan.origin.version,
                    llamaCppRelease: vulkan.origin.llamaCppRelease,
                    files: [`${prefix}ggml-vulkan.${libraryExtension}`]
                },
                null,
                2
            )
        );
    }

    // our libllama was compiled against the release's ggml headers; prove the stock libraries define
    // every ggml symbol it and the addon use, so a mismatch fails here rather than at a user's dlopen
    const missing = checkGgmlSymbols(bins);
    if (missing.length > 0)
        throw new NativeBuildError(
            `The prebuilt ggml libraries of ${cpu.origin.package}@${cpu.origin.version} lack symbols our build needs: ` +
                `${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", …" : ""}. The patches or the pinned packages changed; see CONTRIBUTING.md.`
        );
    return {llamaCppRelease: release.release, backendOrigins: {cpu: cpu.origin, ...(vulkan != null ? {vulkan: vulkan.origin} : {})}};
}

/** node-llama-cpp's own CI options for its release binaries (see its compileLLamaCpp ciMode) */
function sourceCmakeOptions(options: NativeBuildOptions): Record<string, string> {
    const cmake: Record<string, string> = {GGML_OPENMP: "OFF", GGML_BACKEND_DL: "ON"};
    if (options.cpuVariants === "all") {
        cmake.GGML_NATIVE = "OFF";
        cmake.GGML_CPU_ALL_VARIANTS = "ON";
    } else cmake.GGML_NATIVE = "ON";
    return cmake;
}

function buildFromSource(nlcDirectory: string, key: NativeBuildKey, staging: string): Pick<BuildInfo, "llamaCppRelease"> {
    ensureLlamaCppSource(nlcDirectory, key.gpu);
    console.log("Applying Layer Dial's patches");
    applyPatches(nlcDirectory);
    const cmakeOptions = sourceCmakeOptions(key);
    const env: NodeJS.ProcessEnv = {...process.env};
    for (const [name, value] of Object.entries(cmakeOptions)) env[`NODE_LLAMA_CPP_CMAKE_OPTION_${name}`] = value;
    console.log(
        `Building all of llama.cpp from source (gpu ${key.gpu}, cpu variants ${key.cpuVariants}; ` +
            `${Object.entries(cmakeOptions)
                .map(([name, value]) => `${name}=${value}`)
                .join(" ")})`
    );
    nodeLlamaCppCli(nlcDirectory, ["source", "build", "--noUsageExample", "--gpu", key.gpu], env);

    const lastBuild = readJson<{folderName: string}>(path.join(nlcDirectory, "llama", "lastBuild.json"));
    const releaseDirectory = path.join(nlcDirectory, "llama", "localBuilds", lastBuild.folderName, "Release");
    if (!fs.existsSync(path.join(releaseDirectory, "llama-addon.node")))
        throw new NativeBuildError(`The build finished but ${releaseDirectory} has no llama-addon.node`);
    fs.cpSync(releaseDirectory, path.join(staging, "bins"), {recursive: true, dereference: true});
    return {llamaCppRelease: bundledRelease(nlcDirectory).release};
}

function build(key: NativeBuildKey): BuildInfo {
    const started = Date.now();
    const nlcDirectory = nodeLlamaCppDirectory();
    const staging = `${buildDirectory(key)}.partial-${process.pid}`;
    fs.rmSync(staging, {recursive: true, force: true});
    try {
        const parts = key.backends === "prebuilt" ? buildWithPrebuiltBackends(nlcDirectory, key, staging) : buildFromSource(nlcDirectory, key, staging);
        // the build ships llama.cpp's and ggml's code, so it carries their license (the VSIX's third-party notices read it here)
        fs.mkdirSync(path.join(staging, "licenses"), {recursive: true});
        fs.copyFileSync(path.join(nlcDirectory, "llama", "llama.cpp", "LICENSE"), path.join(staging, LLAMA_CPP_LICENSE_FILE));
        const info: BuildInfo = {...key, ...parts, builtAt: new Date().toISOString(), buildSeconds: Math.round((Date.now() - started) / 1000)};
        fs.writeFileSync(path.join(staging, buildInfoFileName), JSON.stringify(info, null, 2));
        // publish atomically: a build interrupted half-way never looks complete to the loader
        fs.rmSync(buildDirectory(key), {recursive: true, force: true});
        fs.renameSync(staging, buildDirectory(key));
        return info;
    } finally {
        fs.rmSync(staging, {recursive: true, force: true});
    }
}

/** the model the engine's GPU check (engine/native/gpu-probe.ts) decodes: two llama layers, 0.2 MB; written
 *  beside the build, also into a build cached before the check existed */
async function ensureGpuProbeModel(directory: string) {
    const file = path.join(directory, GPU_PROBE_MODEL_FILE);
    if (fs.existsSync(file)) return;
    const partial = `${file}.partial-${process.pid}`;
    await writeSyntheticModel(partial, {
        architecture: "llama",
        layerCount: 2,
        embeddingLength: 64,
        feedForwardLength: 128,
        headCount: 4,
        headCountKv: 2,
        vocabSize: 512,
        contextLength: 512,
        weightType: "F16",
        seed: 20261130,
        name: "layer-dial-gpu-probe"
    });
    fs.renameSync(partial, file);
}

async function main() {
    const options = parseArgs(process.argv.slice(2));
    const key = computeBuildKey(options);
    const directory = buildDirectory(key);
    if (!options.force && readBuildInfo(directory) != null && fs.existsSync(path.join(directory, "bins", "llama-addon.node"))) {
        await ensureGpuProbeModel(directory);
        console.log(`Native build up to date: ${directory}`);
        return;
    }
    const info = build(key);
    await ensureGpuProbeModel(directory);
    console.log(`Native build ready in ${info.buildSeconds}s: ${directory}`);
}

try {
    await main();
} catch (error) {
    if (error instanceof NativeBuildError || error instanceof PatchStackError) {
        console.error(`build:native: ${error.message}`);
        process.exit(1);
    }
    throw error;
}
