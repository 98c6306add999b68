// What can be wrong with a teacher-forced measurement. Messages say what to do instead, since they reach
// people through `npm run bench -- quality` and the extension.

export class TextTooShortError extends Error {
    override name = "TextTooShortError";
}

export class InvalidWindowingError extends Error {
    override name = "InvalidWindowingError";
}

export class QualityMeasurementCancelledError extends Error {
    override name = "QualityMeasurementCancelledError";
    constructor(message = "The quality measurement was cancelled") {
        super(message);
    }
}
