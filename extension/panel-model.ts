// What the speed panel is told, built from the engine's own answers. No 'vscode': the mapping is
// unit-tested against the panel protocol's validators, so the panel never drops one of our messages.
import path from "node:path";
import type {GenerateResult, ModelSummary, PlanInfo} from "../engine/protocol.js";
import {isOfferedDepth, type ModelInfo, type RunStats, type SpeedStep} from "../webview/protocol.js";

export function panelModelInfo(summary: ModelSummary): ModelInfo {
    const steps: SpeedStep[] = summary.stops.map((stop) => ({
        depth: stop.depth,
        predictedSpeedup: Math.max(1, stop.predictedSpeedup),
        keptLayers: [...stop.keptLayers].sort((a, b) => a - b)
    }));
    const gpu = summary.build.gpu === "false" || summary.build.gpu === ""
        ? `CPU · ${summary.threads} thread${summary.threads === 1 ? "" : "s"}`
        : `${summary.build.gpu} · ${summary.threads} CPU thread${summary.threads === 1 ? "" : "s"}`;
    return {
        name: path.basename(summary.path),
        layerCount: summary.layerCount,
        gpu,
        build: `llama.cpp (${summary.build.buildType}) + Layer Dial patches`,
        layerOrder: summary.plan.strategy === "calibrated" ? "calibrated" : "even",
        steps: steps.length > 0 ? steps : [{depth: summary.layerCount, predictedSpeedup: 1, keptLayers: range(summary.layerCount)}]
    };
}

/** The depth to show: the plan's when the panel offers it, else the full model (an explicit mask has no stop). */
export function panelDepth(model: ModelInfo, plan: PlanInfo): number {
    return isOfferedDepth(model, plan.depth) ? plan.depth : model.layerCount;
}

export function panelRunStats(requestId: string, result: GenerateResult, finishedAt: number): RunStats {
    const {stats} = result;
    return {
        requestId,
        depth: Math.max(1, stats.keptLayers),
        targetSpeedup: Math.max(1, stats.predictedSpeedup),
        tokensPerSecond: Math.max(0, stats.decodeTokensPerSecond),
        ...(stats.achievedSpeedup === null ? {} : {achievedSpeedup: Math.max(0, Math.min(1000, stats.achievedSpeedup))}),
        tokens: result.tokens,
        finishedAt: Math.floor(finishedAt)
    };
}

function range(count: number): number[] {
    return Array.from({length: count}, (_, index) => index);
}
