// What the speed panel is told, built from the engine's own answers. No 'vscode': the mapping is
// unit-tested against the panel protocol's validators, so the panel never drops one of our messages.
import path from "node:path";
import type {GenerateResult, ModelSummary, PlanInfo} from "../../common/engine-protocol.js";
import {isOfferedDepth, type ModelInfo, type RunStats, type SpeedStep} from "../../common/panel-messages.js";

export function panelModelInfo(summary: ModelSummary): ModelInfo {
    const steps: SpeedStep[] = summary.stops.map((stop) => ({
        depth: stop.depth,
        predictedSpeedup: Math.max(1, stop.predictedSpeedup),
        keptLayers: [...stop.keptLayers].sort((a, b) => a - b)
    }));
    return {
        name: path.basename(summary.path),
        layerCount: summary.layerCount,
        gpu: computeLabel(summary),
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

const backendNames: Record<string, string> = {cpu: "CPU", vulkan: "Vulkan", cuda: "CUDA", metal: "Metal"};

/** "CPU · 2 threads", or "Vulkan · llvmpipe (LLVM 15.0.6, 256 bits) · 7/7 layers offloaded": the panel
 *  header and the status bar's tooltip say where the model runs */
export function computeLabel(summary: Pick<ModelSummary, "compute" | "threads">): string {
    const {compute, threads} = summary;
    const name = backendNames[compute.backend] ?? compute.backend;
    if (compute.backend === "cpu") return `${name} · ${threads} thread${threads === 1 ? "" : "s"}`;
    return [name, ...compute.deviceNames, `${compute.offloadedLayers}/${compute.offloadableLayers} layers offloaded`].join(" · ");
}

function range(count: number): number[] {
    return Array.from({length: count}, (_, index) => index);
}
