// Layer Dial: Calibrate Model. Finds which layers the loaded model can best do without (measured on
// text, cached per model file in the extension's storage) so each speed level skips those instead of
// evenly spaced ones. Long-running, so it shows progress, can be cancelled, and waits its turn.
import path from "node:path";
import * as vscode from "vscode";
import type {EngineSession} from "../engine-session.js";
import type {SerialQueue} from "../serial-queue.js";

export async function calibrateModel(session: EngineSession, queue: SerialQueue, force = false): Promise<void> {
    const result = await vscode.window.withProgress(
        {
            location: vscode.ProgressLocation.Notification,
            title: "Layer Dial: calibrating the layer order",
            cancellable: true
        },
        async (progress, token) => {
            const command = session.beginCommand(token);
            try {
                return await queue.run(() => session.calibrate(force, progress, command.signal), {
                    signal: command.signal,
                    onWait: () => progress.report({message: "waiting for the running request to finish…"})
                });
            } finally {
                command.dispose();
            }
        }
    );
    const model = session.model;
    const name = model === undefined ? "the model" : path.basename(model.path);
    const plan = model?.plan;
    const levelNote = plan === undefined ? "" : ` At ${session.level}, ${plan.keptLayers.length}/${plan.layerCount} layers run.`;
    if (result.cached) {
        const choice = await vscode.window.showInformationMessage(
            `Layer Dial: ${name} was already calibrated; the dial uses its calibrated layer order.${levelNote}`,
            "Calibrate Again"
        );
        if (choice === "Calibrate Again") await calibrateModel(session, queue, true);
        return;
    }
    void vscode.window.showInformationMessage(
        `Layer Dial: calibrated ${name} (${result.method}); the dial now skips the layers that matter least.${levelNote}`
    );
}
