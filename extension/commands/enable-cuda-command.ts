// Layer Dial: Enable CUDA. Downloads node-llama-cpp's prebuilt CUDA backend (Linux x64 only) into the
// extension's storage, where the engine host's loader finds it, after a modal confirmation that says
// what is downloaded from where, how big it is and what it needs; nothing touches the network before
// the user agrees. Then it checks that the backend runs here (the engine host runs each installed build
// in a process of its own) before it offers to use it: on an H200 with driver 580, node-llama-cpp
// 3.22.1's CUDA 13 build found the GPU and aborted at its first kernel. When a build has a device but
// cannot run on it, it offers node-llama-cpp's CUDA 12 build, which the engine tries next.
// No runtime 'vscode' here (only its types): the editor's API comes in through EnableCudaUi, so the
// texts, the checks and the flow itself are unit-tested without an editor.
import fs from "node:fs";
import path from "node:path";
import type * as vscode from "vscode";
import {listInstalledBackends, type BackendManifest} from "../../common/gpu-backends/backend-manifest.js";
import type {CudaCheckResult, CudaInstallCheck} from "../../common/engine-protocol.js";
import type {GpuBackendInstallProgress} from "../../common/gpu-backends/install-backend.js";
import {isRegistryAddress} from "../../common/gpu-backends/registry-address.js";
import {NativeBuildMissingError} from "../errors.js";

export const CUDA_PACKAGE = "@node-llama-cpp/linux-x64-cuda";
/** node-llama-cpp's CUDA 12 build of the same backend (machine code for sm_50 to sm_80; the installer's fallback/) */
export const CUDA_12_PACKAGE = "@node-llama-cpp/linux-x64-cuda-ext";
/** `layerDial.npmRegistry`'s default, the installer's too */
export const NPM_REGISTRY_URL = "https://registry.npmjs.org";
/** the sizes of node-llama-cpp 3.22.1's package; later releases are about the same */
export const CUDA_DOWNLOAD_MB = 145;
export const CUDA_INSTALLED_MB = 159;
export const CUDA_12_DOWNLOAD_MB = 177;
export const CUDA_12_INSTALLED_MB = 375;

export const INSTALL = "Download and Install";
export const REINSTALL = "Reinstall";
export const USE_CUDA = "Use CUDA";
export const DOWNLOAD_CUDA_12 = "Download the CUDA 12 Build";

/** The installer, loaded on first use: the engine's installer module is not needed before this command runs. */
export type CudaInstaller = Pick<typeof import("../../common/gpu-backends/install-backend.js"), "installGpuBackend" | "gpuBackendFolderName">;

export type InstalledBackend = {directory: string; manifest: BackendManifest};

/** `layerDial.gpu` as the command needs it: the value in effect, and one set for this workspace (which the user setting does not override). */
export type GpuSettingState = {value: string; workspaceValue?: string};

export type ProgressUpdate = {message?: string; increment?: number};

/** The few editor calls the command makes (vscodeEnableCudaUi gives the real ones). */
export type EnableCudaUi = {
    /** a notification; resolves with the item chosen, or undefined when dismissed */
    inform(message: string, ...items: string[]): Promise<string | undefined>;
    /** a warning notification; resolves with the item chosen, or undefined when dismissed */
    warn(message: string, ...items: string[]): Promise<string | undefined>;
    /** a modal dialog (which has its own Cancel); resolves with the item chosen, or undefined */
    confirm(message: string, detail: string, ...items: string[]): Promise<string | undefined>;
    /** a cancellable notification with progress; cancelling aborts `signal` */
    withProgress<T>(title: string, task: (report: (update: ProgressUpdate) => void, signal: AbortSignal) => Promise<T>): Promise<T>;
    /** a notification with progress and no Cancel, for a step that ends by itself (the check has its own time limit) */
    whileWorking<T>(title: string, task: () => Promise<T>): Promise<T>;
    gpuSetting(): GpuSettingState;
    /** `layerDial.npmRegistry` from the user (or remote) settings only: a workspace must not choose where the code the engine loads comes from */
    npmRegistry(): string;
    /** sets `layerDial.gpu` in the user (global) settings; the engine session restarts itself on the change */
    setGpu(value: "cuda"): Promise<void>;
};

