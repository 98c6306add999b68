// What layer-dial prints about the Lossless level's drafter: its choice (draft at which depth and length, or
// plain decoding), the acceptance it measured, and whether it started from an earlier load's measurements;
// after a run, what the run's steps did beside it.
import type {LosslessInfo, SpeculationStats} from "../../common/engine-protocol.js";

/** 0.834 → "83%"; null (nothing measured) → "not measured" */
export function formatShare(share: number | null): string {
    return share == null ? "not measured" : `${Math.round(share * 100)}%`;
}

function tokens(count: number | null): string {
    return count === 1 ? "1 token" : `${count ?? "-"} tokens`;
}

/** the drafter's choice in words: "drafts 3 tokens at depth 4 of 5, acceptance 83%, predicted 1.12x" */
export function drafterChoice(info: LosslessInfo, layerCount: number): string {
    const at = `depth ${info.draftDepth ?? "-"} of ${layerCount}`;
    const acceptance = `acceptance ${formatShare(info.acceptanceRate)}`;
    switch (info.mode) {
        case "draft":
            return `drafts ${tokens(info.draftLength)} at ${at}, ${acceptance}, predicted ${info.predictedSpeedup.toFixed(2)}x`;
        case "plain":
            // the best draft it measured, and that it does not pay here
            return `decodes plainly: drafting does not pay here (best: ${tokens(info.draftLength)} at ${at}, ${acceptance}); it probes now and then`;
        case "learning":
            return "learning: nothing measured yet";
    }
}

/** where its knowledge comes from */
export function drafterOrigin(info: LosslessInfo): string {
    if (info.fromStore === true) return "started from an earlier load's measurements";
    const measured = info.depths.some((depth) => depth.judged > 0);
    return measured ? "measured in this load" : "nothing stored yet: the first Lossless answer measures each depth";
}

/** `layer-dial info`'s line: the choice, where it comes from, and the acceptance per depth */
export function losslessInfoLine(info: LosslessInfo, layerCount: number): string {
    if (info.depths.length === 0) return "lossless drafter: no depth to draft at (too few layers to skip); Lossless decodes like Quality";
    const depths = info.depths.map((entry) => `${entry.depth} ${formatShare(entry.acceptanceRate)} (${Math.round(entry.judged)} judged)`).join(", ");
    return `lossless drafter: ${drafterChoice(info, layerCount)}; ${drafterOrigin(info)}; acceptance by depth: ${depths || "no depth to draft at"}`;
}

/** the line after a Lossless run: what its steps did, then the drafter's choice after it */
export function losslessRunLine(speculation: SpeculationStats, info: LosslessInfo | undefined, layerCount: number): string {
    const run =
        `${speculation.speculativeSteps} verifies drafting at depth ${speculation.draftDepth ?? "-"}, ${speculation.plainSteps} plain steps, ` +
        `acceptance ${formatShare(speculation.acceptanceRate)}, ${speculation.meanTokensPerVerify?.toFixed(2) ?? "-"} tokens per verify, ` +
        `predicted ${speculation.predictedSpeedup.toFixed(2)}x`;
    return info === undefined ? `[lossless: ${run}]` : `[lossless: ${run}; drafter now ${drafterChoice(info, layerCount)}, ${drafterOrigin(info)}]`;
}
