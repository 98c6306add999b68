// What the speed panel is told, built from the engine's own answers. No 'vscode': the mapping is
// unit-tested against the panel protocol's validators, so the panel never drops one of our messages.
import fs from "node:fs";
import path from "node:path";
import type {ContextPrediction, GenerateResult, ModelPreview, ModelSummary, PlanInfo} from "../../common/engine-protocol.js";
import {
    isOfferedDepth,
    MAX_REASON_CHARS,
    type ConfiguredModel,
    type ContextPredictionView,
    type LosslessView,
    type ModelInfo,
    type RunStats,
    type SpeedStep
} from "../../common/panel-messages.js";
import {NoModelConfiguredError} from "../errors.js";
import {resolveModelSetting, type ResolveModelOptions} from "../models/model-path.js";

/** The first-run walkthrough (package.json contributes.walkthroughs), as workbench.action.openWalkthrough names it: `<publisher>.<name>#<id>`. */
export const FIRST_RUN_WALKTHROUGH = "layer-dial.layer-dial#layerDial.firstRun";

/** The configured model as the panel shows it before any load, and the file to preview (when it is there). */
export type ConfiguredModelView = {info: ConfiguredModel; previewPath?: string; uri?: string};

/**
 * What `layerDial.model` names, read from the disk only (no engine, no network): null when nothing is
 * configured. A file that is there can be previewed and loaded; an hf: model not downloaded yet, or a
 * path that leads nowhere, says so.
 */
export function describeConfiguredModel(setting: string, options: ResolveModelOptions): ConfiguredModelView | null {
    let location;
    try {
        location = resolveModelSetting(setting, options);
    } catch (error) {
        if (error instanceof NoModelConfiguredError) return null;
        return {info: {name: setting.trim(), status: "missing", levels: [], note: (error as Error).message}};
    }
    if (location.kind === "hf" && !location.downloaded)
        return {
            info: {
                name: path.posix.basename(location.uri.filePath ?? location.uri.uri),
                status: "notDownloaded",
                levels: [],
                note: `${location.uri.uri} is not downloaded yet. Download shows its size and source first.`
            },
            uri: location.uri.uri
        };
    let size: number | undefined;
    try {
        const stat = fs.statSync(location.path);
        size = stat.isFile() ? stat.size : undefined;
    } catch {
        size = undefined;
    }
    const name = path.basename(location.path);
    if (size === undefined) return {info: {name, status: "missing", levels: [], note: `Model file not found: ${location.path}`}};
    return {info: {name, status: "ready", sizeBytes: size, levels: [], note: "Not loaded yet. Load it here, or run a command."}, previewPath: location.path};
}

/** The configured model with the engine's preview of its levels (the level table's order, as the engine gives it). */
export function withPreview(info: ConfiguredModel, preview: ModelPreview): ConfiguredModel {
    return {
        ...info,
        layerCount: preview.layerCount,
        levels: preview.levels.map((level) => ({
            level: level.level,
            predictedSpeedup: Math.max(1, level.predictedSpeedup),
            keptLayers: [...level.keptLayers].sort((a, b) => a - b)
        })),
        note: preview.layerSkipSupported
            ? `${preview.layerCount} layers, ${preview.architecture}. Not loaded yet: the speedups are predicted from the file's tensor sizes.`
            : `${preview.architecture} cannot skip layers in this build: every level runs all ${preview.layerCount} layers.`
    };
}

/** The configured model when the engine could not read it: the name and size stay, the note says why. */
export function withPreviewError(info: ConfiguredModel, message: string): ConfiguredModel {
    return {...info, note: `No preview: ${message}`};
}

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

/** The depth to show: the plan's when the panel offers it, else the full model (an explicit mask has no stop).
 *  At the Lossless level, the full model: its output is the full model's. */
export function panelDepth(model: ModelInfo, plan: PlanInfo): number {
    return plan.lossless === undefined && isOfferedDepth(model, plan.depth) ? plan.depth : model.layerCount;
}

/** The plan's prediction at the last request's context, within what the panel accepts. */
export function panelContextPrediction(prediction: ContextPrediction): ContextPredictionView {
    return {
        contextTokens: Math.max(0, Math.min(10_000_000, Math.round(prediction.contextTokens))),
        predictedSpeedup: Math.max(0, Math.min(1000, prediction.predictedSpeedup))
    };
}

/** The Lossless level's drafter as the panel shows it; undefined at every other level. */
export function panelLossless(plan: PlanInfo): LosslessView | undefined {
    const info = plan.lossless;
    if (info === undefined) return undefined;
    const clampShare = (share: number | null) => (share === null ? null : Math.min(1, Math.max(0, share)));
    return {
        mode: info.mode,
        draftDepth: info.draftDepth !== null && info.draftDepth >= 1 && info.draftDepth <= plan.layerCount ? info.draftDepth : null,
        draftLength: info.draftLength !== null && info.draftLength >= 1 ? Math.min(64, Math.round(info.draftLength)) : null,
        acceptanceRate: clampShare(info.acceptanceRate),
        predictedSpeedup: Math.max(0, Math.min(1000, info.predictedSpeedup))
    };
}

export function panelRunStats(requestId: string, result: GenerateResult, finishedAt: number): RunStats {
    const {stats} = result;
    return {
        requestId,
        depth: Math.max(1, stats.keptLayers),
        targetSpeedup: Math.max(1, stats.predictedSpeedup),
        tokensPerSecond: Math.max(0, stats.decodeTokensPerSecond),
        ...(stats.achievedSpeedup === null
            ? {whyNoAchievedSpeedup: clip(stats.whyNoAchievedSpeedup ?? "not measured", MAX_REASON_CHARS)}
            : {achievedSpeedup: Math.max(0, Math.min(1000, stats.achievedSpeedup))}),
        tokens: result.tokens,
        finishedAt: Math.floor(finishedAt),
        ...(stats.speculation === undefined
            ? {}
            : {
                  lossless: {
                      acceptanceRate: stats.speculation.acceptanceRate === null ? null : Math.min(1, Math.max(0, stats.speculation.acceptanceRate)),
                      meanTokensPerVerify:
                          stats.speculation.meanTokensPerVerify === null ? null : Math.min(65, Math.max(1, stats.speculation.meanTokensPerVerify)),
                      draftDepth: stats.speculation.draftDepth === null || stats.speculation.draftDepth < 1 ? null : stats.speculation.draftDepth
                  }
              })
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

/** a reason the panel protocol accepts: an engine error message can be long */
function clip(text: string, maxChars: number): string {
    return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

function range(count: number): number[] {
    return Array.from({length: count}, (_, index) => index);
}