export type EnableCudaOptions = {
    /** context.extensionPath: its node_modules/node-llama-cpp/package.json names the version to install */
    extensionPath: string;
    /** `<globalStorage>/backends`, the folder the engine session passes to the host */
    backendsDirectory: string;
    ui: EnableCudaUi;
    log: Pick<vscode.LogOutputChannel, "info">;
    /** Defaults to `process.platform`. */
    platform?: NodeJS.Platform;
    /** Defaults to `process.arch`. */
    arch?: string;
    /** Defaults to importing the engine's installer. */
    loadInstaller?: () => Promise<CudaInstaller>;
    /** Whether each installed CUDA build runs here (the engine session's checkCuda). */
    checkCuda: () => Promise<CudaCheckResult>;
};

// --- decisions and texts (pure) ---

export function isCudaPlatform(platform: string, arch: string): boolean {
    return platform === "linux" && arch === "x64";
}

function platformLabel(platform: string, arch: string): string {
    const names: Record<string, string> = {darwin: "macOS", win32: "Windows", linux: "Linux"};
    return `${names[platform] ?? platform} ${arch}`;
}

/** What the command says everywhere but Linux x64, where it does nothing else. */
export function unsupportedPlatformMessage(platform: string, arch: string): string {
    const label = platformLabel(platform, arch);
    if (platform === "darwin")
        return (
            `Layer Dial: CUDA is for NVIDIA GPUs, which Macs do not have. On ${label}, Layer Dial runs on the GPU through Metal, ` +
            "which comes with the macOS build of Layer Dial (layerDial.gpu: metal). Nothing was downloaded."
        );
    return (
        `Layer Dial: Enable CUDA downloads the CUDA backend on Linux x64 only. On ${label}, CUDA comes with a build of Layer Dial ` +
        "for that platform. Nothing was downloaded."
    );
}

/** The version of the node-llama-cpp the extension ships (the CUDA backend must be of the same release). */
export function readBundledNodeLlamaCppVersion(extensionPath: string): string {
    const file = path.join(extensionPath, "node_modules", "node-llama-cpp", "package.json");
    let version: unknown;
    try {
        version = (JSON.parse(fs.readFileSync(file, "utf8")) as {version?: unknown}).version;
    } catch (error) {
        throw new NativeBuildMissingError(
            `Could not read the version of node-llama-cpp from ${file} (${(error as Error).message}), ` +
                "so Layer Dial cannot tell which CUDA backend matches it. Reinstall the Layer Dial extension."
        );
    }
    if (typeof version !== "string" || !/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(version))
        throw new NativeBuildMissingError(
            `${file} names no node-llama-cpp version (${JSON.stringify(version)}), ` +
                "so Layer Dial cannot tell which CUDA backend matches it. Reinstall the Layer Dial extension."
        );
    return version;
}

/** The complete CUDA install of exactly this version, in the folder the installer would put it in. */
export function findMatchingCudaInstall(installs: readonly InstalledBackend[], version: string, folderName: string): InstalledBackend | undefined {
    return installs.find(
        ({directory, manifest}) =>
            path.basename(directory) === folderName && manifest.backend === "cuda" && manifest.package === CUDA_PACKAGE && manifest.version === version
    );
}

/** 0.4 MB, 9.9 MB, 37 MB, 145 MB (decimal megabytes, as npm and the confirmation count them) */
export function formatMegabytes(bytes: number): string {
    const megabytes = bytes / 1e6;
    return `${megabytes < 9.95 ? megabytes.toFixed(1) : Math.round(megabytes)} MB`;
}

export type CudaConfirmation = {message: string; detail: string; items: string[]};

/** The modal shown before any download: what, from where, how big, what it needs; or that it is there already. */
export function cudaConfirmation(options: {version: string; registryUrl: string; backendsDirectory: string; existing?: InstalledBackend}): CudaConfirmation {
    const spec = `${CUDA_PACKAGE}@${options.version}`;
    const download = `${spec} from the npm registry (${options.registryUrl}): about ${CUDA_DOWNLOAD_MB} MB to download, ${CUDA_INSTALLED_MB} MB installed`;
    const requirement = "CUDA needs an NVIDIA driver and the CUDA 13 runtime (libcudart.so.13, libcublas.so.13) on this machine.";
    const check = "The download is checked against the registry's integrity before anything is installed.";
    if (options.existing !== undefined) {
        const when = options.existing.manifest.installedAt === undefined ? "" : ` on ${options.existing.manifest.installedAt.slice(0, 10)}`;
        return {
            message: `Layer Dial: the CUDA backend for node-llama-cpp ${options.version} is already installed.`,
            detail: `It was installed${when} in ${options.existing.directory}.\n\n${REINSTALL} downloads ${download}.\n\n${requirement}\n${check}`,
            items: [REINSTALL, USE_CUDA]
        };
    }
    return {
        message: "Layer Dial: download the CUDA backend?",
        detail: `Layer Dial will download ${download} in ${options.backendsDirectory}.\n\n${requirement}\n${check}`,
        items: [INSTALL]
    };
}

