// The text of the summary document: its title, its header line and the notes around streamed parts.
// The header is one short line whose form is fixed (end-to-end tests read it):
//   **Layer Dial summary** · `<file>` · <Level> <target>x · <kept>/<total> layers · achieved <x.xx>x
// where the achieved part is "n/a" while the run goes on, and "— (<why>)" when the run could not measure one:
// the reason's first clause, so the header stays short (the panel, the status bar's tooltip and the log give it whole).
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
    /** why a finished run has no achieved speedup (GenerationStats.whyNoAchievedSpeedup) */
    whyNoAchievedSpeedup?: string;
};

/** The header is one line: a reason with line breaks (an error message) must not end it early. */
function oneLine(text: string): string {
    return text.replace(/\s+/g, " ").trim();
}

/** The reason up to where its explanation starts ("…because the speed calibration failed: <error>"). */
function firstClause(reason: string): string {
    const line = oneLine(reason);
    const cuts = [" because ", ": ", ", and "].map((separator) => line.indexOf(separator)).filter((index) => index > 0);
    return cuts.length === 0 ? line : line.slice(0, Math.min(...cuts));
}

/** A file name inside backticks must not close them early. */
function codeSpan(text: string): string {
    return `\`${text.replace(/`/g, "'")}\``;
}

export function summaryHeader(info: SummaryHeaderInfo): string {
    const achieved =
        info.achievedSpeedup != null
            ? `${info.achievedSpeedup.toFixed(2)}x`
            : info.whyNoAchievedSpeedup !== undefined
              ? `— (${firstClause(info.whyNoAchievedSpeedup)})`
              : "n/a";
    return (
        `**Layer Dial summary** · ${codeSpan(path.basename(info.model))} · ${info.level} ${formatRatio(info.targetSpeedup)} · ` +
        `${info.keptLayers}/${info.layerCount} layers · achieved ${achieved}`
    );
}

/** The part of a document's URI a summary is named after: a file's name, or an untitled document's own ("Untitled-1"). */
export function summarySourceName(uri: {path: string}): string {
    const name = path.posix.basename(uri.path);
    return name === "" ? "selection" : name;
}

/**
 * The summary document's title, "Summary of story.txt"; a second summary of the same source while the
 * first is open gets "Summary of story.txt (2)", so it never writes into the first.
 */
export function summaryTitle(sourceName: string, isTaken: (title: string) => boolean): string {
    const base = `Summary of ${sourceName.replace(/[\\/]/g, "_")}`;
    if (!isTaken(base)) return base;
    for (let copy = 2; ; copy++) if (!isTaken(`${base} (${copy})`)) return `${base} (${copy})`;
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
