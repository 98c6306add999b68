// Where an inline suggestion ends. On a line with text, it completes that line; on an empty line, it may
// write a block of lines, and ends at a blank line or at the first line indented less than the cursor (the
// block closed). Generation stops as soon as the boundary is seen, so no token is decoded past it.

export type SuggestionShape = {
    /** true when the cursor's line is empty or only indentation */
    multiline: boolean;
    /** the cursor line's indentation, when multiline */
    indentation: string;
    /** the rest of the cursor's line after the cursor */
    lineRemainder: string;
    /** the most lines a multi-line suggestion may have */
    maxLines: number;
};

export const DEFAULT_MAX_LINES = 16;

export function suggestionShape(prefix: string, suffix: string, maxLines = DEFAULT_MAX_LINES): SuggestionShape {
    const lineStart = prefix.slice(prefix.lastIndexOf("\n") + 1);
    const newline = suffix.indexOf("\n");
    const lineRemainder = newline < 0 ? suffix : suffix.slice(0, newline);
    const multiline = lineStart.trim().length === 0 && lineRemainder.trim().length === 0;
    return {multiline, indentation: multiline ? lineStart : "", lineRemainder, maxLines};
}

function indentWidth(line: string): number {
    let width = 0;
    for (const character of line) {
        if (character === " ") width++;
        else if (character === "\t") width += 4;
        else break;
    }
    return width;
}

/** the length of `text` to keep once the suggestion has reached its boundary; undefined while it goes on */
export function boundaryOf(shape: SuggestionShape, text: string): number | undefined {
    if (!shape.multiline) {
        const newline = text.indexOf("\n");
        return newline < 0 ? undefined : newline;
    }
    const cursorIndent = indentWidth(shape.indentation);
    let lineStart = 0;
    let lineIndex = 0;
    let sawContent = false;
    for (;;) {
        const newline = text.indexOf("\n", lineStart);
        // only a line whose break has arrived is judged; the last one may still grow
        if (newline < 0) return undefined;
        const line = text.slice(lineStart, newline);
        if (line.trim().length === 0) {
            if (sawContent) return Math.max(0, lineStart - 1);
        } else {
            // the first line continues at the cursor, so its indentation adds to the cursor's
            if (lineIndex > 0 && indentWidth(line) < cursorIndent) return Math.max(0, lineStart - 1);
            sawContent = true;
        }
        lineIndex++;
        if (lineIndex >= shape.maxLines) return newline;
        lineStart = newline + 1;
    }
}

/** the suggestion as inserted: no trailing blank space, and no repeat of what already follows the cursor */
export function finishSuggestion(shape: SuggestionShape, text: string): string {
    let suggestion = text.replace(/\s+$/, "");
    const remainder = shape.lineRemainder.trim();
    if (!shape.multiline && remainder.length > 0 && suggestion.endsWith(remainder))
        suggestion = suggestion.slice(0, suggestion.length - remainder.length).replace(/\s+$/, "");
    return suggestion;
}
