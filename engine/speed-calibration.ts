// The on-device calibration behind the dial's predictions: decode at up to six depths, timing each until
// the 95% confidence interval of its mean step time is tight, and fit the cost model's fixed and
// per-layer time (engine/plan's calibrateCostModel). Cached per model file, build, compute device, thread
// count, batch size and CPU, so a model loads without re-measuring; but only a calibration made on a quiet
// machine is cached, because one made under load would mis-predict every later load.
import {createHash} from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {layerDialCacheDir, writeFileAtomically} from "../common/cache-dir.js";
import {
    calibrateCostModel,
    keptLayersAtDepth,
    reachableDepths,
    secondsPerToken,
    validateCostModel,
    type CostModel,
    type DecodeTiming,
    type SkipSchedule
} from "./plan/index.js";
import type {SkipAwareCache} from "./skip-aware-cache.js";
import {meanInterval, withoutOutliers, type MeanInterval} from "./timing-statistics.js";

export type SpeedCalibrationKey = {
    modelPath: string;
    buildId: string;
    /** where the model decodes: "cpu", or the backend, its devices and the offloaded layers
     *  (describeCompute); a calibration on one device says nothing about another */
    device: string;
    threads: number;
    batch: number;
};

/** How hard the calibration tries, and what it refuses; every field has a default. */
export type SpeedCalibrationTuning = {
    /** measured decode steps per depth, after two warm-up steps: at least this many. Defaults to 16. */
    steps?: number;
    /** each depth is timed until the 95% interval of its mean step time is within ± this share of the
     *  mean. Defaults to 0.02 (±2%), so that a prediction can be held to 5%. */
    targetRelativeHalfWidth?: number;
    /** the most seconds spent timing one depth; a depth whose interval is still wider than the target
     *  then fails the calibration (NoisySpeedCalibrationError). Defaults to 4. */
    maxSecondsPerDepth?: number;
    /** the machine's 1-minute load average (os.loadavg()[0] by default). The calibration's own threads add
     *  `threads` to it; more than half the cores' worth on top of that means other programs competed for
     *  the CPU, and the result is used but not cached. */
    loadAverage?: () => number;
    /** Defaults to the shared cache directory (~/.cache/layer-dial/speed). */
    cacheDirectory?: string;
};

export type SpeedCalibrationOptions = SpeedCalibrationKey &
    SpeedCalibrationTuning & {
        cache: SkipAwareCache;
        schedule: SkipSchedule;
        prior: CostModel;
        /** the model's vocabulary size: the token ids decoded stay below it */
        vocabularySize: number;
    };

export type CalibrationPoint = {depth: number; keptLayers: number[]; stepSeconds: MeanInterval; rejectedOutliers: number};

export type SpeedCalibrationResult = {
    costModel: CostModel;
    /** read from the cache rather than measured now */
    cached: boolean;
    file: string;
    /** the timed depths (empty when read from the cache) */
    points: CalibrationPoint[];
    /** why a calibration measured now was not written to the cache (it was made under load, or fits badly) */
    notCachedReason?: string;
};

/** A depth's step times stayed too spread to carry a 5% prediction; say how far off and what to do. */
export class NoisySpeedCalibrationError extends Error {
    override name = "NoisySpeedCalibrationError";
}

/** the default for SpeedCalibrationTuning.targetRelativeHalfWidth */
export const DEFAULT_TARGET_RELATIVE_HALF_WIDTH = 0.02;
const DEFAULT_MAX_SECONDS_PER_DEPTH = 4;
/** more rejected outliers than this share of a depth's steps: something else ran on the machine, so the
 *  (outlier-free) result is used but not cached */
const MAX_OUTLIER_SHARE = 0.1;
/** a fit whose root-mean-square residual exceeds this share of the full-depth time does not describe the machine */
const MAX_RELATIVE_RESIDUAL = 0.03;

