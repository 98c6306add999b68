// The inline-completion status item's text and tooltip, as plain data (no 'vscode').
import type {SchedulerCounts} from "./scheduler.js";
import type {CompleteResult} from "../../common/engine-protocol.js";
import type {CompletionSettings} from "../settings.js";

export type CompletionStatusInput = {
    settings: CompletionSettings;
    /** the loaded model's name, if one is loaded */
    modelName: string | undefined;
    busy: boolean;
    last: CompleteResult | undefined;
    counts: SchedulerCounts;
};

export function completionStatus(input: CompletionStatusInput): {text: string; tooltip: string} {
    const {settings, modelName, busy, last, counts} = input;
    if (!settings.enabled) return {text: "$(circle-slash) Complete", tooltip: "Layer Dial inline completion is off. Click to turn it on."};
    if (modelName === undefined)
        return {
            text: "$(sparkle) Complete",
            tooltip:
                "Layer Dial inline completion is on and waits for a model: it starts once a model is loaded " +
                "(Layer Dial: Load Model, or any Layer Dial command). It never loads one by itself. Click to turn it off."
        };
    const lines = [`Layer Dial inline completion: on, ${settings.speedLevel} with ${modelName}. Click to turn it off.`];
    if (last !== undefined) {
        const stats = last.stats;
        lines.push(
            `Last suggestion: ${stats.generatedTokens} tokens at ${stats.keptLayers}/${stats.layerCount} layers; ` +
                `first token after ${stats.firstTokenMs === null ? "-" : `${Math.round(stats.firstTokenMs)} ms`}, done after ${Math.round(stats.totalMs)} ms; ` +
                `${stats.reusedPromptTokens} of ${stats.promptTokens} prompt tokens reused (${last.style} prompt).`
        );
    }
    if (counts.asked > 0)
        lines.push(
            `${counts.asked} keystrokes asked: ${counts.requested} model requests (${counts.superseded} cancelled by typing), ` +
                `${counts.cached} answered from the cache.`
        );
    return {text: `${busy ? "$(loading~spin)" : "$(sparkle)"} ${settings.speedLevel}`, tooltip: lines.join("\n")};
}
