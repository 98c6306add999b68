// Summarizes a text of any length: one request when it fits the model's context, else summaries of
// parts and then a summary of those summaries (repeated while they still do not fit). The requests and
// the document are callbacks, so this runs in unit tests with a fake model.
import {splitByTokens, type CountTokens} from "./chunking.js";
import type {SummaryStep} from "./prompts.js";

export type SummaryEvent =
    /** the text did not fit: it will be summarized in `parts` parts (`round` 0 is the selection itself) */
    | {type: "chunked"; round: number; parts: number; tokens: number; budget: number}
    /** a request is about to run */
    | {type: "step"; round: number; step: SummaryStep};

export type SummaryDriver = {
    countTokens: CountTokens;
    /** the most tokens of text one request may carry (context minus the answer and the prompt around it) */
    textBudget: number;
    /** runs one request and returns the model's text (streaming it wherever the caller wants) */
    summarize: (text: string, step: SummaryStep, round: number) => Promise<string>;
    onEvent?: (event: SummaryEvent) => void;
    /** checked between requests */
    signal?: AbortSignal;
};

export class SummaryNotShrinkingError extends Error {
    override name = "SummaryNotShrinkingError";
}

/** Rounds beyond the first: each shrinks the text by about textBudget ÷ answer length, so a few are plenty. */
const MAX_ROUNDS = 6;

export type SummaryOutcome = {parts: number; rounds: number; text: string};

export async function summarizeLongText(text: string, driver: SummaryDriver): Promise<SummaryOutcome> {
    let current = text;
    let firstParts = 1;
    for (let round = 0; round < MAX_ROUNDS; round++) {
        driver.signal?.throwIfAborted();
        const chunks = await splitByTokens(current, driver.textBudget, driver.countTokens);
        if (chunks.length === 1) {
            const step: SummaryStep = round === 0 ? {kind: "whole"} : {kind: "combine", parts: firstParts};
            driver.onEvent?.({type: "step", round, step});
            const summary = await driver.summarize(current, step, round);
            return {parts: firstParts, rounds: round + 1, text: summary};
        }
        if (round === 0) firstParts = chunks.length;
        const tokens = chunks.reduce((sum, chunk) => sum + chunk.tokens, 0);
        driver.onEvent?.({type: "chunked", round, parts: chunks.length, tokens, budget: driver.textBudget});
        const summaries: string[] = [];
        for (const [index, chunk] of chunks.entries()) {
            driver.signal?.throwIfAborted();
            const step: SummaryStep = {kind: "part", part: index + 1, parts: chunks.length};
            driver.onEvent?.({type: "step", round, step});
            summaries.push((await driver.summarize(chunk.text, step, round)).trim());
        }
        const next = summaries.join("\n\n");
        if (next.length >= current.length)
            throw new SummaryNotShrinkingError(
                "The summaries of the parts are as long as the parts themselves, so they cannot be combined. " +
                    "Lower layerDial.maxTokens or raise layerDial.contextSize."
            );
        current = next;
    }
    throw new SummaryNotShrinkingError(
        `The text still did not fit after ${MAX_ROUNDS} rounds of summarizing. ` + "Summarize a smaller selection, or raise layerDial.contextSize."
    );
}

/** Tokens a chat template adds around the messages beyond what countTokens sees in the raw prompt. */
export const TEMPLATE_MARGIN_TOKENS = 32;

/**
 * How long a summary may be and how much text one request may carry. The answer is capped at a quarter
 * of the context, so each round of part summaries shrinks the text and small-context models still work.
 */
export function summaryBudget(contextSize: number, maxTokens: number, promptOverheadTokens: number): {answerTokens: number; textBudget: number} {
    const answerTokens = Math.max(16, Math.min(maxTokens, Math.floor(contextSize / 4)));
    return {answerTokens, textBudget: contextSize - answerTokens - promptOverheadTokens - TEMPLATE_MARGIN_TOKENS};
}
