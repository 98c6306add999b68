// The status bar item (`$(dashboard) 1.5x`) and the level quick pick it opens. Both read the level
// from the one setting, through the session; the quick pick never loads a model just to show numbers.
import * as vscode from "vscode";
import type {SpeedLevelName} from "../common/engine-protocol.js";
import type {EngineSession} from "./engine-session.js";
import {computeLabel} from "./panel/panel-model.js";
import {levelPickRows, statusBarText, statusTooltipLines} from "./speed-level.js";

export class SpeedStatusBar implements vscode.Disposable {
    private readonly item: vscode.StatusBarItem;
    private readonly disposables: vscode.Disposable[] = [];

    constructor(private readonly session: EngineSession) {
        this.item = vscode.window.createStatusBarItem("layerDial.speed", vscode.StatusBarAlignment.Right, 100);
        this.item.name = "Layer Dial Speed";
        this.item.command = "layerDial.setSpeedLevel";
        this.disposables.push(
            this.item,
            session.onDidChange(() => this.update())
        );
        this.update();
        this.item.show();
    }

    private update(): void {
        const {level, plan, customSpeedup, lastRun, model} = this.session;
        this.item.text = statusBarText(level, plan, customSpeedup);
        this.item.tooltip = statusTooltipLines(level, plan, lastRun, customSpeedup, model !== undefined ? computeLabel(model) : undefined).join("\n");
    }

    dispose(): void {
        for (const disposable of this.disposables) disposable.dispose();
    }
}

type LevelItem = vscode.QuickPickItem & {level: SpeedLevelName};

/** Layer Dial: Set Speed Level. Shows each level's layers and predicted speedup for the loaded model. */
export async function pickSpeedLevel(session: EngineSession): Promise<void> {
    const previews = await session.previewLevels();
    const current = session.customSpeedup === undefined ? session.level : undefined;
    const items: LevelItem[] = levelPickRows(session.level, previews).map((row) => ({
        level: row.level,
        label: row.label,
        description: row.description,
        detail: row.detail,
        picked: row.level === current,
        iconPath: row.level === current ? new vscode.ThemeIcon("check") : undefined
    }));
    const picked = await vscode.window.showQuickPick(items, {
        title: "Layer Dial: Set Speed Level",
        placeHolder: `Current: ${current ?? "custom (from the speed panel)"}. Faster levels skip more layers.`
    });
    if (picked !== undefined) await session.setLevel(picked.level);
}
