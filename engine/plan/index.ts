// The skip planner: which layers to skip for a requested speedup. Pure functions, no I/O.
export type {ModelShape} from "./model-shape.js";
export {validateModelShape, layersByAttentionType} from "./model-shape.js";
export {
    STRATEGY_NAMES,
    DEFAULT_STRATEGY,
    parseStrategyName,
    removalOrderFor,
    validateCalibratedOrder,
    topRemovalOrder,
    bottomRemovalOrder,
    middleRemovalOrder,
    paperKeptLayersForRatio,
    paperKeptLayersAtDepth,
    type StrategyName
} from "./strategies.js";
export {evenRemovalOrder, evenMaxGapBound} from "./even-order.js";
export {buildSchedule, keptLayersAtDepth, reachableDepths, respectAttentionTypes, type SkipSchedule, type ScheduleOptions} from "./schedule.js";
export {
    COST_MODEL_FORMAT,
    DEFAULT_BYTES_PER_SECOND,
    DEFAULT_CONTEXT_TOKENS,
    meanDecodeContextTokens,
    estimateCostModelFromTensorBytes,
    uniformCostModel,
    secondsPerToken,
    predictedSpeedup,
    validateCostModel,
    effectiveContextTokens,
    effectiveLayerSeconds,
    effectiveAttentionSeconds,
    type AttentionDepthCurve,
    type ContextCurve,
    type DepthCurve,
    type CostModel,
    type PredictionContext,
    type TensorBytesEstimate
} from "./cost-model.js";
export {layerAndFixedBytes, type TensorSize, type LayerAndFixedBytes, type TensorBytesOptions} from "./tensor-bytes.js";
export {calibrateCostModel, MIN_CONTEXT_SPREAD_TOKENS, withEngineStepSeconds, type DecodeTiming} from "./calibration.js";
export {planForSpeedup, planForDepth, dialStops, describeKeptLayers, skipMaskKeeping, type PlannerInput, type SkipPlan, type DialStop} from "./plan.js";
export {
    expectedTokensPerStep,
    predictedLosslessSpeedup,
    bestDraftLength,
    fitVerifyCost,
    verifySecondsOf,
    type SpeculativeStepCosts,
    type DraftLengthChoice,
    type VerifyCostLine
} from "./lossless.js";
export {validateSkipMask, parseSkipLayerList, skipMaskFromLayers, planFromSkipMask} from "./skip-mask.js";
export {SPEED_LEVELS, SPEED_LEVEL_NAMES, type SpeedLevel, type SpeedLevelName, type SpeedSetting} from "../../common/speed-levels.js";
export {findSpeedLevel, planForSpeed} from "./speed.js";
export {
    InvalidModelShapeError,
    UnknownStrategyError,
    InvalidRemovalOrderError,
    UnreachableDepthError,
    InvalidCostModelError,
    InsufficientCalibrationError,
    UnusableCalibrationError,
    InvalidSpeedRatioError,
    UnknownSpeedLevelError,
    SkipMaskLengthError,
    AllLayersSkippedError,
    AttentionTypeSkippedError,
    InvalidLayerIndexError
} from "./errors.js";