export function speedCalibrationFile(key: SpeedCalibrationKey, cacheDirectory = layerDialCacheDir("speed")): string {
    const stat = fs.statSync(key.modelPath);
    const identity = JSON.stringify({
        version: 6,
        model: path.resolve(key.modelPath),
        size: stat.size,
        mtime: stat.mtimeMs,
        build: key.buildId,
        device: key.device,
        threads: key.threads,
        batch: key.batch,
        cpu: os.cpus()[0]?.model ?? "unknown"
    });
    return path.join(cacheDirectory, `${createHash("sha256").update(identity).digest("hex").slice(0, 32)}.json`);
}

export function readCachedSpeedCalibration(file: string, layerCount: number): CostModel | undefined {
    try {
        return validateCostModel(JSON.parse(fs.readFileSync(file, "utf8")) as CostModel, layerCount);
    } catch {
        return undefined;
    }
}

export type StepTimingOptions = {
    /** at least this many measured steps */
    minimumSteps: number;
    targetRelativeHalfWidth: number;
    maxSeconds: number;
    vocabularySize: number;
};

/**
 * Seconds per decode step for `batch` sequences at once under `mask`: the mean, with its 95% interval,
 * of steps timed until that interval is within the target or the time is up; leaves the sequences empty.
 * The mean, not the median: on a 2-core machine some steps take 10-20 ms longer (thread wake-ups), more
 * often in short graphs, and tokens/s over a whole answer pays for every one of them. Only far outliers
 * (a step another process took the CPU from) are dropped, and counted.
 */
export async function measureStepSeconds(
    cache: SkipAwareCache,
    mask: Uint8Array,
    batch: number,
    options: StepTimingOptions
): Promise<{stepSeconds: MeanInterval; rejectedOutliers: number}> {
    const {vocabularySize} = options;
    if (!Number.isInteger(vocabularySize) || vocabularySize < 2) throw new Error(`cannot time decode steps: the model's vocabulary size is ${vocabularySize}`);
    // ordinary token ids, identical for every mask so only the layers differ, and always inside the
    // vocabulary (a 512-token model rejects id 512 and the whole calibration failed)
    const token = (n: number) => 1 + (n % (vocabularySize - 1));
    const prompt = 8;
    const sequenceIds = Array.from({length: batch}, (_, i) => i);
    // every step adds a position: when the context is full (soon, in a tiny model's), the timing starts
    // again from a fresh prompt, so a fast model is timed as long as it needs, not as long as its context
    const startSequences = async () => {
        for (const sequenceId of sequenceIds) await cache.clear(sequenceId);
        await cache.evaluate(
            mask,
            sequenceIds.map((sequenceId) => ({sequenceId, tokens: Array.from({length: prompt}, (_, t) => token(t + 10 * sequenceId))}))
        );
    };
    const lastPosition = Math.max(prompt + 4, cache.context.contextSize - 8);
    const samples: number[] = [];
    let measured = 0;
    let position = lastPosition;
    let warmUp = 0;
    for (let step = 0; ; step++) {
        if (position >= lastPosition) {
            await startSequences();
            position = prompt;
            warmUp = step === 0 ? 2 : 1; // caches and the threadpool settle
        }
        const started = process.hrtime.bigint();
        await cache.evaluate(
            mask,
            sequenceIds.map((sequenceId) => ({sequenceId, tokens: [token(19 + step)]}))
        );
        position++;
        if (warmUp > 0) {
            warmUp--;
            continue;
        }
        samples.push(Number(process.hrtime.bigint() - started) / 1e9);
        measured += samples.at(-1)!;
        if (samples.length < options.minimumSteps || samples.length % 4 !== 0) continue;
        if (measured >= options.maxSeconds) break;
        if (meanInterval(withoutOutliers(samples).kept).relativeHalfWidth <= options.targetRelativeHalfWidth) break;
    }
    for (const sequenceId of sequenceIds) await cache.clear(sequenceId);
    const {kept, rejected} = withoutOutliers(samples);
    return {stepSeconds: meanInterval(kept), rejectedOutliers: rejected};
}

/** the depths measured: full, three quarters, half, a quarter, an eighth and the fewest layers the dial
 *  reaches (Max), so the fitted line spans the shallow end, where the per-step overhead weighs most */
