// Fitting a text longer than the context: overlapping windows, each starting with the model's prefix
// (BOS) and scoring only tokens no earlier window scored, so every token is scored exactly once and each
// scored token (after the first window) sees at least `contextTokens` tokens of real text before it.
import {InvalidWindowingError, TextTooShortError} from "./errors.js";

export type WindowOptions = {
    /** tokens per window including the prefix; at most the context size */
    windowTokens: number;
    /** text tokens every window repeats from the previous one as context before its first scored token */
    contextTokens: number;
    /** tokens put before every window, e.g. [BOS]; may be empty */
    prefix: readonly number[];
};

export type TokenWindow = {
    /** index into the text's tokens of the window's first text token */
    start: number;
    /** prefix + text tokens [start, end) */
    tokens: number[];
    /** rows (indexes into tokens) whose logits predict a scored token */
    rows: number[];
    /** the real next token for each of rows */
    targets: number[];
};

export type WindowPlan = {
    windows: TokenWindow[];
    /** index of the first scored text token: 0 with a prefix (BOS predicts it), else 1 */
    firstScored: number;
};

export function planWindows(textTokens: readonly number[], options: WindowOptions): WindowPlan {
    const prefixLength = options.prefix.length;
    const capacity = options.windowTokens - prefixLength;
    if (!Number.isInteger(options.windowTokens) || capacity < 2)
        throw new InvalidWindowingError(
            `A window of ${options.windowTokens} tokens leaves no room for text after a ${prefixLength}-token prefix; use a larger window`
        );
    if (!Number.isInteger(options.contextTokens) || options.contextTokens < 0 || options.contextTokens >= capacity)
        throw new InvalidWindowingError(
            `contextTokens must be a whole number from 0 to ${capacity - 1} for ${options.windowTokens}-token windows, got ${options.contextTokens}`
        );
    // without a prefix the first token has nothing before it to be predicted from
    const firstScored = prefixLength > 0 ? 0 : 1;
    if (textTokens.length <= firstScored)
        throw new TextTooShortError(`The text has ${textTokens.length} token(s); teacher-forced scoring needs at least ${firstScored + 1}`);

    const windows: TokenWindow[] = [];
    let scoreFrom = firstScored;
    while (scoreFrom < textTokens.length) {
        // the first window starts at the text's start; later ones back up by contextTokens, and the last
        // one backs up further so it is as long as the others
        const start = windows.length === 0 ? 0 : Math.max(0, Math.min(scoreFrom - options.contextTokens, textTokens.length - capacity));
        const end = Math.min(textTokens.length, start + capacity);
        const tokens = [...options.prefix, ...textTokens.slice(start, end)];
        const rows: number[] = [];
        const targets: number[] = [];
        for (let j = scoreFrom; j < end; j++) {
            rows.push(prefixLength + (j - start) - 1);
            targets.push(textTokens[j]);
        }
        windows.push({start, tokens, rows, targets});
        scoreFrom = end;
    }
    return {windows, firstScored};
}
