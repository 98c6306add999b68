// The speed levels as the status bar, the quick pick and the summary header show them. No 'vscode'
// here: the rows and texts are plain data, so they are unit-tested without an editor.
import {SPEED_LEVELS} from "../common/speed-levels.js";
import type {GenerationStats, LosslessInfo, PlanInfo, SpeedLevelName} from "../common/engine-protocol.js";

/** The level's nominal ratio, or undefined for Max and Lossless (their ratios depend on the model). */
export function nominalSpeedup(level: SpeedLevelName): number | undefined {
    const found = SPEED_LEVELS.find((known) => known.name === level);
    return typeof found?.targetSpeedup === "number" ? found.targetSpeedup : undefined;
}

/** 1 → "1x", 1.25 → "1.25x", 1.5 → "1.5x", 2.3456 → "2.35x". */
export function formatRatio(ratio: number): string {
    return `${Number(ratio.toFixed(2))}x`;
}

/**
 * The ratio a level aims at: its nominal one, the loaded model's maximum for Max ("max" without a model),
 * or for Lossless the speedup its drafter predicts ("lossless" without a model: the output is Quality's).
 */
export function levelRatioText(level: SpeedLevelName, plan?: PlanInfo): string {
    const nominal = nominalSpeedup(level);
    if (nominal !== undefined) return formatRatio(nominal);
    if (level === "Lossless") return plan?.lossless === undefined ? "lossless" : `lossless ${formatRatio(plan.lossless.predictedSpeedup)}`;
    return plan === undefined ? "max" : formatRatio(plan.maxSpeedup);
}

/** The status bar item's text, e.g. `$(dashboard) 1.5x`. A custom ratio (from the panel) shows as such. */
export function statusBarText(level: SpeedLevelName, plan?: PlanInfo, customSpeedup?: number): string {
    const ratio = customSpeedup !== undefined ? formatRatio(customSpeedup) : levelRatioText(level, plan);
    return `$(dashboard) ${ratio}`;
}

export type LevelPickRow = {
    level: SpeedLevelName;
    /** starts with the level name */
    label: string;
    description: string;
    detail?: string;
    current: boolean;
};

export const LOAD_A_MODEL_TO_SEE = "load a model to see";

/** One row per level; `previews` holds the loaded model's plan for each level (absent: no model loaded). */
export function levelPickRows(current: SpeedLevelName, previews?: ReadonlyMap<SpeedLevelName, PlanInfo>): LevelPickRow[] {
    return SPEED_LEVELS.map(({name}) => {
        const plan = previews?.get(name);
        const target = levelRatioText(name, plan);
        const description =
            plan === undefined
                ? `${target} · ${LOAD_A_MODEL_TO_SEE}`
                : `${target} · ${plan.keptLayers.length}/${plan.layerCount} layers · predicted ${formatRatio(plan.predictedSpeedup)}`;
        return {
            level: name,
            label: name,
            description,
            detail: plan?.message ?? undefined,
            current: name === current
        };
    });
}

/** The level whose plan runs exactly `depth` layers, if one does (the panel picks depths, the setting holds names). */
export function levelForDepth(depth: number, previews: ReadonlyMap<SpeedLevelName, PlanInfo>): SpeedLevelName | undefined {
    for (const {name} of SPEED_LEVELS) {
        if (previews.get(name)?.depth === depth) return name;
    }
    return undefined;
}

export type LastRun = {stats: GenerationStats; tokens: number};

/** what the Lossless level's drafter does now, in one tooltip line */
export function losslessLine(info: LosslessInfo, layerCount: number): string {
    if (info.mode === "learning") return "Lossless: measures how often drafts are right during the first answers";
    if (info.mode === "plain") return "Lossless: drafting does not pay on this machine, so it decodes like Quality (and checks again now and then)";
    return (
        `Lossless: drafts ${info.draftLength ?? "—"} tokens with ${info.draftDepth ?? "—"}/${layerCount} layers · ` +
        `${info.acceptanceRate === null ? "—" : percent(info.acceptanceRate)} accepted · predicted ${formatRatio(info.predictedSpeedup)}`
    );
}

function percent(share: number): string {
    return `${Math.round(share * 100)}%`;
}

/** The status bar tooltip: level, plan and, after a run, what it achieved. Plain text lines. */
export function statusTooltipLines(
    level: SpeedLevelName,
    plan: PlanInfo | undefined,
    lastRun: LastRun | undefined,
    customSpeedup?: number,
    compute?: string
): string[] {
    const lines = [
        customSpeedup !== undefined
            ? `Layer Dial speed: custom ${formatRatio(customSpeedup)} (from the speed panel)`
            : `Layer Dial speed: ${level} (${levelRatioText(level, plan)})`
    ];
    if (plan === undefined) lines.push(`Layers: ${LOAD_A_MODEL_TO_SEE}`);
    else lines.push(`Layers: ${plan.keptLayers.length}/${plan.layerCount} kept · predicted ${formatRatio(plan.predictedSpeedup)}`);
    // skipped layers also skip their attention, which grows with the context: the prediction where the user is now
    if (plan?.atContext !== undefined)
        lines.push(
            `At ${plan.atContext.contextTokens.toLocaleString("en-US")} tokens of context (the last request's): predicted ${formatRatio(plan.atContext.predictedSpeedup)}`
        );
    if (plan?.lossless !== undefined) lines.push(losslessLine(plan.lossless, plan.layerCount));
    if (compute !== undefined) lines.push(`Runs on: ${compute}`);
    if (lastRun !== undefined) {
        // the reason can be long: it gets its own line, so the numbers stay on one
        const {achievedSpeedup, whyNoAchievedSpeedup} = lastRun.stats;
        lines.push(
            `Last run: achieved ${achievedSpeedup === null ? "—" : formatRatio(achievedSpeedup)} · ` +
                `${lastRun.stats.decodeTokensPerSecond.toFixed(1)} tokens/s · ${lastRun.tokens} tokens`
        );
        if (achievedSpeedup === null && whyNoAchievedSpeedup !== undefined) lines.push(`No achieved speedup: ${whyNoAchievedSpeedup}`);
        const speculation = lastRun.stats.speculation;
        if (speculation !== undefined && speculation.acceptanceRate !== null)
            lines.push(
                `Last run's drafts: ${percent(speculation.acceptanceRate)} accepted · ${speculation.meanTokensPerVerify?.toFixed(2) ?? "—"} tokens per check · ` +
                    `${speculation.speculativeSteps} checks, ${speculation.plainSteps} plain steps`
            );
    }
    lines.push("Click to change the speed level");
    return lines;
}
