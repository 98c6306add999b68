// The inline-completion status bar item: a toggle that also says whether completions can run (a model
// must be loaded), shows a spinner while the model works on one, and what the last one cost.
import * as vscode from "vscode";
import type {SpeedLevelName} from "../../common/engine-protocol.js";
import type {EngineSession} from "../engine-session.js";
import type {InlineCompletions} from "./inline-completion.js";
import {completionStatus} from "./completion-status-text.js";
import {SPEED_LEVEL_NAMES} from "../settings.js";
import {updateSetting} from "../update-setting.js";

export class CompletionStatusBar implements vscode.Disposable {
    private readonly item: vscode.StatusBarItem;
    private readonly disposables: vscode.Disposable[] = [];

    constructor(
        private readonly session: EngineSession,
        private readonly completions: InlineCompletions
    ) {
        this.item = vscode.window.createStatusBarItem("layerDial.completion", vscode.StatusBarAlignment.Right, 99);
        this.item.name = "Layer Dial Inline Completion";
        this.item.command = "layerDial.toggleCompletion";
        this.disposables.push(
            this.item,
            session.onDidChange(() => this.update()),
            completions.onDidChangeState(() => this.update())
        );
        this.update();
        this.item.show();
    }

    private update(): void {
        const status = completionStatus({
            settings: this.completions.settings,
            modelName: this.session.model?.name,
            busy: this.completions.busy,
            last: this.completions.lastResult,
            counts: this.completions.counts
        });
        this.item.text = status.text;
        this.item.tooltip = status.tooltip;
    }

    dispose(): void {
        for (const disposable of this.disposables) disposable.dispose();
    }
}

/** Layer Dial: Toggle Inline Completion */
export async function toggleCompletion(completions: InlineCompletions): Promise<void> {
    const enabled = !completions.settings.enabled;
    if (!enabled) completions.cancel();
    await updateSetting("completion.enabled", enabled);
}

/** Layer Dial: Set Inline Completion Speed Level */
export async function pickCompletionSpeedLevel(completions: InlineCompletions): Promise<void> {
    const current = completions.settings.speedLevel;
    const picked = await vscode.window.showQuickPick(
        SPEED_LEVEL_NAMES.map((level) => ({
            label: level,
            level,
            picked: level === current,
            description: level === current ? "current" : undefined
        })),
        {title: "Layer Dial: Inline Completion Speed Level", placeHolder: "Faster levels skip more layers: quicker suggestions, lower quality"}
    );
    if (picked !== undefined) await updateSetting("completion.speedLevel", picked.level satisfies SpeedLevelName);
}

/** Layer Dial: Load Model. Completions wait for a loaded model; this loads the configured one now. */
export async function loadModel(session: EngineSession): Promise<void> {
    const summary = await vscode.window.withProgress({location: vscode.ProgressLocation.Notification, title: "Layer Dial"}, (progress) =>
        session.ensureModel(progress)
    );
    void vscode.window.setStatusBarMessage(`Layer Dial: ${summary.name} loaded (${summary.layerCount} layers)`, 5000);
}
