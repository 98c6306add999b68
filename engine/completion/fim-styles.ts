// Fill-in-the-middle prompt styles, recognised by the marker tokens in a model's vocabulary (never by its
// file name): a Qwen2.5-Coder GGUF called "my-model.gguf" still has <|fim_prefix|> in its vocabulary.

export type FimStyleName = "qwen2.5-coder" | "starcoder2" | "codellama" | "deepseek-coder";

export type FimStyle = {
    name: FimStyleName;
    /** the markers, as the vocabulary spells them */
    prefix: string;
    suffix: string;
    middle: string;
    /** starts a file in a multi-file prompt (context from other open editors); styles without one get comments */
    fileSeparator?: string;
    /** tokens after which the middle is complete (besides the model's own end-of-generation tokens) */
    endTokens: readonly string[];
};

export const FIM_STYLES: readonly FimStyle[] = [
    {
        name: "qwen2.5-coder",
        prefix: "<|fim_prefix|>",
        suffix: "<|fim_suffix|>",
        middle: "<|fim_middle|>",
        fileSeparator: "<|file_sep|>",
        endTokens: ["<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>", "<|im_end|>"]
    },
    {
        name: "starcoder2",
        prefix: "<fim_prefix>",
        suffix: "<fim_suffix>",
        middle: "<fim_middle>",
        fileSeparator: "<file_sep>",
        endTokens: ["<|endoftext|>", "<file_sep>", "<fim_pad>"]
    },
    // SentencePiece spells CodeLlama's markers with the word-boundary mark, as its tokenizer.json does
    {name: "codellama", prefix: "\u2581<PRE>", suffix: "\u2581<SUF>", middle: "\u2581<MID>", endTokens: ["\u2581<EOT>"]},
    {
        name: "deepseek-coder",
        prefix: "<\uFF5Cfim\u2581begin\uFF5C>",
        suffix: "<\uFF5Cfim\u2581hole\uFF5C>",
        middle: "<\uFF5Cfim\u2581end\uFF5C>",
        endTokens: ["<|EOT|>", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>"]
    }
];

/** What prompt building needs from a model's tokenizer. */
export type CompletionVocabulary = {
    /** the id of the special (control) token spelled exactly `text`, if the vocabulary has one */
    specialToken(text: string): number | undefined;
    /** plain text to tokens: marker spellings inside the text stay plain text; no BOS */
    tokenize(text: string): number[];
    /** the token a prompt starts with, when the model wants one */
    bos: number | undefined;
};

export type ResolvedFimStyle = {
    style: FimStyle;
    prefix: number;
    suffix: number;
    middle: number;
    fileSeparator: number | undefined;
    endTokens: number[];
};

/** the first style whose three markers are all special tokens of the vocabulary; undefined: plain prefix completion */
export function detectFimStyle(vocabulary: CompletionVocabulary): ResolvedFimStyle | undefined {
    for (const style of FIM_STYLES) {
        const prefix = vocabulary.specialToken(style.prefix);
        const suffix = vocabulary.specialToken(style.suffix);
        const middle = vocabulary.specialToken(style.middle);
        if (prefix === undefined || suffix === undefined || middle === undefined) continue;
        const endTokens = style.endTokens.map((text) => vocabulary.specialToken(text)).filter((token) => token !== undefined);
        const fileSeparator = style.fileSeparator === undefined ? undefined : vocabulary.specialToken(style.fileSeparator);
        return {style, prefix, suffix, middle, fileSeparator, endTokens};
    }
    return undefined;
}
