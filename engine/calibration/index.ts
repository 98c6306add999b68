// Calibrated layer orders: measure which middle layers a model misses least, cache the order per model file.
export {
    calibrateLayerOrder,
    hasCachedCalibration,
    defaultMeasurementThreads,
    DEFAULT_CALIBRATION_MAX_TOKENS,
    type CalibrateLayerOrderOptions,
    type CalibrateLayerOrderResult
} from "./calibrate.js";
export {
    CALIBRATION_FORMAT,
    defaultCalibrationCacheDirectory,
    calibrationCacheFile,
    readCachedCalibration,
    readCalibrationFile,
    writeCalibration,
    listCalibrations,
    textSha256,
    type CalibrationEntry,
    type CachedCalibration,
    type ReadCalibrationOptions
} from "./cache.js";
export {modelFingerprint, FULL_HASH_LIMIT, type ModelFingerprint} from "./fingerprint.js";
export {greedyRemovalOrder, singleLayerRemovalOrder, type MaskScorer, type LayerSearchOptions, type LayerSearchResult} from "./search.js";
export {CALIBRATION_METHODS, formatCalibrationProgress, type CalibrationMethod, type CalibrationProgress, type LayerOrderLevel} from "./progress.js";
export {DEFAULT_CALIBRATION_TEXT, DEFAULT_CALIBRATION_TEXT_NAME} from "./default-text.js";
export {CalibrationCancelledError, CalibrationUnsupportedError} from "./errors.js";
