// The short on-device calibration behind the dial's predictions: decode a few tokens at up to six depths and
// fit the cost model's fixed and per-layer time (engine/plan's calibrateCostModel). Cached per model
// file, build, compute device, thread count, batch size and CPU, so a model loads without re-measuring.
import {createHash} from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {layerDialCacheDir, writeFileAtomically} from "../common/cache-dir.js";
import {calibrateCostModel, keptLayersAtDepth, reachableDepths, validateCostModel, type CostModel, type DecodeTiming, type SkipSchedule} from "./plan/index.js";
import type {SkipAwareCache} from "./skip-aware-cache.js";

export type SpeedCalibrationKey = {
    modelPath: string;
    buildId: string;
    /** where the model decodes: "cpu", or the backend, its devices and the offloaded layers
     *  (describeCompute); a calibration on one device says nothing about another */
    device: string;
    threads: number;
    batch: number;
};

export type SpeedCalibrationOptions = SpeedCalibrationKey & {
    cache: SkipAwareCache;
    schedule: SkipSchedule;
    prior: CostModel;
    /** the model's vocabulary size: the token ids decoded stay below it */
    vocabularySize: number;
    /** measured decode steps per depth, after two warm-up steps: at least this many, and at least 0.5 s
     *  of them, so the short steps of shallow depths are not a handful of noisy samples. Defaults to 16. */
    steps?: number;
    /** Defaults to the shared cache directory. */
    cacheDirectory?: string;
};

export function speedCalibrationFile(key: SpeedCalibrationKey, cacheDirectory = layerDialCacheDir("speed")): string {
    const stat = fs.statSync(key.modelPath);
    const identity = JSON.stringify({
        version: 5,
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

function mean(values: number[]): number {
    return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** mean seconds per decode step for `batch` sequences at once under `mask`; leaves the sequences empty.
 *  The mean, not the median: on a 2-core machine some steps take 10-20 ms longer (thread wake-ups), more
 *  often in short graphs, and tokens/s over a whole answer pays for every one of them. */
export async function measureStepSeconds(
    cache: SkipAwareCache,
    mask: Uint8Array,
    batch: number,
    steps: number,
    vocabularySize: number,
    minimumSeconds = 0
): Promise<number> {
    if (!Number.isInteger(vocabularySize) || vocabularySize < 2) throw new Error(`cannot time decode steps: the model's vocabulary size is ${vocabularySize}`);
    // ordinary token ids, identical for every mask so only the layers differ, and always inside the
    // vocabulary (a 512-token model rejects id 512 and the whole calibration failed)
    const token = (n: number) => 1 + (n % (vocabularySize - 1));
    const sequenceIds = Array.from({length: batch}, (_, i) => i);
    for (const sequenceId of sequenceIds) await cache.clear(sequenceId);
    await cache.evaluate(
        mask,
        sequenceIds.map((sequenceId) => ({sequenceId, tokens: [0, 1, 2, 3, 4, 5, 6, 7].map((t) => token(t + 10 * sequenceId))}))
    );
    const samples: number[] = [];
    let measured = 0;
    for (let step = 0; step < steps + 2 || (measured < minimumSeconds && step < 1000); step++) {
        const started = process.hrtime.bigint();
        await cache.evaluate(
            mask,
            sequenceIds.map((sequenceId) => ({sequenceId, tokens: [token(19 + step)]}))
        );
        if (step >= 2) {
            samples.push(Number(process.hrtime.bigint() - started) / 1e9);
            measured += samples.at(-1)!;
        }
    }
    for (const sequenceId of sequenceIds) await cache.clear(sequenceId);
    return mean(samples);
}

/** the depths measured: full, three quarters, half, a quarter, an eighth and the fewest layers the dial
 *  reaches (Max), so the fitted line spans the shallow end, where the per-step overhead weighs most */
function calibrationDepths(schedule: SkipSchedule): number[] {
    const depths = reachableDepths(schedule);
    const full = Math.max(...depths);
    const nearest = (goal: number) => depths.reduce((best, depth) => (Math.abs(depth - goal) < Math.abs(best - goal) ? depth : best), full);
    return [...new Set([full, nearest(full * 0.75), nearest(full * 0.5), nearest(full * 0.25), nearest(full * 0.125), Math.min(...depths)])];
}

export async function calibrateSpeed(options: SpeedCalibrationOptions): Promise<{costModel: CostModel; cached: boolean; file: string}> {
    const file = speedCalibrationFile(options, options.cacheDirectory);
    const layerCount = options.schedule.layerCount;
    const cached = readCachedSpeedCalibration(file, layerCount);
    if (cached != null) return {costModel: cached, cached: true, file};

    const timings: DecodeTiming[] = [];
    for (const depth of calibrationDepths(options.schedule)) {
        const keptLayers = keptLayersAtDepth(options.schedule, depth);
        const mask = new Uint8Array(layerCount).fill(1);
        for (const layer of keptLayers) mask[layer] = 0;
        const seconds = await measureStepSeconds(
            options.cache,
            mask,
            options.batch,
            options.steps ?? 16,
            options.vocabularySize,
            options.steps === undefined ? 0.5 : 0
        );
        timings.push({keptLayers, secondsPerToken: seconds});
    }
    const costModel = calibrateCostModel(options.prior, timings);
    writeFileAtomically(file, JSON.stringify(costModel, null, 2));
    return {costModel, cached: false, file};
}
