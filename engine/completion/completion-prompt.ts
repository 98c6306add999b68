// The prompt of one inline completion: the text around the cursor within token budgets, a little context
// from other open files, laid out as fill-in-the-middle when the model has the markers and as plain prefix
// completion otherwise. The prompt's start moves in steps of whole line blocks, so consecutive keystrokes
// share a long token prefix and the engine keeps its KV cache.
import {detectFimStyle, type CompletionVocabulary, type FimStyleName, type ResolvedFimStyle} from "./fim-styles.js";

export type ContextSnippet = {
    /** shown to the model as the file's name */
    path: string;
    text: string;
};

export type CompletionInput = {
    /** the document's text before the cursor */
    prefix: string;
    /** the document's text after the cursor */
    suffix: string;
    /** the document's path (relative to the workspace when it has one) */
    path?: string;
    /** the language's line comment ("#", "//", "--"), for context in styles without file separators. Defaults to "//". */
    lineComment?: string;
    /** short excerpts of other open files of the same language */
    context?: readonly ContextSnippet[];
};

export type PromptBudget = {
    prefixTokens: number;
    suffixTokens: number;
    contextTokens: number;
};

/** The suffix is evaluated again at every request (fill-in-the-middle puts it after the prefix), so it gets
 *  the smallest share: 256 tokens of it took about 4 s at 1x with the 24-layer benchmark model on 2 cores. */
export const DEFAULT_PROMPT_BUDGET: PromptBudget = {prefixTokens: 1024, suffixTokens: 128, contextTokens: 512};

/** the budget scaled down, in proportion, so that prompt and suggestion fit `available` tokens */
export function budgetWithin(budget: PromptBudget, available: number): PromptBudget {
    const total = budget.prefixTokens + budget.suffixTokens + budget.contextTokens;
    if (total <= available) return budget;
    const scale = Math.max(0, available) / total;
    return {
        prefixTokens: Math.floor(budget.prefixTokens * scale),
        suffixTokens: Math.floor(budget.suffixTokens * scale),
        contextTokens: Math.floor(budget.contextTokens * scale)
    };
}

/** the prefix's first line is a multiple of this, so the prompt's start holds still while the user types */
export const PREFIX_LINE_STEP = 32;

export type CompletionPrompt = {
    tokens: number[];
    /** the fill-in-the-middle style, or "prefix" for plain prefix completion */
    style: FimStyleName | "prefix";
    /** tokens that end the suggestion besides the model's end-of-generation tokens */
    stopTokens: number[];
    prefixTokens: number;
    suffixTokens: number;
    contextTokens: number;
    /** the prefix's first line within the text given (0: nothing was cut) */
    prefixFirstLine: number;
};

/** lines with their line breaks, so joining gives the text back */
function splitLines(text: string): string[] {
    const lines = text.split(/(?<=\n)/);
    return lines.length === 1 && lines[0] === "" ? [] : lines;
}

/** the tail of `prefix` that fits the budget, starting at a line that is a multiple of PREFIX_LINE_STEP */
function fitPrefix(vocabulary: CompletionVocabulary, prefix: string, budget: number): {tokens: number[]; firstLine: number} {
    const all = vocabulary.tokenize(prefix);
    if (all.length <= budget) return {tokens: all, firstLine: 0};
    const lines = splitLines(prefix);
    // the earliest line whose tail fits, by per-line counts (close to the real count, corrected below)
    let firstFit = lines.length;
    for (let used = 0; firstFit > 0; firstFit--) {
        const count = vocabulary.tokenize(lines[firstFit - 1]).length;
        if (used + count > budget) break;
        used += count;
    }
    firstFit = Math.min(firstFit, lines.length - 1);
    let firstLine = Math.ceil(firstFit / PREFIX_LINE_STEP) * PREFIX_LINE_STEP;
    if (firstLine >= lines.length - 1) firstLine = firstFit;
    for (;;) {
        const tokens = vocabulary.tokenize(lines.slice(firstLine).join(""));
        if (tokens.length <= budget || firstLine >= lines.length - 1)
            return {tokens: tokens.length <= budget ? tokens : tokens.slice(tokens.length - budget), firstLine};
        const next = (Math.floor(firstLine / PREFIX_LINE_STEP) + 1) * PREFIX_LINE_STEP;
        firstLine = next < lines.length - 1 ? next : firstLine + 1;
    }
}

