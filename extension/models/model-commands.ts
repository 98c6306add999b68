// Layer Dial: Select Model and Layer Dial: Download Recommended Model. Picking checks the file before
// the setting changes; downloading is the only thing in the extension that goes online, and only
// when the user runs it.
import fs from "node:fs";
import path from "node:path";
import * as vscode from "vscode";
import {ModelDownloadFailedError, OperationCancelledError} from "../errors.js";
import {downloadModel, formatBytes} from "./model-download.js";
import {checkModelFile, downloadFileName, parseHfUri, recordDownload} from "./model-path.js";
import {RECOMMENDED_MODEL_URI} from "../settings.js";
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

/**
 * Downloads `uri` (the recommended model unless a "Download" button passed another) with a cancellable
 * progress notification. A cancelled or failed download keeps its partial file, so running it again resumes.
 */
export async function downloadRecommendedModel(modelsDirectory: string, log: vscode.LogOutputChannel, uri: string = RECOMMENDED_MODEL_URI): Promise<void> {
    const parsed = parseHfUri(uri);
    const configured = vscode.workspace.getConfiguration("layerDial").get<string>("model")?.trim() ?? "";
    const filePath = await vscode.window
        .withProgress(
            {
                location: vscode.ProgressLocation.Notification,
                title: `Layer Dial: downloading ${parsed?.filePath !== undefined ? path.basename(parsed.filePath) : uri}`,
                cancellable: true
            },
            async (progress, token) => {
                const controller = new AbortController();
                const subscription = token.onCancellationRequested(() => controller.abort());
                let reportedPercent = 0;
                try {
                    progress.report({message: "connecting…"});
                    return await downloadModel({
                        uri,
                        directory: modelsDirectory,
                        fileName: parsed === undefined ? undefined : downloadFileName(parsed),
                        signal: controller.signal,
                        onProgress: (downloaded, total) => {
                            const percent = total > 0 ? Math.floor((downloaded / total) * 100) : 0;
                            progress.report({
                                message: total > 0 ? `${formatBytes(downloaded)} of ${formatBytes(total)} (${percent}%)` : formatBytes(downloaded),
                                increment: percent > reportedPercent ? percent - reportedPercent : undefined
                            });
                            reportedPercent = Math.max(reportedPercent, percent);
                        }
                    });
                } finally {
                    subscription.dispose();
                }
            }
        )
        .then(undefined, (error: unknown) => {
            if (error instanceof OperationCancelledError) {
                log.info(`Download of ${uri} paused`);
                void vscode.window.showInformationMessage(
                    'Layer Dial: download paused. Run "Layer Dial: Download Recommended Model" again to resume where it stopped.'
                );
                return undefined;
            }
            throw error;
        });
    if (filePath === undefined) return;
    try {
        await checkModelFile({kind: "file", path: filePath});
    } catch (error) {
        throw new ModelDownloadFailedError(
            `The downloaded file is not a usable model (${(error as Error).message}). Delete ${filePath} and download again.`,
            uri
        );
    }
    recordDownload(modelsDirectory, uri, filePath);
    log.info(`Downloaded ${uri} to ${filePath}`);
    if (configured === uri) {
        void vscode.window.showInformationMessage(`Layer Dial: ${path.basename(filePath)} is ready; it loads on the next summary or generation.`);
        return;
    }
    const choice = await vscode.window.showInformationMessage(
        `Layer Dial: ${path.basename(filePath)} is downloaded. Use it now? (layerDial.model is ${configured === "" ? "empty" : `"${configured}"`})`,
        "Use It"
    );
    if (choice === "Use It") await updateSetting("model", uri);
}
