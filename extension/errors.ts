// Errors the extension raises itself, one small named class each. Their messages are written for the
// user (what went wrong, then the next step); report-error.ts adds the matching buttons.

/** `layerDial.model` is empty. */
export class NoModelConfiguredError extends Error {
    override name = "NoModelConfiguredError";
}

/** The configured model path does not exist or is not a file. */
export class ModelFileMissingError extends Error {
    override name = "ModelFileMissingError";
}

/** The file exists but does not start with the GGUF magic (a partial download, or not a model). */
export class NotAGgufFileError extends Error {
    override name = "NotAGgufFileError";
}

/** A relative model path with no workspace folder to resolve it against. */
export class RelativeModelPathError extends Error {
    override name = "RelativeModelPathError";
}

/** An hf: URI whose file has not been downloaded yet; downloading needs the user's go-ahead. */
export class ModelNotDownloadedError extends Error {
    override name = "ModelNotDownloadedError";
    constructor(
        message: string,
        readonly uri: string
    ) {
        super(message);
    }
}

/** A model setting that is neither a path nor a supported hf: URI. */
export class UnsupportedModelUriError extends Error {
    override name = "UnsupportedModelUriError";
}

/** The command needs selected text (or an open editor) and there is none. */
export class NoSelectionError extends Error {
    override name = "NoSelectionError";
}

/** The selection is only whitespace. */
export class BlankSelectionError extends Error {
    override name = "BlankSelectionError";
}

/** The selection looks like binary data decoded as text. */
export class BinarySelectionError extends Error {
    override name = "BinarySelectionError";
}

export class SelectionTooLargeError extends Error {
    override name = "SelectionTooLargeError";
}

/** A model download failed part-way; running it again resumes. */
export class ModelDownloadFailedError extends Error {
    override name = "ModelDownloadFailedError";
    /** what to download again (undefined: the recommended model) */
    constructor(
        message: string,
        readonly uri?: string
    ) {
        super(message);
    }
}

/** The user stopped the operation. Never shown as an error. */
export class OperationCancelledError extends Error {
    override name = "OperationCancelledError";
    constructor(message = "Cancelled") {
        super(message);
    }
}

/** The extension's host bundle or its native build (dist/native) is missing: a broken install or an unbuilt checkout. */
export class NativeBuildMissingError extends Error {
    override name = "NativeBuildMissingError";
}