/**
 * Turns the installer's progress into notification updates: a message for each step, and for a download
 * "37 MB of 145 MB" with the percent gained since the last update. With several packages (the CUDA build
 * and its CUDA 12 build), each fills its share of the bar: by its download, or at once when the install
 * before is kept. Updates only when the text changes (a chunk is a few KB; the notification needs no more
 * than one update per megabyte) and at the end of each download.
 */
export function createProgressReporter(packageCount = 1): (progress: GpuBackendInstallProgress) => ProgressUpdate | undefined {
    let lastMessage: string | undefined;
    let reportedPercent = 0;
    /** package → the share of it done, 0 to 1 */
    const done = new Map<string, number>();
    const overallPercent = () => Math.min(100, ([...done.values()].reduce((sum, share) => sum + share, 0) / packageCount) * 100);
    return (progress) => {
        let message: string;
        let percent: number | undefined;
        let finished = false;
        switch (progress.phase) {
            case "metadata":
                message = `asking the npm registry for ${progress.package}…`;
                break;
            case "download":
                if (progress.totalBytes !== undefined && progress.totalBytes > 0) {
                    message = `${formatMegabytes(progress.receivedBytes)} of ${formatMegabytes(progress.totalBytes)}`;
                    const share = Math.min(1, progress.receivedBytes / progress.totalBytes);
                    done.set(progress.package, share);
                    percent = overallPercent();
                    finished = share === 1;
                } else message = `${formatMegabytes(progress.receivedBytes)} received`;
                break;
            case "verify":
                message = "checking the download against the registry's integrity…";
                break;
            case "unpack":
                message = "unpacking…";
                break;
            case "keep":
                message = `keeping the installed ${progress.package}…`;
                done.set(progress.package, 1);
                percent = overallPercent();
                finished = true;
                break;
        }
        // the end of a download always counts: its last megabyte may print like the one before it
        if (message === lastMessage && !(finished && percent !== undefined && percent > reportedPercent)) return undefined;
        lastMessage = message;
        if (percent === undefined || percent <= reportedPercent) return {message};
        const increment = percent - reportedPercent;
        reportedPercent = percent;
        return {message, increment};
    };
}

/** The installer's cancel, told from its failures by name and code (its class is loaded lazily, so no instanceof). */
export function isCancelledInstall(error: unknown): boolean {
    return error instanceof Error && error.name === "GpuBackendInstallError" && (error as {code?: unknown}).code === "cancelled";
}

/** the size of the files an install holds (the manifest lists them), or undefined if none can be read */
export function installedBytes(directory: string, files: readonly string[]): number | undefined {
    let total: number | undefined;
    for (const file of files) {
        try {
            total = (total ?? 0) + fs.statSync(path.join(directory, ...file.split("/"))).size;
        } catch {
            // counted as missing
        }
    }
    return total;
}

/** "Keep auto": the choice that leaves the setting as it is */
export function keepLabel(setting: GpuSettingState): string {
    return `Keep ${setting.value}`;
}

/** When this workspace sets layerDial.gpu, the user setting the command changes has no effect here; says so. */
export function workspaceOverrideWarning(setting: GpuSettingState): string | undefined {
    if (setting.workspaceValue === undefined || setting.workspaceValue === "cuda") return undefined;
    return (
        `Layer Dial: layerDial.gpu is "${setting.workspaceValue}" in this workspace's settings, which take precedence over the user setting ` +
        "that was just set to cuda. Change it there to use CUDA in this workspace."
    );
}

/** What the check of the installed builds means for the user: whether one runs, and what else can be tried. */
export type CudaVerdict = {runs: true; check: CudaInstallCheck; text: string} | {runs: false; text: string; offerCuda12: boolean};

