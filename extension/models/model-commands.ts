// Layer Dial: Select Model and Layer Dial: Download Recommended Model. Picking checks the file before
// the setting changes. Downloading is the only thing in the extension that goes online: only when the
// user runs it, and only after a modal confirmation that shows the model's size and source, whoever
// started the command (the palette, the walkthrough, an error's Download button, or another extension
// passing a URI).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as vscode from "vscode";
import type {MachineInfo} from "../../common/engine-protocol.js";
import type {EngineSession} from "../engine-session.js";
import {ModelDownloadFailedError, OperationCancelledError, UnsupportedModelUriError} from "../errors.js";
import {downloadFile, formatBytes, probeDownload, remoteModelFile, type DownloadProbe, type RemoteModelFile} from "./model-download.js";
import {checkModelFile, recordDownload} from "./model-path.js";
import {MODEL_CHOICES, recommendModel, type MachineFacts, type Recommendation} from "./recommended-model.js";
import {updateSetting} from "../update-setting.js";

export async function selectModel(modelsDirectory: string, log: vscode.LogOutputChannel): Promise<void> {
    const workspaceFolder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const picked = await vscode.window.showOpenDialog({
        title: "Layer Dial: Select Model",
        openLabel: "Use This Model",
        canSelectMany: false,
        canSelectFiles: true,
        canSelectFolders: false,
        filters: {"GGUF models": ["gguf"], "All files": ["*"]},
        defaultUri: fs.existsSync(modelsDirectory) ? vscode.Uri.file(modelsDirectory) : workspaceFolder
    });
    const file = picked?.[0];
    if (file === undefined) return;
    if (file.scheme !== "file") throw new vscode.FileSystemError(`Layer Dial loads models from local files only; ${file.toString(true)} is not one.`);
    await checkModelFile({kind: "file", path: file.fsPath});
    await updateSetting("model", file.fsPath);
    log.info(`layerDial.model = ${file.fsPath}`);
    void vscode.window.showInformationMessage(`Layer Dial will use ${path.basename(file.fsPath)}; it loads on the next summary or generation.`);
}

export type DownloadCommandContext = {
    modelsDirectory: string;
    log: vscode.LogOutputChannel;
    /** asks the engine host what the machine has (RAM, GPU, VRAM) */
    session: Pick<EngineSession, "inspect">;
};

/**
 * Downloads a model: `uriArgument` when a caller passed one (an hf: file URI or an https URL of a
 * .gguf), else the model recommended for this machine. Always asks first, in a modal that names the
 * source and the size (from a HEAD request made only now), so no caller can start a download silently.
 * The download shows progress and can be cancelled; a cancelled one resumes when run again.
 */
export async function downloadRecommendedModel(context: DownloadCommandContext, uriArgument?: unknown): Promise<void> {
    const {log, modelsDirectory} = context;
    if (uriArgument !== undefined && typeof uriArgument !== "string")
        throw new UnsupportedModelUriError("Download Recommended Model takes a model URI (a string) or nothing; it was given something else.");
    const recommendation = uriArgument === undefined ? await recommendForThisMachine(context) : undefined;
    const file = remoteModelFile(uriArgument ?? recommendation!.choice.uri);
    const filePath = path.join(modelsDirectory, file.fileName);

    if (fs.existsSync(filePath)) {
        await checkModelFile({kind: "file", path: filePath});
        log.info(`${file.uri} is already downloaded: ${filePath}`);
        recordDownload(modelsDirectory, file.uri, filePath);
        await offerToUse(file.uri, filePath, "is already downloaded");
        return;
    }

    const probe = await vscode.window
        .withProgress(
            {
                location: vscode.ProgressLocation.Notification,
                title: `Layer Dial: asking ${new URL(file.url).host} for the size of ${file.fileName}…`,
                cancellable: true
            },
            (_progress, token) => withSignal(token, (signal) => probeDownload({url: file.url, filePath, signal}))
        )
        .then(undefined, (error: unknown) => {
            throw retryable(error, file);
        });
    log.info(`${file.uri}: ${probe.totalBytes === undefined ? "size not stated" : `${probe.totalBytes} bytes`} at ${file.url}`);
    if (!(await confirmDownload(file, probe, filePath, recommendation))) {
        log.info(`Download of ${file.uri} declined`);
        return;
    }

    const downloaded = await vscode.window
        .withProgress(
            {location: vscode.ProgressLocation.Notification, title: `Layer Dial: downloading ${file.fileName}`, cancellable: true},
            (progress, token) =>
                withSignal(token, (signal) => {
                    let reportedPercent = 0;
                    return downloadFile({
                        url: file.url,
                        filePath,
                        totalBytes: probe.totalBytes,
                        signal,
                        onProgress: (bytes, total) => {
                            const percent = total === undefined ? 0 : Math.floor((bytes / total) * 100);
                            if (percent === reportedPercent && total !== undefined) return; // one report per percent is plenty
                            progress.report({
                                message: total === undefined ? formatBytes(bytes) : `${formatBytes(bytes)} of ${formatBytes(total)} (${percent}%)`,
                                increment: percent > reportedPercent ? percent - reportedPercent : undefined
                            });
                            reportedPercent = Math.max(reportedPercent, percent);
                        }
                    });
                })
        )
        .then(undefined, (error: unknown) => {
            if (error instanceof OperationCancelledError) {
                log.info(`Download of ${file.uri} paused`);
                void vscode.window.showInformationMessage(
                    'Layer Dial: download paused. Run "Layer Dial: Download Recommended Model" again to resume where it stopped.'
                );
                return undefined;
            }
            throw retryable(error, file);
        });
    if (downloaded === undefined) return;
    try {
        await checkModelFile({kind: "file", path: downloaded});
    } catch (error) {
        fs.rmSync(downloaded, {force: true});
        throw new ModelDownloadFailedError(
            `The downloaded file is not a usable model (${(error as Error).message}). It was deleted; check the URI, then download again.`,
            file.uri
        );
    }
    recordDownload(modelsDirectory, file.uri, downloaded);
    log.info(`Downloaded ${file.uri} to ${downloaded}`);
    await offerToUse(file.uri, downloaded, "is downloaded");
}

