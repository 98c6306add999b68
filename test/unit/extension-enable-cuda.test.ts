// Layer Dial: Enable CUDA without an editor: its texts and checks, and the whole flow against a fake UI,
// a fake installer (no network) and scripted answers of the engine's CUDA check (test/engine/gpu-probe.test.ts
// runs the real one): nothing is downloaded before the confirmation, a cancel is quiet, a failure keeps the
// installer's message, a build that cannot run is never offered, and only "Use CUDA" changes the setting.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {afterEach, beforeEach, describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import type {CudaInstallCheck} from "../../common/engine-protocol.js";
import {listInstalledBackends, writeBackendManifest, type BackendManifest} from "../../common/gpu-backends/backend-manifest.js";
import {
    gpuBackendFolderName,
    GpuBackendInstallError,
    type GpuBackendInstallProgress,
    type InstallGpuBackendOptions,
    type InstallGpuBackendResult
} from "../../common/gpu-backends/install-backend.js";
import {
    CUDA_12_PACKAGE,
    CUDA_PACKAGE,
    createProgressReporter,
    cuda12Confirmation,
    cudaConfirmation,
    cudaVerdict,
    DOWNLOAD_CUDA_12,
    enableCuda,
    findMatchingCudaInstall,
    formatMegabytes,
    INSTALL,
    installedBytes,
    isCancelledInstall,
    isCudaPlatform,
    keepLabel,
    NPM_REGISTRY_URL,
    readBundledNodeLlamaCppVersion,
    REINSTALL,
    unsupportedPlatformMessage,
    USE_CUDA,
    workspaceOverrideWarning,
    type CudaInstaller,
    type EnableCudaUi,
    type GpuSettingState,
    type ProgressUpdate
} from "../../extension/commands/enable-cuda-command.js";
import {NativeBuildMissingError} from "../../extension/errors.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

let scratch: string;
beforeEach(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-enable-cuda-"));
});
afterEach(() => {
    fs.rmSync(scratch, {recursive: true, force: true});
});

/** an installed extension folder whose bundled node-llama-cpp has `version` */
function extensionFolder(version: unknown): string {
    const folder = path.join(scratch, "extension");
    fs.mkdirSync(path.join(folder, "node_modules", "node-llama-cpp"), {recursive: true});
    fs.writeFileSync(path.join(folder, "node_modules", "node-llama-cpp", "package.json"), JSON.stringify({name: "node-llama-cpp", version}));
    return folder;
}

function manifest(version: string, overrides: Partial<BackendManifest> = {}): BackendManifest {
    return {
        backend: "cuda",
        package: CUDA_PACKAGE,
        version,
        llamaCppRelease: "b6000",
        files: ["libggml-cuda.so", "_nlcBuildMetadata.json"],
        installedAt: "2025-06-01T10:00:00.000Z",
        ...overrides
    };
}

/** a complete install as the installer leaves it: the files, then the manifest */
function writeInstall(backendsDirectory: string, folderName: string, content: BackendManifest, sizes = [3_000_000, 200]): string {
    const directory = path.join(backendsDirectory, folderName);
    fs.mkdirSync(directory, {recursive: true});
    content.files.forEach((file, index) => {
        fs.mkdirSync(path.dirname(path.join(directory, file)), {recursive: true});
        fs.writeFileSync(path.join(directory, file), "");
        fs.truncateSync(path.join(directory, file), sizes[index] ?? 1); // sparse: the size without the writing
    });
    writeBackendManifest(directory, content);
    return directory;
}

describe("platform", () => {
    test("only Linux x64 has the package", () => {
        assert.equal(isCudaPlatform("linux", "x64"), true);
        assert.equal(isCudaPlatform("linux", "arm64"), false);
        assert.equal(isCudaPlatform("darwin", "arm64"), false);
        assert.equal(isCudaPlatform("win32", "x64"), false);
    });

    test("elsewhere the message says CUDA comes with a build for that platform, and that nothing was downloaded", () => {
        const windows = unsupportedPlatformMessage("win32", "x64");
        assert.match(windows, /Windows x64/);
        assert.match(windows, /CUDA comes with a build of Layer Dial for that platform/);
        assert.match(windows, /Nothing was downloaded/);
        assert.match(unsupportedPlatformMessage("linux", "arm64"), /Linux arm64.*build of Layer Dial for that platform/);
        const mac = unsupportedPlatformMessage("darwin", "arm64");
        assert.match(mac, /macOS arm64/);
        assert.match(mac, /Metal.*macOS build of Layer Dial/);
    });
});

