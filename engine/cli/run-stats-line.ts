// The bracketed line the CLI writes to stderr after a run: where it ran, the layers, target and
// predicted speedups (the prediction at the run's own context: "predicted 2.10x at 530 tokens"), tokens/s,
// and what it achieved, or "—" and why it could not say (the same words the panel, the status bar and the
// summary header show).
import type {GenerationStats} from "../../common/engine-protocol.js";

export function runStatsLine(stats: GenerationStats): string {
    const achieved = stats.achievedSpeedup !== null ? `${stats.achievedSpeedup.toFixed(2)}x` : `— (${stats.whyNoAchievedSpeedup ?? "not measured"})`;
    const atContext = stats.predictedAtContextTokens !== undefined ? ` at ${Math.round(stats.predictedAtContextTokens)} tokens` : "";
    return (
        `[${stats.compute}, ${stats.keptLayers}/${stats.layerCount} layers, target ${stats.targetSpeedup.toFixed(2)}x, ` +
        `predicted ${stats.predictedSpeedup.toFixed(2)}x${atContext}, ${stats.decodeTokensPerSecond.toFixed(1)} tok/s, achieved ${achieved}]`
    );
}
