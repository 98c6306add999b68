// The CompletionVocabulary of a loaded model, through node-llama-cpp's tokenizer.
import type {LlamaModel, Token} from "node-llama-cpp";
import {tokenizeOrExplain} from "../generation/unencodable-text.js";
import type {CompletionVocabulary} from "./fim-styles.js";

export function modelVocabulary(model: LlamaModel): CompletionVocabulary {
    const bos = model.tokens.bos;
    const addBos = bos != null && model.fileInfo.metadata.tokenizer?.ggml?.add_bos_token !== false;
    return {
        specialToken(text) {
            // a special token is one token when special tokens are parsed, and several when they are not
            let asSpecial: Token[];
            let asText: Token[];
            try {
                asSpecial = model.tokenize(text, true);
                asText = model.tokenize(text, false);
            } catch {
                // a vocabulary that cannot even spell the marker (no byte tokens for '|' or '<') has no such token
                return undefined;
            }
            if (asSpecial.length !== 1 || asText.length <= 1) return undefined;
            const token = asSpecial[0];
            return spelling(model.detokenize([token as Token], true)) === spelling(text) ? token : undefined;
        },
        tokenize: (text) => tokenizeOrExplain(() => model.tokenize(text, false)),
        bos: addBos ? bos : undefined
    };
}

/** SentencePiece may show its word-boundary mark as a space */
function spelling(text: string): string {
    return text.replace(/\u2581/g, " ").trim();
}