/** "NVIDIA H200" or "2 devices: A, B" */
function devicesText(names: readonly string[]): string {
    return names.length === 1 ? names[0]! : `${names.length} devices: ${names.join(", ")}`;
}

function buildLabel(check: CudaInstallCheck): string {
    return check.build === "cuda-12" ? "the CUDA 12 build" : "the CUDA build";
}

/**
 * The builds in the engine's order: the first that runs is the one the engine will load. With none running, the
 * CUDA 12 build is offered only when a build found a device and could not run on it (a driver too old for its
 * CUDA version, or a GPU it has no machine code for) and the CUDA 12 build is not installed yet.
 */
export function cudaVerdict(checks: readonly CudaInstallCheck[]): CudaVerdict {
    const runningAt = checks.findIndex((check) => check.ok);
    if (runningAt >= 0) {
        const running = checks[runningAt]!;
        const passedOver = checks.slice(0, runningAt).map((check) => `${buildLabel(check)} cannot run here: ${check.reason ?? "no reason given"}`);
        const build = running.build === "cuda-12" ? " with node-llama-cpp's CUDA 12 build" : "";
        return {
            runs: true,
            check: running,
            text: `CUDA runs on ${devicesText(running.deviceNames)}${build}${passedOver.length > 0 ? ` (${passedOver.join("; ")})` : ""}.`
        };
    }
    if (checks.length === 0) return {runs: false, text: "No CUDA build is installed.", offerCuda12: false};
    const reasons = checks.map((check) => `${buildLabel(check)}: ${check.reason ?? "no reason given"}`).join("; ");
    const offerCuda12 = checks.some((check) => !check.noDevice) && !checks.some((check) => check.build === "cuda-12");
    return {runs: false, text: `CUDA cannot run here. ${reasons.charAt(0).toUpperCase()}${reasons.slice(1)}.`, offerCuda12};
}

/** The modal before the CUDA 12 build's download: the CUDA build installed is kept unless the registry's file changed. */
export function cuda12Confirmation(options: {version: string; registryUrl: string; backendsDirectory: string}): CudaConfirmation {
    return {
        message: "Layer Dial: download node-llama-cpp's CUDA 12 build?",
        detail:
            `Layer Dial will download ${CUDA_12_PACKAGE}@${options.version} (about ${CUDA_12_DOWNLOAD_MB} MB, ${CUDA_12_INSTALLED_MB} MB installed) ` +
            `from the npm registry (${options.registryUrl}) into ${options.backendsDirectory}, and keep the CUDA build installed there. ` +
            `It downloads ${CUDA_PACKAGE}@${options.version} again (about ${CUDA_DOWNLOAD_MB} MB) only if the registry now serves another file than the one installed.\n\n` +
            "The CUDA 12 build carries machine code for older GPUs and runs on drivers that cannot run the CUDA 13 build; " +
            "the engine tries it when the CUDA build cannot run. It needs the CUDA 12 runtime (libcudart.so.12, libcublas.so.12) on this machine.\n" +
            "The downloads are checked against the registry's integrity before anything is installed.",
        items: [INSTALL]
    };
}

// --- the command ---

export async function enableCuda(options: EnableCudaOptions): Promise<void> {
    const {ui, log} = options;
    const platform = options.platform ?? process.platform;
    const arch = options.arch ?? process.arch;
    if (!isCudaPlatform(platform, arch)) {
        void ui.inform(unsupportedPlatformMessage(platform, arch));
        return;
    }

    const registryUrl = ui.npmRegistry().trim();
    const version = readBundledNodeLlamaCppVersion(options.extensionPath);
    const installer = await (options.loadInstaller ?? loadInstaller)();
    const folderName = installer.gpuBackendFolderName("cuda", version, platform, arch);
    const existing = findMatchingCudaInstall(listInstalledBackends(options.backendsDirectory), version, folderName);
    const run: CommandRun = {options, installer, version, platform, arch, registryUrl};
    // without an install to use, there is nothing to offer but a download
    if (existing === undefined && refuseBadRegistry(run)) return;

    // always asked, whatever the command was invoked with: it is the only way to the network
    const confirmation = cudaConfirmation({version, registryUrl, backendsDirectory: options.backendsDirectory, existing});
    const choice = await ui.confirm(confirmation.message, confirmation.detail, ...confirmation.items);
    if (choice === USE_CUDA) {
        // chosen already: a build that runs is used without another question
        await checkThenOffer(run, {useWithoutAsking: true});
        return;
    }
    if (choice !== INSTALL && choice !== REINSTALL) {
        log.info("Enable CUDA: not confirmed; nothing was downloaded");
        return;
    }
    const size = await install(run, false);
    if (size !== undefined) await checkThenOffer(run, {installed: `CUDA backend installed (${size}).`});
}

