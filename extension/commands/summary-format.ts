// The text of the summary document: its header line and the notes around streamed parts. The header's
// form is fixed (end-to-end tests read it):
//   **Layer Dial summary** · model `<file>` · speed **<Level>** (<target>x) · layers <kept>/<total> kept · achieved <x.xx>x
import path from "node:path";
import {formatRatio} from "../speed-level.js";

export type SummaryHeaderInfo = {
    /** the model file's path or name; only the file name is shown */
    model: string;
    /** a level name, or "Custom" for a ratio picked in the speed panel */
    level: string;
    targetSpeedup: number;
    keptLayers: number;
    layerCount: number;
    /** null or undefined until measured */
    achievedSpeedup?: number | null;
};

/** A file name inside backticks must not close them early. */
function codeSpan(text: string): string {
    return `\`${text.replace(/`/g, "'")}\``;
}

export function summaryHeader(info: SummaryHeaderInfo): string {
    const achieved = info.achievedSpeedup == null ? "n/a" : `${info.achievedSpeedup.toFixed(2)}x`;
    return (
        `**Layer Dial summary** · model ${codeSpan(path.basename(info.model))} · speed **${info.level}** ` +
        `(${formatRatio(info.targetSpeedup)}) · layers ${info.keptLayers}/${info.layerCount} kept · achieved ${achieved}`
    );
}

/** Said in the document when a selection is split, so nobody mistakes a summary of summaries for a direct one. */
export function chunkedNotice(parts: number, selectionTokens: number, partBudget: number): string {
    return (
        `_The selection (${selectionTokens} tokens) is longer than fits in the model's context ` +
        `(${partBudget} tokens per part), so it was summarized in ${parts} parts, ` +
        "and then the summaries of the parts were summarized._"
    );
}

export function partHeading(part: number, parts: number, level = 0): string {
    return level === 0 ? `### Part ${part} of ${parts}` : `### Round ${level + 1}: part ${part} of ${parts}`;
}

export const COMBINED_HEADING = "### Summary of the parts";

/** The line written under the text when a run ends early. */
export function stoppedNote(reason: "cancelled" | "maxTokens" | "error", detail?: string): string {
    if (reason === "cancelled") return "_Stopped by the user; the text above is partial._";
    if (reason === "maxTokens") return "_Stopped at the `layerDial.maxTokens` limit; the text above may be cut off._";
    return `_Stopped: ${detail ?? "the engine reported an error"}._`;
}
