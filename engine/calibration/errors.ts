// What can stop a calibration. Messages reach people through `layer-dial calibrate` and the extension.

export class CalibrationCancelledError extends Error {
    override name = "CalibrationCancelledError";
    constructor(message = "Calibration was cancelled; nothing was cached") {
        super(message);
    }
}

export class CalibrationUnsupportedError extends Error {
    override name = "CalibrationUnsupportedError";
}
