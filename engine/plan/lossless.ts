// The cost model of the Lossless level (self-speculative decoding). One step drafts k tokens with some
// layers skipped, then runs the k+1 positions through every layer in one batch; it yields the accepted
// drafts plus the full model's own next token. With a per-token acceptance α (each draft agrees with
// the full model independently), a step yields E(α, k) = (1 − α^(k+1)) / (1 − α) tokens and costs
// k·draft + verify(k+1), against one token per plain step. So the speedup over plain decoding is
//     E(α, k) · plain / (k · draft + verify(k + 1)).
// The verify batch is not free: on a compute-bound CPU every extra position costs a share of a full
// token (the weights are read once, but each position is multiplied), and that share is what decides
// whether drafting pays.

/** what one plain decode, one draft decode and a verify batch of n positions cost, in seconds (or any one unit) */
export interface SpeculativeStepCosts {
    /** one token through every layer, batch 1 */
    readonly plainSeconds: number;
    /** one draft token with the draft's layers skipped */
    readonly draftSeconds: number;
    /** n positions through every layer in one batch; verifySeconds(1) is a plain step */
    readonly verifySeconds: (positions: number) => number;
}

export interface DraftLengthChoice {
    /** tokens drafted per step, k */
    readonly length: number;
    readonly expectedTokensPerStep: number;
    readonly predictedSpeedup: number;
}

/** E(α, k): the drafts accepted before the first rejection, plus the full model's own token */
export function expectedTokensPerStep(acceptance: number, draftLength: number): number {
    const alpha = Math.min(Math.max(acceptance, 0), 1);
    if (alpha === 1) return draftLength + 1;
    return (1 - alpha ** (draftLength + 1)) / (1 - alpha);
}

export function predictedLosslessSpeedup(acceptance: number, draftLength: number, costs: SpeculativeStepCosts): number {
    const stepSeconds = draftLength * costs.draftSeconds + costs.verifySeconds(draftLength + 1);
    if (!(stepSeconds > 0)) return 1;
    return (expectedTokensPerStep(acceptance, draftLength) * costs.plainSeconds) / stepSeconds;
}

/** the draft length (1 to maxLength) with the highest predicted speedup */
export function bestDraftLength(acceptance: number, costs: SpeculativeStepCosts, maxLength: number): DraftLengthChoice {
    let best: DraftLengthChoice | undefined;
    for (let length = 1; length <= Math.max(1, maxLength); length++) {
        const predictedSpeedup = predictedLosslessSpeedup(acceptance, length, costs);
        if (best === undefined || predictedSpeedup > best.predictedSpeedup)
            best = {length, expectedTokensPerStep: expectedTokensPerStep(acceptance, length), predictedSpeedup};
    }
    return best!;
}

/** verify cost as a straight line through measured (positions, seconds) points: a fixed part plus a cost per position */
export interface VerifyCostLine {
    readonly fixedSeconds: number;
    readonly secondsPerPosition: number;
}

/**
 * Least squares through the measured batch sizes. One size alone gives no slope, so `priorShare` (the
 * share of a one-position batch that each extra position adds) stands in until a second size is measured.
 */
export function fitVerifyCost(points: readonly {positions: number; seconds: number}[], priorShare: number): VerifyCostLine | undefined {
    if (points.length === 0) return undefined;
    if (points.length === 1 || new Set(points.map((point) => point.positions)).size === 1) {
        const {positions, seconds} = points[0];
        // seconds = fixed + perPosition·positions with perPosition = priorShare·(fixed + perPosition)
        const perPosition = (priorShare * seconds) / (1 + priorShare * (positions - 1));
        return {fixedSeconds: seconds - perPosition * positions, secondsPerPosition: perPosition};
    }
    const n = points.length;
    const meanX = points.reduce((sum, point) => sum + point.positions, 0) / n;
    const meanY = points.reduce((sum, point) => sum + point.seconds, 0) / n;
    let covariance = 0;
    let variance = 0;
    for (const point of points) {
        covariance += (point.positions - meanX) * (point.seconds - meanY);
        variance += (point.positions - meanX) ** 2;
    }
    // noise can tilt the line below zero; a batch never gets cheaper with more positions
    const slope = Math.max(0, covariance / variance);
    return {fixedSeconds: Math.max(0, meanY - slope * meanX), secondsPerPosition: slope};
}

export function verifySecondsOf(line: VerifyCostLine, positions: number): number {
    return line.fixedSeconds + line.secondsPerPosition * positions;
}
