// The calibration checks itself against the real runs that follow it: each comparable run's observed
// seconds per token over the cost model's prediction for the layers it kept. When the last few runs are
// off by more than the tolerance, and their 95% interval says it is no accident, the calibration no longer
// describes the machine (another program took a core, the power plan changed): the engine drops it from
// the cache, so the next load measures again, and stops calling runs "achieved" against it.
import {meanInterval} from "./timing-statistics.js";

export type DriftMonitorOptions = {
    /** the runs judged together. Defaults to 5. */
    window?: number;
    /** the share by which the observed/predicted ratio may miss 1. Defaults to 0.05. */
    tolerance?: number;
};

export type DriftVerdict = {
    /** observed/predicted time per token over the window (geometric mean): 1.12 is 12% slower than predicted */
    ratio: number;
    runs: number;
};

export class CalibrationDriftMonitor {
    /** log(observed/predicted) per run: times vary by factors, so their ratios are judged on a log scale */
    private readonly logRatios: number[] = [];
    private readonly window: number;
    private readonly tolerance: number;
    private verdict: DriftVerdict | undefined;

    constructor(options: DriftMonitorOptions = {}) {
        this.window = options.window ?? 5;
        this.tolerance = options.tolerance ?? 0.05;
    }

    /** records one comparable run; returns the verdict the first time the window drifts beyond the tolerance */
    observe(predictedSecondsPerToken: number, observedSecondsPerToken: number): DriftVerdict | undefined {
        if (!(predictedSecondsPerToken > 0 && observedSecondsPerToken > 0) || this.verdict !== undefined) return undefined;
        this.logRatios.push(Math.log(observedSecondsPerToken / predictedSecondsPerToken));
        if (this.logRatios.length > this.window) this.logRatios.shift();
        if (this.logRatios.length < this.window) return undefined;
        const logRatio = meanInterval(this.logRatios);
        const ratio = Math.exp(logRatio.mean);
        // beyond the tolerance, and the interval clear of 1: a few noisy runs alone never recalibrate
        if (Math.abs(ratio - 1) <= this.tolerance || Math.abs(logRatio.mean) <= logRatio.halfWidth) return undefined;
        this.verdict = {ratio, runs: this.logRatios.length};
        return this.verdict;
    }

    /** set once the calibration has drifted; it stays set (the engine recalibrates at its next load) */
    get drifted(): DriftVerdict | undefined {
        return this.verdict;
    }
}

/** the reason runs carry once the calibration drifted */
export function driftReason(verdict: DriftVerdict): string {
    const percent = Math.round((verdict.ratio - 1) * 100);
    return (
        `the 1x speed measured at load no longer matches this machine: the last ${verdict.runs} runs took ${Math.abs(percent)}% ` +
        `${percent > 0 ? "longer" : "less time"} per token than predicted; reload the model to calibrate again`
    );
}
