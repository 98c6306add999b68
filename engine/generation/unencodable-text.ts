// Text the model's vocabulary cannot encode. llama.cpp throws a C++ exception for a character that a
// vocabulary without byte tokens cannot spell; our addon patch (native/patches/addon/05-tokenize-exceptions.diff)
// turns it into a plain JS error, and this names it so the host and the CLI report it as bad input.
export class UnencodableTextError extends Error {
    override name = "UnencodableTextError";
}

const ADDON_MESSAGE = /vocabulary cannot encode this text/;

/** runs a tokenization; the addon's "cannot encode" error comes back as an UnencodableTextError that says what to do */
export function tokenizeOrExplain<T>(tokenize: () => T): T {
    try {
        return tokenize();
    } catch (error) {
        if (error instanceof Error && ADDON_MESSAGE.test(error.message))
            throw new UnencodableTextError(
                "The model's vocabulary cannot encode some characters of this text (it has no byte tokens for them). " +
                    "Remove those characters, or choose a model with a byte-level vocabulary.",
                {cause: error}
            );
        throw error;
    }
}
