// Layer Dial: Enable CUDA. Downloads node-llama-cpp's prebuilt CUDA backend (Linux x64 only) into the
// extension's storage, where the engine host's loader finds it, after a modal confirmation that says
// what is downloaded from where, how big it is and what it needs; nothing touches the network before
// the user agrees. No runtime 'vscode' here (only its types): the editor's API comes in through
// EnableCudaUi, so the texts, the checks and the flow itself are unit-tested without an editor.
import fs from "node:fs";
import path from "node:path";
import type * as vscode from "vscode";
import {listInstalledBackends, type BackendManifest} from "../../common/gpu-backends/backend-manifest.js";
import type {GpuBackendInstallProgress} from "../../common/gpu-backends/install-backend.js";
import {NativeBuildMissingError} from "../errors.js";

export const CUDA_PACKAGE = "@node-llama-cpp/linux-x64-cuda";
/** the installer's default, named here too so the confirmation and the download cannot disagree */
export const NPM_REGISTRY_URL = "https://registry.npmjs.org";
/** the sizes of node-llama-cpp 3.22.1's package; later releases are about the same */
export const CUDA_DOWNLOAD_MB = 145;
export const CUDA_INSTALLED_MB = 159;

export const INSTALL = "Download and Install";
export const REINSTALL = "Reinstall";
export const USE_CUDA = "Use CUDA";

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
    warn(message: string): void;
    /** a modal dialog (which has its own Cancel); resolves with the item chosen, or undefined */
    confirm(message: string, detail: string, ...items: string[]): Promise<string | undefined>;
    /** a cancellable notification with progress; cancelling aborts `signal` */
    withProgress<T>(title: string, task: (report: (update: ProgressUpdate) => void, signal: AbortSignal) => Promise<T>): Promise<T>;
    gpuSetting(): GpuSettingState;
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
 * Turns the installer's progress into notification updates: a message for each step, and for the download
 * "37 MB of 145 MB" with the percent gained since the last update. Updates only when the text changes
 * (a chunk is a few KB; the notification needs no more than one update per megabyte) and at the end of the download.
 */
export function createProgressReporter(): (progress: GpuBackendInstallProgress) => ProgressUpdate | undefined {
    let lastMessage: string | undefined;
    let reportedPercent = 0;
    return (progress) => {
        let message: string;
        let percent: number | undefined;
        switch (progress.phase) {
            case "metadata":
                message = `asking the npm registry for ${progress.package}…`;
                break;
            case "download":
                if (progress.totalBytes !== undefined && progress.totalBytes > 0) {
                    message = `${formatMegabytes(progress.receivedBytes)} of ${formatMegabytes(progress.totalBytes)}`;
                    percent = Math.min(100, (progress.receivedBytes / progress.totalBytes) * 100);
                } else message = `${formatMegabytes(progress.receivedBytes)} received`;
                break;
            case "verify":
                message = "checking the download against the registry's integrity…";
                break;
            case "unpack":
                message = "unpacking…";
                break;
        }
        // the end of the download always counts: its last megabyte may print like the one before it
        if (message === lastMessage && !(percent === 100 && reportedPercent < 100)) return undefined;
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

// --- the command ---

export async function enableCuda(options: EnableCudaOptions): Promise<void> {
    const {ui, log} = options;
    const platform = options.platform ?? process.platform;
    const arch = options.arch ?? process.arch;
    if (!isCudaPlatform(platform, arch)) {
        void ui.inform(unsupportedPlatformMessage(platform, arch));
        return;
    }

    const version = readBundledNodeLlamaCppVersion(options.extensionPath);
    const installer = await (options.loadInstaller ?? loadInstaller)();
    const folderName = installer.gpuBackendFolderName("cuda", version, platform, arch);
    const existing = findMatchingCudaInstall(listInstalledBackends(options.backendsDirectory), version, folderName);

    // always asked, whatever the command was invoked with: it is the only way to the network
    const confirmation = cudaConfirmation({version, registryUrl: NPM_REGISTRY_URL, backendsDirectory: options.backendsDirectory, existing});
    const choice = await ui.confirm(confirmation.message, confirmation.detail, ...confirmation.items);
    if (choice === USE_CUDA) {
        await useCuda(ui, log);
        return;
    }
    if (choice !== INSTALL && choice !== REINSTALL) {
        log.info("Enable CUDA: not confirmed; nothing was downloaded");
        return;
    }

    log.info(`Enable CUDA: installing ${CUDA_PACKAGE}@${version} from ${NPM_REGISTRY_URL} into ${options.backendsDirectory}`);
    let result: Awaited<ReturnType<CudaInstaller["installGpuBackend"]>>;
    try {
        result = await ui.withProgress("Layer Dial: downloading the CUDA backend", (report, signal) => {
            const progressUpdate = createProgressReporter();
            return installer.installGpuBackend({
                backend: "cuda",
                targetRoot: options.backendsDirectory,
                registryUrl: NPM_REGISTRY_URL,
                version,
                platform,
                arch,
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
        void ui.inform("Layer Dial: CUDA download cancelled; nothing was installed.");
        return;
    }

    const size = formatMegabytes(installedBytes(result.directory, result.manifest.files) ?? result.downloadedBytes);
    log.info(
        `Enable CUDA: installed ${result.manifest.package}@${result.manifest.version} (llama.cpp ${result.manifest.llamaCppRelease}, ${size}) in ${result.directory}`
    );
    const setting = ui.gpuSetting();
    if (setting.value === "cuda") {
        void ui.inform(`Layer Dial: CUDA backend installed (${size}). layerDial.gpu is already cuda; the engine uses this install from its next start.`);
        return;
    }
    const next = await ui.inform(`Layer Dial: CUDA backend installed (${size}). Use it now?`, USE_CUDA, keepLabel(setting));
    if (next === USE_CUDA) await useCuda(ui, log);
}

async function useCuda(ui: EnableCudaUi, log: Pick<vscode.LogOutputChannel, "info">): Promise<void> {
    await ui.setGpu("cuda");
    log.info("Enable CUDA: layerDial.gpu set to cuda in the user settings; the engine restarts on its next request");
    const warning = workspaceOverrideWarning(ui.gpuSetting());
    if (warning !== undefined) ui.warn(warning);
}

async function loadInstaller(): Promise<CudaInstaller> {
    return await import("../../common/gpu-backends/install-backend.js");
}

/** The real editor calls; `api` is the `vscode` module (passed in, so this file needs none of its own). */
export function vscodeEnableCudaUi(api: typeof vscode): EnableCudaUi {
    const configuration = () => api.workspace.getConfiguration("layerDial");
    return {
        inform: async (message, ...items) => await api.window.showInformationMessage(message, ...items),
        warn: (message) => void api.window.showWarningMessage(message),
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
        gpuSetting: () => {
            const inspected = configuration().inspect<string>("gpu");
            return {
                value: configuration().get<string>("gpu") ?? "auto",
                workspaceValue: inspected?.workspaceFolderValue ?? inspected?.workspaceValue
            };
        },
        setGpu: async (value) => await configuration().update("gpu", value, api.ConfigurationTarget.Global)
    };
}
