// The speedup a run really got: its decode tokens/s over a 1x speed *measured* on the same model, backend
// and machine (the speed calibration's, at the run's mean decode context: a step costs more the more
// tokens the cache holds), never over an estimate. When there is no such number the run says why, and
// every surface (panel, status bar, summary header, CLI) shows "—" with that reason.

/** What the engine knows about its 1x baseline: a measured rate (at the run's context), or why it has none. */
export type FullSpeedBaseline = {tokensPerSecond: number} | {missingBecause: string};

export type RunForAchievedSpeedup = {
    decodeTokensPerSecond: number;
    generatedTokens: number;
    /** the most sequences decoded in one native batch during the run */
    maxBatch: number;
    /** the dial was turned while the run decoded, so no one plan produced its rate */
    planChanged: boolean;
};

export type AchievedSpeedup = {achievedSpeedup: number; whyNoAchievedSpeedup?: undefined} | {achievedSpeedup: null; whyNoAchievedSpeedup: string};

/** the fewest generated tokens whose rate means anything (the first decode step is in the prompt's time) */
export const MIN_TOKENS_FOR_ACHIEVED_SPEEDUP = 3;

/** Why there is no measured 1x speed, in the words every surface shows. */
export function missingBaselineReason(situation: {calibrationError?: string; calibrationOff?: boolean; layerSkipSupported: boolean}): string {
    const none = "no 1x speed measured on this model, backend and machine";
    if (!situation.layerSkipSupported) return `${none}: this model cannot skip layers, so its speed is not calibrated`;
    if (situation.calibrationError !== undefined) return `${none} because the speed calibration failed: ${situation.calibrationError}`;
    if (situation.calibrationOff === true) return `${none}: the speed calibration is turned off`;
    return none;
}

export function achievedSpeedupOf(run: RunForAchievedSpeedup, baseline: FullSpeedBaseline): AchievedSpeedup {
    if ("missingBecause" in baseline) return {achievedSpeedup: null, whyNoAchievedSpeedup: baseline.missingBecause};
    // the calibration measures one sequence at a time; a batched step is slower per sequence
    if (run.maxBatch > 1)
        return {
            achievedSpeedup: null,
            whyNoAchievedSpeedup: `${run.maxBatch} requests decoded side by side (batch ${run.maxBatch}), and the 1x speed is measured at batch 1`
        };
    if (run.planChanged) return {achievedSpeedup: null, whyNoAchievedSpeedup: "the speed level changed during the run"};
    if (run.generatedTokens < MIN_TOKENS_FOR_ACHIEVED_SPEEDUP)
        return {
            achievedSpeedup: null,
            whyNoAchievedSpeedup: `only ${run.generatedTokens} token${run.generatedTokens === 1 ? "" : "s"} decoded, too few to time (${MIN_TOKENS_FOR_ACHIEVED_SPEEDUP} are needed)`
        };
    return {achievedSpeedup: run.decodeTokensPerSecond / baseline.tokensPerSecond};
}
