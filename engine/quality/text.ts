// Turns a text into teacher-forcing windows for one model's tokenizer.
import type {LlamaModel, Token} from "node-llama-cpp";
import {planWindows, type WindowPlan} from "./windows.js";

/** What scoring needs from a tokenizer; a LlamaModel provides it through tokenizerOfModel. */
export type TextTokenizer = {
    tokenize(text: string): number[];
    detokenize(tokens: readonly number[]): string;
    /** put before every window when the model expects it */
    bos: number | undefined;
};

export function tokenizerOfModel(model: LlamaModel): TextTokenizer {
    const bos = model.tokens.bos;
    // the same rule as plain-completion prompts (engine/generation/prompt.ts): BOS unless the file says not to
    const addBos = bos != null && model.fileInfo.metadata.tokenizer?.ggml?.add_bos_token !== false;
    return {
        tokenize: (text) => model.tokenize(text, false).map(Number),
        detokenize: (tokens) => model.detokenize(tokens as Token[]),
        bos: addBos ? bos : undefined
    };
}

export type TextWindowOptions = {
    /** tokens per window including BOS; at most the context size. Defaults to 256. */
    windowTokens?: number;
    /** context repeated before each later window's first scored token. Defaults to a quarter window. */
    contextTokens?: number;
    /** score only the text's first maxTokens tokens (calibration time grows with it) */
    maxTokens?: number;
};

export type TeacherForcedText = {
    name: string;
    windowTokens: number;
    contextTokens: number;
    /** text tokens before windowing (after maxTokens) */
    tokenCount: number;
    /** whether maxTokens cut the text short */
    truncated: boolean;
    plan: WindowPlan;
    /** positions scored: every text token once, less the first when there is no BOS */
    scoredTokens: number;
    /** UTF-8 bytes of the scored tokens' text, the divisor of bits per byte */
    scoredBytes: number;
};

export const DEFAULT_WINDOW_TOKENS = 256;

export function prepareTeacherForcedText(tokenizer: TextTokenizer, text: string, options: TextWindowOptions & {name?: string} = {}): TeacherForcedText {
    const windowTokens = options.windowTokens ?? DEFAULT_WINDOW_TOKENS;
    const contextTokens = options.contextTokens ?? Math.floor(windowTokens / 4);
    const all = tokenizer.tokenize(text);
    const tokens = options.maxTokens != null ? all.slice(0, options.maxTokens) : all;
    const plan = planWindows(tokens, {windowTokens, contextTokens, prefix: tokenizer.bos != null ? [tokenizer.bos] : []});
    const scored = tokens.slice(plan.firstScored);
    return {
        name: options.name ?? "text",
        windowTokens,
        contextTokens,
        tokenCount: tokens.length,
        truncated: tokens.length < all.length,
        plan,
        scoredTokens: scored.length,
        scoredBytes: Buffer.byteLength(tokenizer.detokenize(scored), "utf8")
    };
}