/** what one run of the command works with */
type CommandRun = {options: EnableCudaOptions; installer: CudaInstaller; version: string; platform: NodeJS.Platform; arch: string; registryUrl: string};

/**
 * Warns and returns true when layerDial.npmRegistry is no http(s) address. Checked where a download would
 * start, not before: Use CUDA on an install that is there needs no registry.
 */
function refuseBadRegistry(run: CommandRun): boolean {
    if (isRegistryAddress(run.registryUrl)) return false;
    void run.options.ui.warn(
        `Layer Dial: layerDial.npmRegistry is "${run.registryUrl}", not an http(s) address, so nothing was downloaded. ` +
            `Set it to your npm registry or mirror (the default is ${NPM_REGISTRY_URL}) in your user settings (in a remote window, its Remote settings), ` +
            "then run Layer Dial: Enable CUDA again."
    );
    return true;
}

/** downloads and installs (with the CUDA 12 build when `withCuda12`); the installed size, or undefined when cancelled or refused */
async function install(run: CommandRun, withCuda12: boolean): Promise<string | undefined> {
    if (refuseBadRegistry(run)) return undefined;
    const {options, installer, version, platform, arch, registryUrl} = run;
    const {ui, log} = options;
    const what = withCuda12 ? `${CUDA_PACKAGE}@${version} with ${CUDA_12_PACKAGE}` : `${CUDA_PACKAGE}@${version}`;
    log.info(`Enable CUDA: installing ${what} from ${registryUrl} into ${options.backendsDirectory}`);
    let result: Awaited<ReturnType<CudaInstaller["installGpuBackend"]>>;
    try {
        result = await ui.withProgress(`Layer Dial: downloading the CUDA ${withCuda12 ? "12 build" : "backend"}`, (report, signal) => {
            const progressUpdate = createProgressReporter(withCuda12 ? 2 : 1);
            return installer.installGpuBackend({
                backend: "cuda",
                targetRoot: options.backendsDirectory,
                registryUrl,
                version,
                platform,
                arch,
                ...(withCuda12 ? {includeFallback: true, keepInstalledPackages: true} : {}),
                signal,
                onProgress: (progress) => {
                    const update = progressUpdate(progress);
                    if (update !== undefined) report(update);
                }
            });
        });
    } catch (error) {
        if (!isCancelledInstall(error)) throw error; // the command's error reporting shows the installer's message
        log.info("Enable CUDA: cancelled; nothing was installed");
        void ui.inform(`Layer Dial: CUDA download cancelled; nothing was installed${withCuda12 ? ", and the CUDA build installed before is unchanged" : ""}.`);
        return undefined;
    }
    const size = formatMegabytes(installedBytes(result.directory, result.manifest.files) ?? result.downloadedBytes);
    log.info(
        `Enable CUDA: installed ${result.manifest.package}@${result.manifest.version} (llama.cpp ${result.manifest.llamaCppRelease}, ${size}` +
            `${withCuda12 ? ", with the CUDA 12 build" : ""}; ${formatMegabytes(result.downloadedBytes)} downloaded` +
            `${result.keptPackages.length > 0 ? `, ${result.keptPackages.join(" and ")} kept from the install before` : ""}) in ${result.directory}`
    );
    return size;
}

/**
 * Checks the installed builds (the engine host runs each in a process of its own), then: one runs, so it is
 * offered (or used, when the user chose Use CUDA already); none runs, so the user hears why, the setting is
 * left alone, and the CUDA 12 build is offered where it may help.
 */
