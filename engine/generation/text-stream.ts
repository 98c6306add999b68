// Turns generated tokens into text pieces as they arrive. A character may span several tokens (UTF-8
// bytes of an emoji, say); a piece is only released once it no longer ends in a partial character.
//
// Each token costs one detokenize of a short window: the tokens since the window's start (a few tokens
// before the released text's end), whose text up to the released end is known from the step before. The
// new piece is what the new tokens add to it. Detokenizing the whole answer on every token cost time that
// grew with the answer; detokenizing the new tokens alone loses a SentencePiece token's leading space,
// which depends on what precedes it.

import type {LlamaModel, Token} from "node-llama-cpp";

/** the text of `tokens`, as a whole */
export type Detokenize = (tokens: readonly number[]) => string;

const replacementCharacter = "\uFFFD";
/** released tokens a new window starts with, as context */
const contextTokens = 4;
/** the window moves on when it holds this many tokens (one extra detokenize, of its context, each time) */
const maxWindowTokens = 48;

export class TextStream {
    /** the tail of `continuesFrom`, then the answer's tokens */
    private readonly tokens: number[];
    private readonly answerStart: number;
    private releasedTokens: number;
    private released = "";
    private windowStart = 0;
    /** the text of tokens [windowStart, releasedTokens); undefined when it must be detokenized again */
    private windowText: string | undefined;

    /** `continuesFrom`: tokens the answer continues (a completion's prompt), for its first token's spacing */
    constructor(
        private readonly detokenize: Detokenize,
        continuesFrom: readonly number[] = []
    ) {
        this.tokens = continuesFrom.slice(-contextTokens);
        this.answerStart = this.tokens.length;
        this.releasedTokens = this.tokens.length;
    }

    /** the new text that `token` completes (possibly empty) */
    push(token: number): string {
        this.tokens.push(token);
        const pending = this.pendingText();
        if (pending.piece.endsWith(replacementCharacter)) return "";
        return this.release(pending);
    }

    /** everything, including a trailing partial character, when generation ends */
    finish(): string {
        return this.releasedTokens < this.tokens.length ? this.release(this.pendingText()) : "";
    }

    get text(): string {
        return this.released;
    }

    /** the text the unreleased tokens add, and the window's text through them */
    private pendingText(): {piece: string; windowText: string | undefined} {
        if (this.releasedTokens - this.windowStart > maxWindowTokens || this.windowText === undefined) {
            this.windowStart = Math.max(0, this.releasedTokens - contextTokens);
            this.windowText = this.detokenize(this.tokens.slice(this.windowStart, this.releasedTokens));
        }
        const text = this.detokenize(this.tokens.slice(this.windowStart));
        if (text.startsWith(this.windowText)) return {piece: text.slice(this.windowText.length), windowText: text};
        // a tokenizer that rewrites text already written (one that tidies spaces before punctuation): the
        // new tokens' own text, and a fresh window next time
        return {piece: this.detokenize(this.tokens.slice(Math.max(this.answerStart, this.releasedTokens))), windowText: undefined};
    }

    private release({piece, windowText}: {piece: string; windowText: string | undefined}): string {
        this.releasedTokens = this.tokens.length;
        this.windowText = windowText;
        this.released += piece;
        return piece;
    }
}

/** a Detokenize over a node-llama-cpp model, without special tokens' text */
export function modelDetokenize(model: Pick<LlamaModel, "detokenize">): Detokenize {
    return (tokens) => model.detokenize(tokens as readonly Token[], false);
}
