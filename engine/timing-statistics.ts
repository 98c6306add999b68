// Means with 95% confidence intervals and outlier rejection for timed samples: the speed calibration
// times each depth until its interval is tight, and bench speed reports every ratio with one.

/** Student's t at 97.5% for 1..30 degrees of freedom; beyond 30 the normal 1.96 is close enough. */
const T_975 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074,
    2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042
];

export function studentT975(degreesOfFreedom: number): number {
    if (degreesOfFreedom < 1) return Infinity;
    return degreesOfFreedom <= T_975.length ? T_975[degreesOfFreedom - 1] : 1.96;
}

export type MeanInterval = {
    mean: number;
    /** half the width of the 95% confidence interval of the mean */
    halfWidth: number;
    /** halfWidth / mean: ±0.02 is "within 2%" */
    relativeHalfWidth: number;
    samples: number;
};

export function meanInterval(samples: readonly number[]): MeanInterval {
    const n = samples.length;
    const mean = samples.reduce((sum, value) => sum + value, 0) / Math.max(1, n);
    if (n < 2) return {mean, halfWidth: Infinity, relativeHalfWidth: Infinity, samples: n};
    const variance = samples.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (n - 1);
    const halfWidth = (studentT975(n - 1) * Math.sqrt(variance)) / Math.sqrt(n);
    return {mean, halfWidth, relativeHalfWidth: mean !== 0 ? halfWidth / Math.abs(mean) : Infinity, samples: n};
}

export function quantile(values: readonly number[], q: number): number {
    const sorted = [...values].sort((a, b) => a - b);
    if (sorted.length === 0) return NaN;
    const position = (sorted.length - 1) * q;
    const below = Math.floor(position);
    const above = Math.ceil(position);
    return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}

/**
 * The samples without far outliers, and how many those were: a sample is one when it lies beyond Tukey's
 * far fences (quartiles ± 3 × the interquartile range) *and* more than half the median away from it.
 * Far, not the usual 1.5: a decode step that waits for a thread wake-up is part of what tokens/s pays, and
 * steady steps have so small a quartile range that the fences alone would cut those wake-ups too.
 */
export function withoutOutliers(samples: readonly number[]): {kept: number[]; rejected: number} {
    if (samples.length < 4) return {kept: [...samples], rejected: 0};
    const q1 = quantile(samples, 0.25);
    const q3 = quantile(samples, 0.75);
    const middle = quantile(samples, 0.5);
    const spread = q3 - q1;
    const low = Math.min(q1 - 3 * spread, middle * 0.5);
    const high = Math.max(q3 + 3 * spread, middle * 1.5);
    const kept = samples.filter((value) => value >= low && value <= high);
    return {kept, rejected: samples.length - kept.length};
}

/**
 * The 95% interval of a ratio of two means measured in the same runs (a/b per run): the runs are paired,
 * so the drift between runs that interleaving spreads over every setting cancels in each ratio.
 */
export function pairedRatioInterval(numerators: readonly number[], denominators: readonly number[]): MeanInterval {
    return meanInterval(numerators.map((value, run) => value / denominators[run]));
}