describe("the version to install", () => {
    test("comes from the extension's bundled node-llama-cpp", () => {
        assert.equal(readBundledNodeLlamaCppVersion(extensionFolder("3.22.1")), "3.22.1");
        assert.equal(readBundledNodeLlamaCppVersion(extensionFolder("3.23.0-beta.1")), "3.23.0-beta.1");
        const pinned = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {dependencies: Record<string, string>}).dependencies[
            "node-llama-cpp"
        ];
        assert.equal(readBundledNodeLlamaCppVersion(root), pinned, "the dev checkout reads its own node_modules");
    });

    test("a missing or unusable package.json is a broken install, named with its path", () => {
        assert.throws(
            () => readBundledNodeLlamaCppVersion(path.join(scratch, "nowhere")),
            (error: unknown) =>
                error instanceof NativeBuildMissingError &&
                /nowhere.*node-llama-cpp.*package\.json/.test(error.message) &&
                /Reinstall the Layer Dial extension/.test(error.message)
        );
        assert.throws(() => readBundledNodeLlamaCppVersion(extensionFolder(42)), NativeBuildMissingError);
        assert.throws(() => readBundledNodeLlamaCppVersion(extensionFolder("../../etc")), /names no node-llama-cpp version/);
    });
});

describe("an existing install", () => {
    test("matches only a complete CUDA install of this version in the installer's folder", () => {
        const backends = path.join(scratch, "backends");
        const folder = gpuBackendFolderName("cuda", "3.22.1", "linux", "x64");
        assert.equal(findMatchingCudaInstall(listInstalledBackends(backends), "3.22.1", folder), undefined, "no backends folder yet");

        writeInstall(backends, gpuBackendFolderName("cuda", "3.21.0", "linux", "x64"), manifest("3.21.0"));
        fs.mkdirSync(path.join(backends, folder), {recursive: true}); // an install that never finished: no manifest
        fs.mkdirSync(path.join(backends, ".partial-1-abc"), {recursive: true});
        assert.equal(findMatchingCudaInstall(listInstalledBackends(backends), "3.22.1", folder), undefined);

        const directory = writeInstall(backends, folder, manifest("3.22.1"));
        assert.equal(findMatchingCudaInstall(listInstalledBackends(backends), "3.22.1", folder)?.directory, directory);
        assert.equal(findMatchingCudaInstall(listInstalledBackends(backends), "3.22.2", gpuBackendFolderName("cuda", "3.22.2", "linux", "x64")), undefined);
    });

    test("a manifest that disagrees with its folder's name is not a match", () => {
        const folder = gpuBackendFolderName("cuda", "3.22.1", "linux", "x64");
        const installs = [
            {directory: path.join(scratch, folder), manifest: manifest("3.21.0")},
            {directory: path.join(scratch, folder), manifest: manifest("3.22.1", {backend: "vulkan"})},
            {directory: path.join(scratch, folder), manifest: manifest("3.22.1", {package: "@node-llama-cpp/linux-x64-vulkan"})},
            {directory: path.join(scratch, "elsewhere"), manifest: manifest("3.22.1")}
        ];
        assert.equal(findMatchingCudaInstall(installs, "3.22.1", folder), undefined);
    });

    test("its size is the sum of the files its manifest lists", () => {
        const directory = writeInstall(scratch, "cuda", manifest("3.22.1", {files: ["libggml-cuda.so", "fallback/libggml-cuda.so"]}), [1000, 0]);
        assert.equal(installedBytes(directory, ["libggml-cuda.so"]), 1000);
        fs.mkdirSync(path.join(directory, "fallback"), {recursive: true});
        fs.writeFileSync(path.join(directory, "fallback", "libggml-cuda.so"), Buffer.alloc(500));
        assert.equal(installedBytes(directory, ["libggml-cuda.so", "fallback/libggml-cuda.so", "gone.so"]), 1500);
        assert.equal(installedBytes(directory, ["gone.so"]), undefined);
    });
});

