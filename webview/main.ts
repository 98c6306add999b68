// The speed panel's entry point (bundled to dist/webview/panel.js). Order matters: draw the saved
// state first, so a reloaded panel is never blank, then listen, then tell the extension it may talk.
import {parseToWebview, type FromWebview} from "../common/panel-messages.js";
import {applyMessage, restorePanelState, toSavedState, withDepth, type PanelState, type SavedPanelState} from "./panel-state.js";
import {PanelView} from "./panel-view.js";
import type {VsCodeApi} from "./vscode-api.js";

/** Streamed chunks arrive many times a second; saving the whole output each time would be wasteful. */
const OUTPUT_SAVE_DELAY_MS = 250;

const vscode: VsCodeApi<FromWebview, SavedPanelState> = acquireVsCodeApi<FromWebview, SavedPanelState>();
const warn = (problem: string): void => console.warn(`[layer-dial panel] ${problem}`);

let state: PanelState = restorePanelState(vscode.getState(), warn);
let saveTimer: ReturnType<typeof setTimeout> | undefined;

function saveNow(): void {
    if (saveTimer !== undefined) clearTimeout(saveTimer);
    saveTimer = undefined;
    vscode.setState(toSavedState(state));
}

function saveSoon(): void {
    saveTimer ??= setTimeout(saveNow, OUTPUT_SAVE_DELAY_MS);
}

const root = document.getElementById("root");
if (root === null) throw new Error("The panel's HTML has no #root element");

const view = new PanelView(root, {
    onSetLevel: (step) => {
        const leftLossless = state.lossless !== null;
        state = withDepth(state, step.depth);
        // the slider already shows the new level; the Lossless button and line must follow it
        if (leftLossless) view.render(state);
        saveNow();
        vscode.postMessage({type: "setLevel", depth: step.depth, speedup: step.predictedSpeedup});
    },
    onSetLossless: () => vscode.postMessage({type: "setLossless"}),
    onStop: (requestId) => vscode.postMessage({type: "stop", requestId}),
    onAction: (action) => vscode.postMessage({type: "action", action})
});
view.render(state);

window.addEventListener("message", (event: MessageEvent<unknown>) => {
    const message = parseToWebview(event.data, (problem) => warn(`ignored a message: ${problem}`));
    if (message === undefined) return;
    state = applyMessage(state, message, warn);
    view.render(state);
    if (message.type === "output") saveSoon();
    else saveNow();
});
// a pending output save must not be lost when VS Code hides or reloads the panel
window.addEventListener("pagehide", () => {
    if (saveTimer !== undefined) saveNow();
});
document.addEventListener("visibilitychange", () => {
    if (saveTimer !== undefined) saveNow();
});

vscode.postMessage({type: "ready"});
