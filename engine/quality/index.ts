// Teacher-forced quality of a skipped model against the full one: top-1 agreement, KL, bits per byte.
export {logSoftmax, argmax, klDivergence, referencePosition, QualityAccumulator, type QualityScore, type ReferencePosition} from "./metrics.js";
export {planWindows, type WindowOptions, type TokenWindow, type WindowPlan} from "./windows.js";
export {prepareTeacherForcedText, tokenizerOfModel, DEFAULT_WINDOW_TOKENS, type TextTokenizer, type TextWindowOptions, type TeacherForcedText} from "./text.js";
export {TeacherForcedScorer, type SkipDecoder, type ScorerOptions} from "./scorer.js";
export {measureScheduleQuality, type DepthQuality, type SweepOptions} from "./sweep.js";
export {TextTooShortError, InvalidWindowingError, QualityMeasurementCancelledError} from "./errors.js";
export {formatQualityTables, QUALITY_METRICS} from "./report.js";
export {renderQualityPlotSvg, niceScale, speedupScale, escapeXml, type QualityPlotOptions} from "./svg-plot.js";