describe("texts", () => {
    test("megabytes: one decimal below 10 MB, whole ones above", () => {
        assert.equal(formatMegabytes(0), "0.0 MB");
        assert.equal(formatMegabytes(400_000), "0.4 MB");
        assert.equal(formatMegabytes(9_900_000), "9.9 MB");
        assert.equal(formatMegabytes(9_960_000), "10 MB");
        assert.equal(formatMegabytes(37_400_000), "37 MB");
        assert.equal(formatMegabytes(145_123_456), "145 MB");
        assert.equal(formatMegabytes(158_600_000), "159 MB");
    });

    test("the confirmation names the package, the registry, the sizes and the CUDA 13 requirement", () => {
        const {message, detail, items} = cudaConfirmation({version: "3.22.1", registryUrl: NPM_REGISTRY_URL, backendsDirectory: "/storage/backends"});
        assert.match(message, /download the CUDA backend\?/);
        assert.ok(detail.includes("@node-llama-cpp/linux-x64-cuda@3.22.1"), detail);
        assert.ok(detail.includes("https://registry.npmjs.org"), detail);
        assert.match(detail, /about 145 MB to download, 159 MB installed in \/storage\/backends/);
        assert.match(detail, /NVIDIA driver and the CUDA 13 runtime \(libcudart\.so\.13, libcublas\.so\.13\)/);
        assert.deepEqual(items, [INSTALL]);
    });

    test("with a matching install it says so and offers Reinstall or Use CUDA, still naming what a reinstall downloads", () => {
        const existing = {directory: "/storage/backends/cuda-3.22.1-linux-x64", manifest: manifest("3.22.1")};
        const {message, detail, items} = cudaConfirmation({version: "3.22.1", registryUrl: NPM_REGISTRY_URL, backendsDirectory: "/storage/backends", existing});
        assert.match(message, /already installed/);
        assert.match(detail, /installed on 2025-06-01 in \/storage\/backends\/cuda-3\.22\.1-linux-x64/);
        assert.ok(detail.includes("@node-llama-cpp/linux-x64-cuda@3.22.1 from the npm registry (https://registry.npmjs.org)"), detail);
        assert.match(detail, /145 MB.*159 MB/);
        assert.match(detail, /libcudart\.so\.13, libcublas\.so\.13/);
        assert.deepEqual(items, [REINSTALL, USE_CUDA]);
    });

    test("keeping the setting names it; a workspace value that hides the user setting is pointed out", () => {
        assert.equal(keepLabel({value: "auto"}), "Keep auto");
        assert.equal(keepLabel({value: "vulkan"}), "Keep vulkan");
        assert.equal(workspaceOverrideWarning({value: "cuda"}), undefined);
        assert.equal(workspaceOverrideWarning({value: "cuda", workspaceValue: "cuda"}), undefined);
        assert.match(workspaceOverrideWarning({value: "cpu", workspaceValue: "cpu"}) ?? "", /"cpu" in this workspace's settings/);
    });
});

describe("progress", () => {
    const step = (phase: GpuBackendInstallProgress["phase"], receivedBytes = 0, totalBytes?: number): GpuBackendInstallProgress => ({
        phase,
        receivedBytes,
        totalBytes,
        package: CUDA_PACKAGE
    });

    test("megabytes received of the total, with increments that add up to 100", () => {
        const next = createProgressReporter();
        const updates: ProgressUpdate[] = [];
        const push = (update: ProgressUpdate | undefined) => update !== undefined && updates.push(update);
        push(next(step("metadata")));
        for (let received = 0; received <= 145_000_000; received += 65_536) push(next(step("download", received, 145_000_000)));
        push(next(step("download", 145_000_000, 145_000_000)));
        push(next(step("verify", 145_000_000)));
        push(next(step("unpack", 1_000_000)));
        push(next(step("unpack", 2_000_000)));

        assert.match(updates[0].message ?? "", /asking the npm registry for @node-llama-cpp\/linux-x64-cuda/);
        const downloads = updates.filter((update) => / of 145 MB$/.test(update.message ?? ""));
        assert.equal(downloads[0].message, "0.0 MB of 145 MB");
        assert.equal(downloads.at(-1)?.message, "145 MB of 145 MB");
        // one update per shown value (0.0–9.9 MB in tenths, then whole megabytes), and one more for the end,
        // which completes the bar even when its text is the one already shown
        const beforeEnd = downloads.slice(0, -1);
        assert.equal(new Set(beforeEnd.map((update) => update.message)).size, beforeEnd.length);
        assert.ok((downloads.at(-1)?.increment ?? 0) > 0);
        assert.ok(downloads.length < 300, `${downloads.length} updates`);
        const total = updates.reduce((sum, update) => sum + (update.increment ?? 0), 0);
        assert.ok(Math.abs(total - 100) < 1e-9, `increments add up to ${total}`);
        assert.ok(updates.every((update) => (update.increment ?? 0) >= 0));
        assert.deepEqual(
            updates.slice(-2).map((update) => update.message),
            ["checking the download against the registry's integrity…", "unpacking…"]
        );
    });

    test("two packages share the bar: a kept one fills its half at once, a download the other half", () => {
        const next = createProgressReporter(2);
        assert.deepEqual(next(step("keep", 158_600_000)), {message: `keeping the installed ${CUDA_PACKAGE}…`, increment: 50});
        assert.equal(next(step("keep", 158_601_000)), undefined);
        const updates: ProgressUpdate[] = [];
        for (let received = 0; received <= 177_000_000; received += 1_000_000) {
            const update = next({phase: "download", receivedBytes: received, totalBytes: 177_000_000, package: CUDA_12_PACKAGE});
            if (update !== undefined) updates.push(update);
        }
        assert.equal(updates.at(-1)?.message, "177 MB of 177 MB");
        const total = updates.reduce((sum, update) => sum + (update.increment ?? 0), 0);
        assert.ok(Math.abs(total - 50) < 1e-9, `the download adds ${total}`);
    });

    test("two downloads: the first ends at half the bar, both at all of it", () => {
        const next = createProgressReporter(2);
        let total = 0;
        const add = (update: ProgressUpdate | undefined) => (total += update?.increment ?? 0);
        for (const received of [0, 72_500_000, 145_000_000]) add(next(step("download", received, 145_000_000)));
        assert.ok(Math.abs(total - 50) < 1e-9, `after the first download: ${total}`);
        for (const received of [0, 177_000_000]) add(next({phase: "download", receivedBytes: received, totalBytes: 177_000_000, package: CUDA_12_PACKAGE}));
        assert.ok(Math.abs(total - 100) < 1e-9, `after both: ${total}`);
    });

    test("without a Content-Length: megabytes received, no increments", () => {
        const next = createProgressReporter();
        assert.deepEqual(next(step("download", 12_000_000)), {message: "12 MB received"});
        assert.equal(next(step("download", 12_100_000)), undefined);
        assert.deepEqual(next(step("download", 13_000_000)), {message: "13 MB received"});
    });
});

describe("cancel", () => {
    test("the installer's cancel is told from its failures", () => {
        assert.equal(isCancelledInstall(new GpuBackendInstallError("cancelled", "cancelled")), true);
        assert.equal(isCancelledInstall(new GpuBackendInstallError("offline", "offline")), false);
        assert.equal(isCancelledInstall(new Error("cancelled")), false);
        assert.equal(isCancelledInstall("cancelled"), false);
    });
});

describe("the check's verdict", () => {
    test("the first build that runs is the one used; a build passed over before it is named with its reason", () => {
        const plain = cudaVerdict([runs("cuda")]);
        assert.equal(plain.runs, true);
        assert.equal(plain.text, "CUDA runs on NVIDIA H200.");
        const cuda12 = cudaVerdict([failsOnDevice("cuda"), runs("cuda-12")]);
        assert.ok(cuda12.runs && cuda12.check.build === "cuda-12");
        assert.equal(cuda12.text, `CUDA runs on NVIDIA H200 with node-llama-cpp's CUDA 12 build (the CUDA build cannot run here: ${H200_FAILURE}).`);
        const two = cudaVerdict([{...runs("cuda"), deviceNames: ["NVIDIA H200", "NVIDIA H200"]}]);
        assert.equal(two.text, "CUDA runs on 2 devices: NVIDIA H200, NVIDIA H200.");
    });

    test("the CUDA 12 build is offered only for a build that found a device, and only while it is not installed", () => {
        assert.deepEqual(cudaVerdict([failsOnDevice("cuda")]), {
            runs: false,
            text: `CUDA cannot run here. The CUDA build: ${H200_FAILURE}.`,
            offerCuda12: true
        });
        assert.equal((cudaVerdict([noDevice("cuda")]) as {offerCuda12: boolean}).offerCuda12, false);
        assert.equal((cudaVerdict([failsOnDevice("cuda"), failsOnDevice("cuda-12", "x")]) as {offerCuda12: boolean}).offerCuda12, false);
        assert.deepEqual(cudaVerdict([]), {runs: false, text: "No CUDA build is installed.", offerCuda12: false});
    });

    test("the CUDA 12 build's confirmation names its download, its size, the folder, the CUDA build kept, and the CUDA 12 runtime", () => {
        const {message, detail, items} = cuda12Confirmation({version: "3.22.1", registryUrl: NPM_REGISTRY_URL, backendsDirectory: "/storage/backends"});
        assert.match(message, /CUDA 12 build\?$/);
        assert.ok(detail.includes(`${CUDA_12_PACKAGE}@3.22.1 (about 177 MB, 375 MB installed)`));
        assert.ok(detail.includes("from the npm registry (https://registry.npmjs.org) into /storage/backends, and keep the CUDA build installed there"));
        assert.ok(detail.includes(`${CUDA_PACKAGE}@3.22.1 again (about 145 MB) only if the registry now serves another file`));
        assert.match(detail, /integrity/);
        assert.deepEqual(items, [INSTALL]);
    });
});

// --- the flow ---

type Event =
    | {type: "inform"; message: string; items: string[]}
    | {type: "warn"; message: string; items: string[]}
    | {type: "check"; title: string}
    | {type: "confirm"; message: string; detail: string; items: string[]}
    | {type: "progress"; title: string}
    | {type: "report"; update: ProgressUpdate}
    | {type: "setGpu"; value: string}
    | {type: "loadInstaller"}
    | {type: "install"; options: InstallGpuBackendOptions};

type Script = {
    /** the answer to the modal confirmation; a list answers them in turn (the CUDA 12 build has its own) */
    confirm?: string | (string | undefined)[];
    /** the answer to the "Use it now?" notification */
    afterInstall?: string;
    /** the answer to a warning that offers something (the CUDA 12 build) */
    afterWarning?: string;
    /** what the engine's check answers, call by call; by default one CUDA build that runs on an NVIDIA H200 */
    checks?: CudaInstallCheck[][];
    setting?: GpuSettingState;
    /** what the fake installer does once called */
    install?: (options: InstallGpuBackendOptions) => Promise<InstallGpuBackendResult>;
    /** layerDial.npmRegistry as the user set it; by default the npm registry */
    registry?: string;
};

function harness(script: Script) {
    const events: Event[] = [];
    let setting: GpuSettingState = script.setting ?? {value: "auto"};
    const cancel = new AbortController();
    const confirmations = Array.isArray(script.confirm) ? [...script.confirm] : [script.confirm];
    const checks = [...(script.checks ?? [[runs("cuda")]])];
    const ui: EnableCudaUi = {
        inform: async (message, ...items) => {
            events.push({type: "inform", message, items});
            return items.length > 0 ? script.afterInstall : undefined;
        },
        warn: async (message, ...items) => {
            events.push({type: "warn", message, items});
            return items.length > 0 ? script.afterWarning : undefined;
        },
        confirm: async (message, detail, ...items) => {
            events.push({type: "confirm", message, detail, items});
            return confirmations.length > 1 ? confirmations.shift() : confirmations[0];
        },
        withProgress: async (title, task) => {
            events.push({type: "progress", title});
            return await task((update) => events.push({type: "report", update}), cancel.signal);
        },
        whileWorking: async (title, task) => {
            events.push({type: "check", title});
            return await task();
        },
        gpuSetting: () => setting,
        npmRegistry: () => script.registry ?? NPM_REGISTRY_URL,
        setGpu: async (value) => {
            events.push({type: "setGpu", value});
            setting = {...setting, value};
        }
    };
    const installer: CudaInstaller = {
        gpuBackendFolderName,
        installGpuBackend: async (options) => {
            events.push({type: "install", options});
            if (script.install === undefined) throw new Error("the test did not expect an install");
            return await script.install(options);
        }
    };
    const backendsDirectory = path.join(scratch, "storage", "backends");
    const run = (platform: NodeJS.Platform = "linux", arch = "x64") =>
        enableCuda({
            extensionPath: extensionFolder("3.22.1"),
            backendsDirectory,
            ui,
            log: {info: () => undefined},
            platform,
            arch,
            loadInstaller: async () => {
                events.push({type: "loadInstaller"});
                return installer;
            },
            checkCuda: async () => {
                const next = checks.shift();
                if (next === undefined) throw new Error("the test did not expect another check");
                return {installs: next};
            }
        });
    return {events, run, cancel, backendsDirectory, types: () => events.map((event) => event.type)};
}

/** a build's check that decoded on an H200 */
function runs(build: CudaInstallCheck["build"]): CudaInstallCheck {
    const directory = `/storage/backends/cuda-3.22.1-linux-x64${build === "cuda-12" ? "/fallback" : ""}`;
    return {directory, build, ok: true, noDevice: false, deviceNames: ["NVIDIA H200"], seconds: 4.2};
}

/** the CUDA build's check on the H200 with driver 580 (the reason as the loader words it) */
const H200_FAILURE =
    "the CUDA backend in /storage/backends/cuda-3.22.1-linux-x64 has a device but cannot run on it: its check died of SIGABRT " +
    "(CUDA error: the provided PTX was compiled with an unsupported toolchain.). Update the NVIDIA driver";
function failsOnDevice(build: CudaInstallCheck["build"], reason = H200_FAILURE): CudaInstallCheck {
    return {...runs(build), ok: false, deviceNames: [], reason};
}
function noDevice(build: CudaInstallCheck["build"]): CudaInstallCheck {
    return {...runs(build), ok: false, noDevice: true, deviceNames: [], reason: "no CUDA device found (an NVIDIA driver …)", seconds: 0};
}

/** what the real installer leaves: the files and the manifest, in the folder it names */
async function fakeInstall(options: InstallGpuBackendOptions): Promise<InstallGpuBackendResult> {
    options.onProgress?.({phase: "metadata", receivedBytes: 0, package: CUDA_PACKAGE});
    for (const received of [0, 50_000_000, 100_000_000, 145_000_000])
        options.onProgress?.({phase: "download", receivedBytes: received, totalBytes: 145_000_000, package: CUDA_PACKAGE});
    const content = manifest(options.version ?? "?");
    const directory = writeInstall(
        options.targetRoot,
        gpuBackendFolderName("cuda", options.version ?? "?", options.platform, options.arch),
        content,
        [158_600_000, 1000]
    );
    return {directory, manifest: content, downloadedBytes: 145_000_000, keptPackages: []};
}

describe("Enable CUDA", () => {
    test("off Linux x64 it only informs: no installer, no confirmation, no download", async () => {
        const {run, events, types} = harness({});
        await run("darwin", "arm64");
        assert.deepEqual(types(), ["inform"]);
        assert.match((events[0] as {message: string}).message, /macOS/);
        await run("win32", "x64");
        assert.deepEqual(types(), ["inform", "inform"]);
    });

    test("declining the confirmation downloads nothing and changes nothing", async () => {
        const {run, events, types, backendsDirectory} = harness({confirm: undefined});
        await run();
        assert.deepEqual(types(), ["loadInstaller", "confirm"]);
        const confirm = events[1] as Extract<Event, {type: "confirm"}>;
        assert.ok(confirm.detail.includes("@node-llama-cpp/linux-x64-cuda@3.22.1"));
        assert.ok(confirm.detail.includes(backendsDirectory));
        assert.deepEqual(confirm.items, [INSTALL]);
        assert.equal(fs.existsSync(backendsDirectory), false);
    });

    test("confirmed: installs the bundled version from the npm registry into the backends folder, checks it, then offers to use it", async () => {
        const {run, events, types, backendsDirectory, cancel} = harness({confirm: INSTALL, afterInstall: USE_CUDA, install: fakeInstall});
        await run();
        assert.deepEqual(
            types().filter((type) => type !== "report"),
            ["loadInstaller", "confirm", "progress", "install", "check", "inform", "setGpu"]
        );

        const {options} = events.find((event) => event.type === "install") as Extract<Event, {type: "install"}>;
        assert.equal(options.backend, "cuda");
        assert.equal(options.version, "3.22.1", "the version is passed explicitly, from the extension's node_modules");
        assert.equal(options.registryUrl, "https://registry.npmjs.org");
        assert.equal(options.targetRoot, backendsDirectory);
        assert.equal(options.includeFallback, undefined);
        assert.equal(options.signal, cancel.signal, "the progress notification's cancel aborts the install");

        const reports = events.filter((event) => event.type === "report").map((event) => (event as Extract<Event, {type: "report"}>).update);
        assert.deepEqual(reports.map((update) => update.message).slice(1), ["0.0 MB of 145 MB", "50 MB of 145 MB", "100 MB of 145 MB", "145 MB of 145 MB"]);
        assert.ok(Math.abs(reports.reduce((sum, update) => sum + (update.increment ?? 0), 0) - 100) < 1e-9);

        const done = events.find((event) => event.type === "inform") as Extract<Event, {type: "inform"}>;
        assert.equal(done.message, "Layer Dial: CUDA backend installed (159 MB). CUDA runs on NVIDIA H200. Use it now?");
        assert.deepEqual(done.items, [USE_CUDA, "Keep auto"]);
        assert.deepEqual(events.at(-1), {type: "setGpu", value: "cuda"});
        assert.ok(fs.existsSync(path.join(backendsDirectory, "cuda-3.22.1-linux-x64", "layer-dial-backend.json")));
    });

    test("layerDial.npmRegistry: a mirror is named in the confirmation and downloaded from; a value that is no http(s) address stops before any question", async () => {
        const mirror = harness({confirm: INSTALL, install: fakeInstall, registry: " https://npm.mirror.example/repository/npm/ "});
        await mirror.run();
        const confirm = mirror.events.find((event) => event.type === "confirm") as Extract<Event, {type: "confirm"}>;
        assert.ok(confirm.detail.includes("from the npm registry (https://npm.mirror.example/repository/npm/)"), confirm.detail);
        const {options} = mirror.events.find((event) => event.type === "install") as Extract<Event, {type: "install"}>;
        assert.equal(options.registryUrl, "https://npm.mirror.example/repository/npm/");

        fs.rmSync(mirror.backendsDirectory, {recursive: true, force: true}); // nothing installed: a download is all there is to offer
        const wrong = harness({confirm: INSTALL, install: fakeInstall, registry: "npm.mirror.example"});
        await wrong.run();
        assert.deepEqual(wrong.types(), ["loadInstaller", "warn"]);
        assert.equal(
            (wrong.events[1] as Extract<Event, {type: "warn"}>).message,
            'Layer Dial: layerDial.npmRegistry is "npm.mirror.example", not an http(s) address, so nothing was downloaded. ' +
                "Set it to your npm registry or mirror (the default is https://registry.npmjs.org) in your user settings (in a remote window, its Remote settings), then run Layer Dial: Enable CUDA again."
        );
    });

    test("a registry setting that is no http(s) address still lets an installed build be used, and refuses Reinstall", async () => {
        const use = harness({confirm: USE_CUDA, registry: "file:///mirror"});
        writeInstall(use.backendsDirectory, "cuda-3.22.1-linux-x64", manifest("3.22.1"));
        await use.run();
        assert.deepEqual(use.types(), ["loadInstaller", "confirm", "check", "setGpu", "inform"]);

        const reinstall = harness({confirm: REINSTALL, install: fakeInstall, registry: "file:///mirror"});
        writeInstall(reinstall.backendsDirectory, "cuda-3.22.1-linux-x64", manifest("3.22.1"));
        await reinstall.run();
        assert.deepEqual(reinstall.types(), ["loadInstaller", "confirm", "warn"]);
        assert.match(
            (reinstall.events[2] as Extract<Event, {type: "warn"}>).message,
            /^Layer Dial: layerDial\.npmRegistry is "file:\/\/\/mirror", not an http\(s\) address/
        );
    });

    test("keeping the current setting leaves it alone", async () => {
        const {run, events, types} = harness({confirm: INSTALL, afterInstall: "Keep vulkan", setting: {value: "vulkan"}, install: fakeInstall});
        await run();
        assert.ok(!types().includes("setGpu"));
        assert.deepEqual((events.at(-1) as Extract<Event, {type: "inform"}>).items, [USE_CUDA, "Keep vulkan"]);
    });

    test("already on cuda: installed, and no question", async () => {
        const {run, events, types} = harness({confirm: INSTALL, setting: {value: "cuda"}, install: fakeInstall});
        await run();
        assert.ok(!types().includes("setGpu"));
        const done = events.at(-1) as Extract<Event, {type: "inform"}>;
        assert.match(done.message, /installed \(159 MB\)\. CUDA runs on NVIDIA H200\. layerDial\.gpu is already cuda/);
        assert.deepEqual(done.items, []);
    });

    test("a cancel says nothing was installed and is no error", async () => {
        const {run, events, types, cancel} = harness({
            confirm: INSTALL,
            install: async (options) => {
                cancel.abort(); // the user presses Cancel on the notification mid-download
                assert.equal(options.signal?.aborted, true);
                throw new GpuBackendInstallError(
                    "The CUDA backend install was cancelled; nothing was installed and any previous install is unchanged.",
                    "cancelled"
                );
            }
        });
        await run();
        assert.deepEqual(types(), ["loadInstaller", "confirm", "progress", "install", "inform"]);
        assert.deepEqual(events.at(-1), {type: "inform", message: "Layer Dial: CUDA download cancelled; nothing was installed.", items: []});
    });

    test("a failure reaches the command's error reporting with the installer's message", async () => {
        const failure = new GpuBackendInstallError(
            "Could not reach the npm registry at https://registry.npmjs.org (ENOTFOUND). Check the connection or proxy, " +
                "then run Layer Dial: Enable CUDA again.",
            "offline"
        );
        const {run, types} = harness({
            confirm: INSTALL,
            install: async () => {
                throw failure;
            }
        });
        await assert.rejects(run(), (error: unknown) => error === failure);
        assert.ok(!types().includes("setGpu"));
        assert.ok(!types().includes("inform"));
    });

    test("a matching install: Use CUDA checks it and sets the setting without downloading; a workspace value is pointed out", async () => {
        const {run, events, types, backendsDirectory} = harness({confirm: USE_CUDA, setting: {value: "cpu", workspaceValue: "cpu"}});
        writeInstall(backendsDirectory, "cuda-3.22.1-linux-x64", manifest("3.22.1"));
        await run();
        assert.deepEqual(types(), ["loadInstaller", "confirm", "check", "setGpu", "warn", "inform"]);
        const confirm = events[1] as Extract<Event, {type: "confirm"}>;
        assert.match(confirm.message, /already installed/);
        assert.deepEqual(confirm.items, [REINSTALL, USE_CUDA]);
        assert.match((events[4] as Extract<Event, {type: "warn"}>).message, /"cpu" in this workspace's settings/);
        assert.equal((events[5] as Extract<Event, {type: "inform"}>).message, "Layer Dial: CUDA runs on NVIDIA H200. layerDial.gpu is now cuda.");
    });

    test("a matching install that cannot run: Use CUDA leaves the setting alone and says why", async () => {
        const {run, events, types, backendsDirectory} = harness({confirm: USE_CUDA, checks: [[noDevice("cuda")]]});
        writeInstall(backendsDirectory, "cuda-3.22.1-linux-x64", manifest("3.22.1"));
        await run();
        assert.deepEqual(types(), ["loadInstaller", "confirm", "check", "warn"]);
        const warning = events[3] as Extract<Event, {type: "warn"}>;
        assert.match(warning.message, /^Layer Dial: CUDA cannot run here\. The CUDA build: no CUDA device found .*layerDial\.gpu stays auto\.$/);
        assert.deepEqual(warning.items, [], "no GPU: the CUDA 12 build would not find one either");
    });

    test("a matching install: Reinstall downloads it again", async () => {
        const {run, types, backendsDirectory} = harness({confirm: REINSTALL, afterInstall: undefined, install: fakeInstall});
        writeInstall(backendsDirectory, "cuda-3.22.1-linux-x64", manifest("3.22.1"));
        await run();
        assert.deepEqual(
            types().filter((type) => type !== "report"),
            ["loadInstaller", "confirm", "progress", "install", "check", "inform"]
        );
    });

    test("installed, but it cannot run on the GPU it found (the H200): says why, offers the CUDA 12 build, then uses the build that runs", async () => {
        const {run, events, types, backendsDirectory} = harness({
            confirm: [INSTALL, INSTALL],
            afterWarning: DOWNLOAD_CUDA_12,
            afterInstall: USE_CUDA,
            install: fakeInstall,
            checks: [[failsOnDevice("cuda")], [failsOnDevice("cuda"), runs("cuda-12")]]
        });
        await run();
        assert.deepEqual(
            types().filter((type) => type !== "report"),
            ["loadInstaller", "confirm", "progress", "install", "check", "warn", "confirm", "progress", "install", "check", "inform", "setGpu"]
        );
        const warning = events.find((event) => event.type === "warn") as Extract<Event, {type: "warn"}>;
        assert.equal(
            warning.message,
            `Layer Dial: CUDA backend installed (159 MB). CUDA cannot run here. The CUDA build: ${H200_FAILURE}. layerDial.gpu stays auto.`
        );
        assert.deepEqual(warning.items, [DOWNLOAD_CUDA_12]);

        const confirmations = events.filter((event) => event.type === "confirm") as Extract<Event, {type: "confirm"}>[];
        assert.equal(confirmations[1]!.message, "Layer Dial: download node-llama-cpp's CUDA 12 build?");
        assert.ok(confirmations[1]!.detail.includes(`${CUDA_12_PACKAGE}@3.22.1 (about 177 MB, 375 MB installed)`));
        assert.ok(confirmations[1]!.detail.includes(backendsDirectory));
        assert.match(confirmations[1]!.detail, /CUDA 12 runtime \(libcudart\.so\.12, libcublas\.so\.12\)/);

        const installs = events.filter((event) => event.type === "install") as Extract<Event, {type: "install"}>[];
        assert.equal(installs[0]!.options.includeFallback, undefined);
        assert.equal(installs[1]!.options.includeFallback, true, "the second install brings the CUDA 12 build");
        assert.equal(installs[0]!.options.keepInstalledPackages, undefined, "a first install or a reinstall downloads everything");
        assert.equal(installs[1]!.options.keepInstalledPackages, true, "the CUDA build installed before is kept");

        const done = events.at(-2) as Extract<Event, {type: "inform"}>;
        assert.equal(
            done.message,
            "Layer Dial: CUDA backend installed with its CUDA 12 build (159 MB). CUDA runs on NVIDIA H200 with node-llama-cpp's CUDA 12 build " +
                `(the CUDA build cannot run here: ${H200_FAILURE}). Use it now?`
        );
        assert.deepEqual(events.at(-1), {type: "setGpu", value: "cuda"});
    });

    test("the CUDA 12 build declined, or failing too: nothing more is downloaded or offered, and the setting stays", async () => {
        const declined = harness({confirm: [INSTALL, undefined], afterWarning: DOWNLOAD_CUDA_12, install: fakeInstall, checks: [[failsOnDevice("cuda")]]});
        await declined.run();
        assert.deepEqual(
            declined.types().filter((type) => type !== "report"),
            ["loadInstaller", "confirm", "progress", "install", "check", "warn", "confirm"]
        );

        const neither = harness({
            confirm: INSTALL,
            afterWarning: DOWNLOAD_CUDA_12,
            install: fakeInstall,
            checks: [[failsOnDevice("cuda")], [failsOnDevice("cuda"), noDevice("cuda-12")]]
        });
        await neither.run();
        const warnings = neither.events.filter((event) => event.type === "warn") as Extract<Event, {type: "warn"}>[];
        assert.equal(warnings.length, 2);
        assert.match(warnings[1]!.message, /The CUDA build: .*unsupported toolchain.*; the CUDA 12 build: no CUDA device found/);
        assert.deepEqual(warnings[1]!.items, [], "the CUDA 12 build is installed: nothing more to offer");
        assert.ok(!neither.types().includes("setGpu"));
    });

    test("on cuda already and it cannot run: the warning says the engine will stop until the setting changes", async () => {
        const {run, events} = harness({confirm: INSTALL, setting: {value: "cuda"}, install: fakeInstall, checks: [[noDevice("cuda")]]});
        await run();
        assert.match(
            (events.at(-1) as Extract<Event, {type: "warn"}>).message,
            /layerDial\.gpu is cuda, so the engine stops with this reason until the setting changes/
        );
    });
});
