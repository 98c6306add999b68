// A SentencePiece-style ("llama" tokenizer model) vocabulary for synthetic models.
// The 256 byte tokens guarantee that any text tokenizes: llama.cpp's SPM tokenizer falls
// back to <0xNN> tokens for every character that no piece covers.
import { gguf, type GgufMetadataEntry } from "./metadata.js";

/** llama_token_type values stored in tokenizer.ggml.token_type. */
export const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export const UNK_TOKEN_ID = 0;
export const BOS_TOKEN_ID = 1;
export const EOS_TOKEN_ID = 2;
const BYTE_TOKEN_COUNT = 256;
/** Smallest vocabulary: the 3 special tokens, 256 bytes and the lone "▁" piece. */
export const MIN_VOCAB_SIZE = 3 + BYTE_TOKEN_COUNT + 1;

/** SentencePiece's visible space, which marks the start of a word. */
export const WORD_BOUNDARY = "\u2581";

// Words of prose and code, so that typical prompts become few tokens rather than bytes.
const COMMON_WORDS = [
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "was", "on", "be", "at", "by",
    "this", "are", "or", "from", "an", "not", "but", "have", "you", "we", "they", "can", "will", "all",
    "hello", "world", "model", "layer", "token", "text", "code", "value", "data", "file", "name", "list",
    "def", "return", "class", "import", "if", "else", "elif", "while", "function", "const", "let", "var",
    "int", "float", "string", "bool", "true", "false", "none", "null", "self", "print", "new", "public",
    "static", "void", "async", "await", "type", "interface", "export", "from", "for", "in", "range", "len",
    "x", "y", "i", "j", "n", "f", "a", "b"
];

export type LlamaVocabulary = {
    readonly tokens: readonly string[];
    readonly scores: readonly number[];
    readonly tokenTypes: readonly number[];
};

export class VocabularyTooSmallError extends Error {
    constructor(requested: number) {
        super(`A vocabulary of ${requested} tokens cannot hold the 3 special tokens, 256 byte tokens, ` +
            `the extra control tokens and "▁"; use at least ${MIN_VOCAB_SIZE} plus one per extra control token`);
        this.name = "VocabularyTooSmallError";
    }
}

function* candidatePieces(): Generator<string> {
    yield WORD_BOUNDARY;
    for (let code = 33; code <= 126; code++)
        yield String.fromCharCode(code);
    // every prefix of a word is a piece too, so the SPM bigram merges can grow the whole word
    for (const word of COMMON_WORDS)
        for (let length = 1; length <= word.length; length++) {
            yield WORD_BOUNDARY + word.slice(0, length);
            yield word.slice(0, length);
        }
    const letters = "abcdefghijklmnopqrstuvwxyz";
    for (const first of letters)
        for (const second of letters) {
            yield WORD_BOUNDARY + first + second;
            yield first + second;
        }
    for (const first of letters)
        for (const second of letters)
            for (const third of letters) {
                yield WORD_BOUNDARY + first + second + third;
                yield first + second + third;
            }
    // beyond ~36k tokens: numbered filler pieces that never match real text
    for (let index = 0; ; index++)
        yield `${WORD_BOUNDARY}<piece${index}>`;
}

/**
 * `extraControlTokens` come right after the byte tokens (ids 3..258 stay bytes for every model);
 * some llama.cpp code paths look special tokens up by text, e.g. "<|endoftext|>" for phi3.
 */
export function buildLlamaVocabulary(vocabSize: number, extraControlTokens: readonly string[] = []): LlamaVocabulary {
    if (!Number.isSafeInteger(vocabSize) || vocabSize < MIN_VOCAB_SIZE + extraControlTokens.length)
        throw new VocabularyTooSmallError(vocabSize);

    const tokens: string[] = ["<unk>", "<s>", "</s>"];
    const scores: number[] = [0, 0, 0];
    const tokenTypes: number[] = [TokenType.unknown, TokenType.control, TokenType.control];
    for (let byte = 0; byte < BYTE_TOKEN_COUNT; byte++) {
        tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
        scores.push(0);
        tokenTypes.push(TokenType.byte);
    }

    // llama.cpp aborts on a vocabulary that spells two tokens alike
    for (const token of new Set(extraControlTokens)) {
        tokens.push(token);
        scores.push(0);
        tokenTypes.push(TokenType.control);
    }
    const firstPieceId = tokens.length;

    const seen = new Set(tokens);
    const pieces = candidatePieces();
    while (tokens.length < vocabSize) {
        const piece = pieces.next().value as string;
        if (seen.has(piece))
            continue;
        seen.add(piece);
        // earlier pieces merge first: SPM picks the highest-scoring bigram
        scores.push(-(tokens.length - firstPieceId));
        tokens.push(piece);
        tokenTypes.push(TokenType.normal);
    }
    return { tokens, scores, tokenTypes };
}

export function llamaVocabularyMetadata(vocabulary: LlamaVocabulary): GgufMetadataEntry[] {
    return [
        { key: "tokenizer.ggml.model", value: gguf.str("llama") },
        { key: "tokenizer.ggml.tokens", value: gguf.strings(vocabulary.tokens) },
        { key: "tokenizer.ggml.scores", value: gguf.numbers("float32", vocabulary.scores) },
        { key: "tokenizer.ggml.token_type", value: gguf.numbers("int32", vocabulary.tokenTypes) },
        { key: "tokenizer.ggml.bos_token_id", value: gguf.u32(BOS_TOKEN_ID) },
        { key: "tokenizer.ggml.eos_token_id", value: gguf.u32(EOS_TOKEN_ID) },
        { key: "tokenizer.ggml.unknown_token_id", value: gguf.u32(UNK_TOKEN_ID) },
        { key: "tokenizer.ggml.add_bos_token", value: gguf.bool(true) },
        { key: "tokenizer.ggml.add_eos_token", value: gguf.bool(false) }
    ];
}