/** The recommendation from the machine the engine host reports; RAM alone when the host cannot start. */
async function recommendForThisMachine(context: DownloadCommandContext): Promise<Recommendation> {
    let machine: MachineFacts;
    try {
        machine = (await context.session.inspect()).machine satisfies MachineInfo;
    } catch (error) {
        context.log.warn(`Could not ask the engine about the GPU (${(error as Error).message}); recommending a model by RAM alone.`);
        machine = {totalMemoryBytes: os.totalmem(), backend: "cpu", deviceNames: [], vramTotalBytes: 0};
    }
    const recommendation = recommendModel(machine);
    context.log.info(`Recommended ${recommendation.choice.label}: ${recommendation.reason}`);
    return recommendation;
}

async function confirmDownload(file: RemoteModelFile, probe: DownloadProbe, filePath: string, recommendation: Recommendation | undefined): Promise<boolean> {
    const size = probe.totalBytes === undefined ? "size not stated by the server" : formatBytes(probe.totalBytes);
    const name = Object.values(MODEL_CHOICES).find((choice) => choice.uri === file.uri)?.label ?? file.fileName;
    const detail = [
        `Source: ${file.uri}`,
        ...(file.url !== file.uri ? [`From: ${file.url}`] : []),
        `Size: ${size}`,
        `Saved to: ${filePath}`,
        ...(recommendation === undefined ? [] : [`Recommended for this machine: ${recommendation.reason}.`]),
        ...(probe.partialBytes > 0
            ? [
                  probe.resumable
                      ? `${formatBytes(probe.partialBytes)} were downloaded before; the download resumes from there.`
                      : "An earlier download stopped part-way, and this server cannot resume it: it starts again."
              ]
            : []),
        "Nothing else is sent or downloaded. You can cancel the download, and resume it later."
    ].join("\n");
    const choice = await vscode.window.showInformationMessage(`Download ${name} (${size})?`, {modal: true, detail}, "Download");
    return choice === "Download";
}

async function offerToUse(uri: string, filePath: string, what: string): Promise<void> {
    const configured = vscode.workspace.getConfiguration("layerDial").get<string>("model")?.trim() ?? "";
    if (configured === uri) {
        void vscode.window.showInformationMessage(`Layer Dial: ${path.basename(filePath)} ${what}; it loads on the next summary or generation.`);
        return;
    }
    const choice = await vscode.window.showInformationMessage(
        `Layer Dial: ${path.basename(filePath)} ${what}. Use it now? (layerDial.model is ${configured === "" ? "empty" : `"${configured}"`})`,
        "Use It"
    );
    if (choice === "Use It") await updateSetting("model", uri);
}

/** The Retry button downloads the same model, by its URI rather than the URL it resolved to (which would save under another name). */
function retryable(error: unknown, file: RemoteModelFile): unknown {
    return error instanceof ModelDownloadFailedError ? new ModelDownloadFailedError(error.message, file.uri) : error;
}

/** Runs `work` with an AbortSignal that the progress notification's Cancel button fires. */
async function withSignal<T>(token: vscode.CancellationToken, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const subscription = token.onCancellationRequested(() => controller.abort());
    try {
        return await work(controller.signal);
    } finally {
        subscription.dispose();
    }
}