/** the head of `suffix` that fits the budget, in whole lines (or a cut first line) */
function fitSuffix(vocabulary: CompletionVocabulary, suffix: string, budget: number): number[] {
    if (budget <= 0 || suffix.length === 0) return [];
    const all = vocabulary.tokenize(suffix);
    if (all.length <= budget) return all;
    const lines = splitLines(suffix);
    let kept = "";
    for (const line of lines) {
        if (vocabulary.tokenize(kept + line).length > budget) break;
        kept += line;
    }
    return kept.length > 0 ? vocabulary.tokenize(kept) : all.slice(0, budget);
}

/** context snippets as text, whole snippets first come first, cut at a line when the budget ends */
function fitContext(vocabulary: CompletionVocabulary, blocks: readonly string[], budget: number): string[] {
    const kept: string[] = [];
    let used = 0;
    for (const block of blocks) {
        const count = vocabulary.tokenize(block).length;
        if (used + count <= budget) {
            kept.push(block);
            used += count;
            continue;
        }
        let partial = "";
        for (const line of splitLines(block)) {
            if (used + vocabulary.tokenize(partial + line).length > budget) break;
            partial += line;
        }
        if (partial.length > 0) kept.push(partial.endsWith("\n") ? partial : `${partial}\n`);
        break;
    }
    return kept;
}

function withNewline(text: string): string {
    return text.endsWith("\n") ? text : `${text}\n`;
}

export function buildCompletionPrompt(
    vocabulary: CompletionVocabulary,
    input: CompletionInput,
    budget: PromptBudget = DEFAULT_PROMPT_BUDGET,
    fim: ResolvedFimStyle | undefined = detectFimStyle(vocabulary)
): CompletionPrompt {
    const prefix = fitPrefix(vocabulary, input.prefix, budget.prefixTokens);
    const snippets = (input.context ?? []).filter((snippet) => snippet.text.trim().length > 0);
    const start = vocabulary.bos === undefined ? [] : [vocabulary.bos];

    if (fim?.fileSeparator !== undefined) {
        // repository-style prompt: each other file after a file separator, then the current file's markers
        const blocks = fitContext(
            vocabulary,
            snippets.map((snippet) => `${snippet.path}\n${withNewline(snippet.text)}`),
            budget.contextTokens
        );
        const context = blocks.flatMap((block) => [fim.fileSeparator!, ...vocabulary.tokenize(block)]);
        const header = context.length > 0 ? [...context, fim.fileSeparator, ...vocabulary.tokenize(`${input.path ?? "untitled"}\n`)] : [];
        const suffix = fitSuffix(vocabulary, input.suffix, budget.suffixTokens);
        return {
            tokens: [...start, ...header, fim.prefix, ...prefix.tokens, fim.suffix, ...suffix, fim.middle],
            style: fim.style.name,
            stopTokens: fim.endTokens,
            prefixTokens: prefix.tokens.length,
            suffixTokens: suffix.length,
            contextTokens: header.length,
            prefixFirstLine: prefix.firstLine
        };
    }

    // no file separators: other files become a comment-headed block before the prefix
    const comment = input.lineComment ?? "//";
    const blocks = fitContext(
        vocabulary,
        snippets.map((snippet) => `${comment} ${snippet.path}\n${withNewline(snippet.text)}\n`),
        budget.contextTokens
    );
    const context = blocks.length > 0 ? vocabulary.tokenize(blocks.join("")) : [];
    if (fim === undefined)
        return {
            tokens: [...start, ...context, ...prefix.tokens],
            style: "prefix",
            stopTokens: [],
            prefixTokens: prefix.tokens.length,
            suffixTokens: 0,
            contextTokens: context.length,
            prefixFirstLine: prefix.firstLine
        };
    const suffix = fitSuffix(vocabulary, input.suffix, budget.suffixTokens);
    return {
        tokens: [...start, fim.prefix, ...context, ...prefix.tokens, fim.suffix, ...suffix, fim.middle],
        style: fim.style.name,
        stopTokens: fim.endTokens,
        prefixTokens: prefix.tokens.length,
        suffixTokens: suffix.length,
        contextTokens: context.length,
        prefixFirstLine: prefix.firstLine
    };
}
