// Turns any failure into one message with the buttons that fix it. Cancellation is the user's own
// choice and is only logged, never shown as an error.
import * as vscode from "vscode";
import type {EngineRequestError} from "./engine-client.js";
import {ErrorCodes} from "../common/engine-protocol.js";
import {ChunkBudgetError} from "./commands/chunking.js";
import {
    BinarySelectionError,
    BlankSelectionError,
    ModelDownloadFailedError,
    ModelFileMissingError,
    ModelNotDownloadedError,
    NoModelConfiguredError,
    NoSelectionError,
    NotAGgufFileError,
    OperationCancelledError,
    RelativeModelPathError,
    SelectionTooLargeError,
    UnsupportedModelUriError
} from "./errors.js";
import {NativeBuildMissingError} from "./errors.js";
import {SummaryNotShrinkingError} from "./commands/summarize-plan.js";

// The engine client is loaded lazily (see EngineSession), so its errors are recognized by name, not instanceof.
function isEngineHostExited(error: unknown): boolean {
    return error instanceof Error && error.name === "EngineHostExitedError";
}

function isEngineRequestError(error: unknown): error is EngineRequestError {
    return error instanceof Error && error.name === "EngineRequestError" && typeof (error as Partial<EngineRequestError>).code === "number";
}

export function isCancellation(error: unknown): boolean {
    if (error instanceof OperationCancelledError || error instanceof vscode.CancellationError) return true;
    if (isEngineRequestError(error)) return error.code === ErrorCodes.aborted;
    return error instanceof Error && error.name === "AbortError";
}

type Action = {title: string; run: () => unknown};

function runCommand(title: string, command: string, ...args: unknown[]): Action {
    return {title, run: () => vscode.commands.executeCommand(command, ...args)};
}

const openSettings = runCommand("Open Settings", "workbench.action.openSettings", "layerDial");
const selectModel = runCommand("Select Model", "layerDial.selectModel");

type Report = {severity: "error" | "warning"; actions: Action[]; /** a stack helps only with failures the user cannot fix */ stack?: boolean};

function actionsFor(error: unknown, log: vscode.LogOutputChannel): Report {
    const showLog: Action = {title: "Show Log", run: () => log.show()};
    if (
        error instanceof NoSelectionError ||
        error instanceof BlankSelectionError ||
        error instanceof BinarySelectionError ||
        error instanceof SelectionTooLargeError
    )
        return {severity: "warning", actions: []};
    if (error instanceof NoModelConfiguredError)
        return {severity: "warning", actions: [selectModel, runCommand("Download Recommended Model", "layerDial.downloadRecommendedModel")]};
    if (error instanceof ModelNotDownloadedError)
        return {severity: "warning", actions: [runCommand("Download", "layerDial.downloadRecommendedModel", error.uri), selectModel]};
    if (
        error instanceof ModelFileMissingError ||
        error instanceof NotAGgufFileError ||
        error instanceof RelativeModelPathError ||
        error instanceof UnsupportedModelUriError
    )
        return {severity: "error", actions: [selectModel, openSettings]};
    if (error instanceof ChunkBudgetError || error instanceof SummaryNotShrinkingError) return {severity: "error", actions: [openSettings]};
    if (error instanceof ModelDownloadFailedError)
        return {severity: "error", actions: [runCommand("Retry", "layerDial.downloadRecommendedModel", error.uri), showLog]};
    if (isEngineHostExited(error) || error instanceof NativeBuildMissingError) return {severity: "error", actions: [showLog], stack: true};
    if (error instanceof Error && error.name === "EngineRestartBudgetError")
        return {severity: "error", actions: [showLog, runCommand("Restart", "layerDial.restartEngine")]};
    if (error instanceof Error && error.name === "EngineStartError") return {severity: "error", actions: [showLog]};
    if (isEngineRequestError(error)) {
        if (error.code === ErrorCodes.modelFile || error.code === ErrorCodes.noModel) return {severity: "error", actions: [selectModel, showLog]};
        if (error.code === ErrorCodes.badInput) return {severity: "error", actions: [openSettings]};
        return {severity: "error", actions: [showLog], stack: true};
    }
    return {severity: "error", actions: [showLog], stack: true};
}

/** Logs the failure and shows it without waiting for the user (the caller's work is over either way). */
export function reportError(error: unknown, log: vscode.LogOutputChannel, what: string): void {
    if (isCancellation(error)) {
        log.info(`${what}: cancelled`);
        return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const {severity, actions, stack = false} = actionsFor(error, log);
    const detail = stack && error instanceof Error ? (error.stack ?? message) : `${error instanceof Error ? `${error.name}: ` : ""}${message}`;
    if (severity === "warning") log.warn(`${what}: ${detail}`);
    else log.error(`${what} failed: ${detail}`);
    const show = severity === "warning" ? vscode.window.showWarningMessage : vscode.window.showErrorMessage;
    void show(`Layer Dial: ${message}`, ...actions.map((action) => action.title)).then((choice) => {
        actions.find((action) => action.title === choice)?.run();
    });
}