function calibrationDepths(schedule: SkipSchedule): number[] {
    const depths = reachableDepths(schedule);
    const full = Math.max(...depths);
    const nearest = (goal: number) => depths.reduce((best, depth) => (Math.abs(depth - goal) < Math.abs(best - goal) ? depth : best), full);
    return [...new Set([full, nearest(full * 0.75), nearest(full * 0.5), nearest(full * 0.25), nearest(full * 0.125), Math.min(...depths)])];
}

function percent(share: number): string {
    return `${(share * 100).toFixed(1)}%`;
}

export async function calibrateSpeed(options: SpeedCalibrationOptions): Promise<SpeedCalibrationResult> {
    const file = speedCalibrationFile(options, options.cacheDirectory);
    const layerCount = options.schedule.layerCount;
    const cached = readCachedSpeedCalibration(file, layerCount);
    if (cached != null) return {costModel: cached, cached: true, file, points: []};

    const target = options.targetRelativeHalfWidth ?? DEFAULT_TARGET_RELATIVE_HALF_WIDTH;
    const maxSeconds = options.maxSecondsPerDepth ?? DEFAULT_MAX_SECONDS_PER_DEPTH;
    const loadAverage = options.loadAverage ?? (() => os.loadavg()[0]);
    const cores = os.availableParallelism();
    const loadBefore = loadAverage();

    const points: CalibrationPoint[] = [];
    for (const depth of calibrationDepths(options.schedule)) {
        const keptLayers = keptLayersAtDepth(options.schedule, depth);
        const mask = new Uint8Array(layerCount).fill(1);
        for (const layer of keptLayers) mask[layer] = 0;
        const {stepSeconds, rejectedOutliers} = await measureStepSeconds(options.cache, mask, options.batch, {
            minimumSteps: options.steps ?? 16,
            targetRelativeHalfWidth: target,
            maxSeconds,
            vocabularySize: options.vocabularySize
        });
        const total = stepSeconds.samples + rejectedOutliers;
        if (stepSeconds.relativeHalfWidth > target)
            throw new NoisySpeedCalibrationError(
                `decode steps at ${depth} layers stayed too spread to time: ±${percent(stepSeconds.relativeHalfWidth)} (95% interval) after ${total} steps, ` +
                    `where ±${percent(target)} is needed; other programs are probably using the CPU. Close them and reload the model to calibrate again`
            );
        points.push({depth, keptLayers, stepSeconds, rejectedOutliers});
    }
    const timings: DecodeTiming[] = points.map((point) => ({keptLayers: point.keptLayers, secondsPerToken: point.stepSeconds.mean}));
    const costModel = calibrateCostModel(options.prior, timings);

    // load from others, over the calibration: the 1-minute average lags, so the higher of before and after
    const otherLoad = Math.max(loadBefore, loadAverage()) - options.threads;
    const fullSeconds = secondsPerToken(costModel, keptLayersAtDepth(options.schedule, layerCount));
    const relativeResidual = (costModel.calibration?.rmsResidualSeconds ?? 0) / fullSeconds;
    const interrupted = points.find((point) => point.rejectedOutliers > MAX_OUTLIER_SHARE * (point.stepSeconds.samples + point.rejectedOutliers));
    const notCachedReason =
        interrupted !== undefined
            ? `${interrupted.rejectedOutliers} of ${interrupted.stepSeconds.samples + interrupted.rejectedOutliers} decode steps at ${interrupted.depth} layers took far longer than the rest (another program took the CPU)`
            : otherLoad > cores / 2
              ? `the machine was busy (load average ${(otherLoad + options.threads).toFixed(1)} on ${cores} cores, ${options.threads} of it the calibration's own threads)`
              : relativeResidual > MAX_RELATIVE_RESIDUAL
                ? `the timings fit the cost model only within ${percent(relativeResidual)} of the full model's step time`
                : undefined;
    if (notCachedReason === undefined) writeFileAtomically(file, JSON.stringify(costModel, null, 2));
    return {costModel, cached: false, file, points, ...(notCachedReason !== undefined ? {notCachedReason} : {})};
}
