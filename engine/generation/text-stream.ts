// Turns generated tokens into text pieces as they arrive. A character may span several tokens (UTF-8
// bytes of an emoji, say); a piece is only released once it no longer ends in a partial character.
export type Detokenize = (tokens: readonly number[]) => string;

const replacementCharacter = "\uFFFD";

export class TextStream {
    private readonly tokens: number[] = [];
    private released = "";

    constructor(private readonly detokenize: Detokenize) {}

    /** the new text that `token` completes (possibly empty) */
    push(token: number): string {
        this.tokens.push(token);
        const text = this.detokenize(this.tokens);
        if (text.endsWith(replacementCharacter) || !text.startsWith(this.released)) return "";
        const piece = text.slice(this.released.length);
        this.released = text;
        return piece;
    }

    /** everything, including a trailing partial character, when generation ends */
    finish(): string {
        const text = this.detokenize(this.tokens);
        const piece = text.startsWith(this.released) ? text.slice(this.released.length) : "";
        this.released = text;
        return piece;
    }

    get text(): string {
        return this.released;
    }
}
