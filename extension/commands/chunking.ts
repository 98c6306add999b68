// Splits a selection that does not fit the model's context into parts that do, by real token counts
// (the engine's tokenizer, through countTokens). Parts are cut at line breaks where possible, then at
// whitespace, and concatenated they give back the input exactly, so nothing is dropped or repeated.

export type CountTokens = (text: string) => Promise<number>;

export type TextChunk = {text: string; tokens: number};

export class ChunkBudgetError extends Error {
    override name = "ChunkBudgetError";
}

/** Estimates aim a little under the budget so most parts fit on the first count. */
const ESTIMATE_HEADROOM = 0.9;

/** Greedy packing of lines into pieces of at most `maxChars` characters; an overlong line is cut at whitespace. */
export function packLines(text: string, maxChars: number): string[] {
    const limit = Math.max(1, Math.floor(maxChars));
    const pieces: string[] = [];
    let current = "";
    for (const line of text.split(/(?<=\n)/)) {
        if (current.length + line.length <= limit) {
            current += line;
            continue;
        }
        if (current.length > 0) pieces.push(current);
        let rest = line;
        while (rest.length > limit) {
            const cut = cutPoint(rest, limit);
            pieces.push(rest.slice(0, cut));
            rest = rest.slice(cut);
        }
        current = rest;
    }
    if (current.length > 0) pieces.push(current);
    return pieces;
}

/** Where to cut `text` at or before `limit`: after the last whitespace in the second half, else at `limit`. */
function cutPoint(text: string, limit: number): number {
    for (let i = limit; i > limit / 2; i--) {
        if (/\s/.test(text[i - 1])) return i;
    }
    return limit;
}

/** Splits near the middle: at the line break closest to it, else at whitespace, else in the middle. */
export function splitNearMiddle(text: string): [string, string] {
    const middle = Math.floor(text.length / 2);
    let best = -1;
    for (const separator of ["\n", " ", "\t"]) {
        const before = text.lastIndexOf(separator, middle);
        const after = text.indexOf(separator, middle);
        for (const index of [before, after]) {
            const cut = index + 1;
            if (index >= 0 && cut > 0 && cut < text.length && (best < 0 || Math.abs(cut - middle) < Math.abs(best - middle))) best = cut;
        }
        if (best > 0) break;
    }
    const cut = best > 0 ? best : Math.max(1, middle);
    return [text.slice(0, cut), text.slice(cut)];
}

/**
 * The text as parts of at most `maxTokens` tokens each (one part when it fits). Costs one countTokens
 * call for the whole text and about one per part.
 */
export async function splitByTokens(text: string, maxTokens: number, countTokens: CountTokens): Promise<TextChunk[]> {
    if (!Number.isFinite(maxTokens) || maxTokens < 1)
        throw new ChunkBudgetError(
            `There is no room for text in the model's context (${maxTokens} tokens per part). ` + "Raise layerDial.contextSize or lower layerDial.maxTokens."
        );
    const total = await countTokens(text);
    if (total <= maxTokens) return [{text, tokens: total}];

    const charsPerToken = text.length / Math.max(total, 1);
    const chunks: TextChunk[] = [];
    const fit = async (piece: string): Promise<void> => {
        const tokens = await countTokens(piece);
        if (tokens <= maxTokens) {
            chunks.push({text: piece, tokens});
            return;
        }
        if (piece.length <= 1) throw new ChunkBudgetError(`One character is ${tokens} tokens, more than the ${maxTokens} that fit in a part.`);
        const [first, second] = splitNearMiddle(piece);
        await fit(first);
        await fit(second);
    };
    for (const piece of packLines(text, maxTokens * charsPerToken * ESTIMATE_HEADROOM)) await fit(piece);
    return chunks;
}