async function checkThenOffer(run: CommandRun, how: {installed?: string; useWithoutAsking?: boolean}): Promise<void> {
    const {ui, log} = run.options;
    const result = await ui.whileWorking("Layer Dial: checking that CUDA runs on this GPU (up to 2 minutes the first time)", () => run.options.checkCuda());
    for (const check of result.installs)
        log.info(
            `Enable CUDA: ${check.directory}: ${check.ok ? `runs on ${check.deviceNames.join(", ")}` : check.reason} ` +
                `(${check.seconds === 0 ? "kept from an earlier check" : `checked in ${check.seconds.toFixed(1)} s`})`
        );
    const verdict = cudaVerdict(result.installs);
    const lead = `Layer Dial: ${how.installed === undefined ? "" : `${how.installed} `}${verdict.text}`;
    const setting = ui.gpuSetting();
    if (!verdict.runs) {
        const consequence =
            setting.value === "cuda"
                ? " layerDial.gpu is cuda, so the engine stops with this reason until the setting changes (auto runs on the next backend that can)."
                : ` layerDial.gpu stays ${setting.value}.`;
        log.info(`Enable CUDA: no CUDA build runs here; layerDial.gpu is ${setting.value}`);
        const next = await ui.warn(`${lead}${consequence}`, ...(verdict.offerCuda12 ? [DOWNLOAD_CUDA_12] : []));
        if (next === DOWNLOAD_CUDA_12) await offerCuda12(run);
        return;
    }
    if (setting.value === "cuda") {
        void ui.inform(`${lead} layerDial.gpu is already cuda; the engine uses it from its next start.`);
        return;
    }
    if (how.useWithoutAsking === true) {
        await useCuda(ui, log);
        void ui.inform(`${lead} layerDial.gpu is now cuda.`);
        return;
    }
    const next = await ui.inform(`${lead} Use it now?`, USE_CUDA, keepLabel(setting));
    if (next === USE_CUDA) await useCuda(ui, log);
}

/** the CUDA 12 build, after its own confirmation; then the check again (which offers it no more) */
async function offerCuda12(run: CommandRun): Promise<void> {
    const {ui, log} = run.options;
    if (refuseBadRegistry(run)) return;
    const confirmation = cuda12Confirmation({version: run.version, registryUrl: run.registryUrl, backendsDirectory: run.options.backendsDirectory});
    if ((await ui.confirm(confirmation.message, confirmation.detail, ...confirmation.items)) !== INSTALL) {
        log.info("Enable CUDA: the CUDA 12 build was not confirmed; nothing was downloaded");
        return;
    }
    const size = await install(run, true);
    if (size !== undefined) await checkThenOffer(run, {installed: `CUDA backend installed with its CUDA 12 build (${size}).`});
}

async function useCuda(ui: EnableCudaUi, log: Pick<vscode.LogOutputChannel, "info">): Promise<void> {
    await ui.setGpu("cuda");
    log.info("Enable CUDA: layerDial.gpu set to cuda in the user settings; the engine restarts on its next request");
    const warning = workspaceOverrideWarning(ui.gpuSetting());
    if (warning !== undefined) void ui.warn(warning);
}

async function loadInstaller(): Promise<CudaInstaller> {
    return await import("../../common/gpu-backends/install-backend.js");
}

/** The real editor calls; `api` is the `vscode` module (passed in, so this file needs none of its own). */
export function vscodeEnableCudaUi(api: typeof vscode): EnableCudaUi {
    const configuration = () => api.workspace.getConfiguration("layerDial");
    return {
        inform: async (message, ...items) => await api.window.showInformationMessage(message, ...items),
        warn: async (message, ...items) => await api.window.showWarningMessage(message, ...items),
        confirm: async (message, detail, ...items) => await api.window.showInformationMessage(message, {modal: true, detail}, ...items),
        withProgress: async (title, task) =>
            await api.window.withProgress(
                {
                    location: api.ProgressLocation.Notification,
                    title,
                    cancellable: true
                },
                async (progress, token) => {
                    const controller = new AbortController();
                    const subscription = token.onCancellationRequested(() => controller.abort());
                    try {
                        return await task((update) => progress.report(update), controller.signal);
                    } finally {
                        subscription.dispose();
                    }
                }
            ),
        whileWorking: async (title, task) =>
            await api.window.withProgress({location: api.ProgressLocation.Notification, title, cancellable: false}, async () => await task()),
        gpuSetting: () => {
            const inspected = configuration().inspect<string>("gpu");
            return {
                value: configuration().get<string>("gpu") ?? "auto",
                workspaceValue: inspected?.workspaceFolderValue ?? inspected?.workspaceValue
            };
        },
        setGpu: async (value) => await configuration().update("gpu", value, api.ConfigurationTarget.Global),
        npmRegistry: () => configuration().inspect<string>("npmRegistry")?.globalValue ?? NPM_REGISTRY_URL
    };
}
