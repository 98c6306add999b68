// layer-dial-bench speed (npm run bench -- speed): does the dial deliver what it predicts?
// For targets 1, 1.25, 1.5, 2, 3 (clamped to the model's max), at batch 1 and 4, at a short (~100 tokens)
// and a long (~1,500 tokens) context: the kept layers, the dial's predicted speedup at that context (from
// the engine's own calibration, made fresh in a scratch cache, with its per-context-token attention term;
// the depth is the engine's, chosen at an empty cache), and the tokens/s of the engine's own generation path.
// A run measures each batch and context in one process, in the calibration's context (its cells and
// sequences, as the engine answers in the context it calibrated in), whose settings take turns for a few
// rounds (dial-rounds-worker.ts). achieved = tokens/s ÷ tokens/s at 1x *in the same process*; every
// achieved/predicted ratio comes with its 95% confidence interval over the runs. Also the engine at 1x and at
// batch 1's fastest level against a raw patched decode loop under the same mask (how much the engine's JS
// path costs, beside what the calibration's engine step says it costs), at the short context and again at
// the long one, in the rows' cells and sequences, taking turns in one process per run (engine-overhead.ts:
// between two processes the same loop ran up to 10% apart), and the patched build
// against the stock binary through that raw loop, each in its own process (their libraries share names).
import {execFileSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {meanDecodeContextTokens, planForSpeed, predictedSpeedup, secondsPerToken, type CostModel} from "../engine/plan/index.js";
import {meanInterval, pairedRatioInterval, type MeanInterval} from "../engine/timing-statistics.js";
import type {BatchCalibration, CalibrationReport, CalibrationRequest} from "./calibrate-worker.js";
import type {EngineStepMeasurement} from "../engine/speed-calibration.js";
import type {DecodeRequest} from "./decode-worker.js";
import {promptSizedCells} from "./measuring-engine.js";
import {mean, measureDecode, measureDialRounds, measureEngineOverhead} from "./run-worker.js";

export type SpeedBenchOptions = {
    modelPath: string;
    /** measuring processes per batch and context; a 95% interval needs several. Defaults to 5. */
    runs?: number;
    /** times each setting is timed within one process (its rate is their mean). Defaults to 3. */
    rounds?: number;
    /** decoded tokens per timed burst. Defaults to 64. */
    tokens?: number;
    /** Defaults to 1, 1.25, 1.5, 2, 3 (1 is always measured: it is the baseline). */
    targets?: number[];
    /** Defaults to 1 and 4. */
    batches?: number[];
    /** mean context lengths while decoding (the prompt is this less half the decoded tokens). Defaults to 100 and 1500. */
    contexts?: number[];
    /** the calibration's goal for each point's 95% interval, ± this share of its mean. Defaults to the engine's (0.02). */
    calibrationTarget?: number;
    /** the most seconds the calibration times one depth. Defaults to the engine's (4 s times the batch, up to 12: defaultMaxSecondsPerDepth). */
    calibrationSeconds?: number;
    /** decode threads in every process. Defaults to the CPU's math cores (the engine's default). */
    threads?: number;
    log?: (line: string) => void;
};

export type SpeedBenchRow = {
    target: number;
    /** the cost model's speedup at this row's context */
    predicted: number;
    batch: number;
    /** mean context length while decoding */
    context: number;
    keptLayers: number;
    /** mean tokens/s over the runs, with its 95% interval */
    tokensPerSecond: MeanInterval;
    /** tokens/s over the same batch's and context's 1x tokens/s, paired within each run */
    achieved: MeanInterval;
    /** achieved / predicted: 1 is a prediction that came true */
    achievedOverPredicted: MeanInterval;
};

export type SpeedBenchResult = {
    model: string;
    runs: number;
    /** times each setting was timed within one run's process */
    rounds: number;
    tokens: number;
    threads: number;
    compute: string;
    /** the machine's 1-minute load average before and after: how busy it was while measuring */
    loadAverage: {before: number; after: number; cores: number};
    /** why a batch's calibration gave no prediction (its rows are then missing) */
    calibrationErrors: Record<number, string>;
    calibrations: Record<number, BatchCalibration>;
    rows: SpeedBenchRow[];
    /** the engine's path at 1x, batch 1, short context, over a raw patched decode loop on the same weights,
     *  alternating bursts in one process: every pair of every run */
    engineOverRaw: MeanInterval;
    /** the same at batch 1's fastest level (its mask in both loops), beside what the calibration's engine step
     *  implies there: 1 − that step ÷ the predicted time per token. The engine's own cost per token weighs
     *  most at the shortest step, so this says whether the fixed cost the dial predicts with holds the
     *  engine's real path (absent without a batch-1 level below full depth) */
    engineOverRawFastest?: {keptLayers: number; measured: MeanInterval; impliedByCalibration: number | null};
    /** both again at the long context (batch 1, its own fastest level, its prompt): whether what the engine's
     *  path costs beyond a raw loop grows with the cached tokens, where the calibration's engine step is timed
     *  at 8 (absent with one context, or without a batch-1 row there) */
    engineOverRawLongContext?: {
        context: number;
        promptTokens: number;
        atFullDepth: MeanInterval;
        fastest?: {keptLayers: number; measured: MeanInterval; impliedByCalibration: number | null};
    };
    /** the patched build over the stock binary, both through the raw decode loop; null where the stock binary
     *  did not run, with the reason in stockNotRun */
    patchedOverStock: MeanInterval | null;
    stockNotRun?: string;
};

/** no batch's calibration stood, so the bench has nothing to set the dial against (the reasons are in the message) */
export class SpeedBenchUncalibratedError extends Error {
    override name = "SpeedBenchUncalibratedError";
}

const DEFAULT_CONTEXTS = [100, 1500];
/** alternating engine and raw bursts per run, in one process (engine-overhead.ts) */
const ENGINE_OVERHEAD_PAIRS_PER_RUN = 6;
/** the same at the long context, where each burst is slower (36x1024: ~30 s a run with its two prefills) */
const LONG_ENGINE_OVERHEAD_PAIRS_PER_RUN = 4;

function calibrate(request: CalibrationRequest): CalibrationReport {
    const worker = fileURLToPath(new URL("./calibrate-worker.ts", import.meta.url));
    const output = execFileSync(process.execPath, ["--import", "tsx", worker, JSON.stringify(request)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 16 * 1024 * 1024
    });
    return JSON.parse(output.trim().split("\n").at(-1)!) as CalibrationReport;
}

type Configuration = {
    target: number;
    batch: number;
    context: number;
    predicted: number;
    keptLayers: number;
    /** which layers run, and the mean context the prediction was made at */
    plan: {keptLayers: readonly number[]; decodeContext: number};
    request: Omit<DecodeRequest, "binary">;
};

export async function runSpeedBench(options: SpeedBenchOptions): Promise<SpeedBenchResult> {
    const runs = options.runs ?? 5;
    const rounds = options.rounds ?? 3;
    const tokens = options.tokens ?? 64;
    const batches = options.batches ?? [1, 4];
    const contexts = options.contexts ?? DEFAULT_CONTEXTS;
    const targets = [...new Set([1, ...(options.targets ?? [1, 1.25, 1.5, 2, 3])])];
    const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
    const loadBefore = os.loadavg()[0];

    // a scratch cache: the bench calibrates afresh, and never leaves its (maybe noisy) result for the user
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-bench-speed-"));
    let calibration: CalibrationReport;
    try {
        calibration = calibrate({
            modelPath: options.modelPath,
            batches,
            cacheDirectory: scratch,
            ...(options.threads !== undefined ? {threads: options.threads} : {}),
            ...(options.calibrationTarget !== undefined ? {targetRelativeHalfWidth: options.calibrationTarget} : {}),
            ...(options.calibrationSeconds !== undefined ? {maxSecondsPerDepth: options.calibrationSeconds} : {})
        });
    } finally {
        fs.rmSync(scratch, {recursive: true, force: true});
    }
    const calibrationErrors: Record<number, string> = {};
    const configurations: Configuration[] = [];
    for (const batch of batches) {
        const batchCalibration = calibration.calibrations[batch];
        if ("error" in batchCalibration) {
            calibrationErrors[batch] = batchCalibration.error;
            log(`batch ${batch}: the calibration was refused (${batchCalibration.error}); its rows are left out`);
            continue;
        }
        for (const context of contexts)
            for (const target of targets) {
                const plan = planForSpeed({model: calibration.shape, costModel: batchCalibration.costModel}, target);
                const promptTokens = Math.max(8, context - Math.floor(tokens / 2));
                // at the mean context of the run's decode steps, as the engine's own run stats predict
                const decodeContext = meanDecodeContextTokens(promptTokens, tokens);
                configurations.push({
                    target: plan.targetSpeedup,
                    batch,
                    context,
                    predicted: predictedSpeedup(batchCalibration.costModel, plan.keptLayers, {contextTokens: decodeContext}),
                    keptLayers: plan.depth,
                    plan: {keptLayers: plan.keptLayers, decodeContext},
                    request: {
                        modelPath: options.modelPath,
                        mask: [...plan.skipMask],
                        batch,
                        tokens,
                        promptTokens,
                        // the calibration's context, as the engine answers in the context it calibrated in.
                        // A context sized to the prompt is one the engine never answers in, and it flattered
                        // the shallow levels: at batch 4 and ~100 tokens (148 cells a sequence) 36x1024's
                        // levels gave 1.017, 1.016, 0.997 and 1.033 of the prediction, in the calibration's
                        // 2,112 cells 0.966, 0.974, 0.933 and 0.943 (README, "In the calibration's context")
                        contextSize: Math.max(calibration.context.contextSize, promptSizedCells(promptTokens, tokens)),
                        sequences: calibration.context.sequences,
                        threads: calibration.threads
                    }
                });
            }
    }
    // with no batch calibrated there is nothing to set the dial against: the raw loops alone took 13 minutes of a
    // 20x1792 run whose only calibration was refused
    if (configurations.length === 0)
        throw new SpeedBenchUncalibratedError(
            `No batch could be calibrated, so there is no prediction to measure against: ${Object.entries(calibrationErrors)
                .map(([batch, error]) => `batch ${batch}: ${error}`)
                .join("; ")}. Run the bench again on a quieter machine, or loosen it with --calibration-seconds`
        );
    // the raw loops, at the short context and batch 1, each in a context sized to its prompt: patched and stock
    // compare with each other only. engine-overhead.ts sets the engine against the raw loop in the calibration's
    // cells, like the dial's rows, at 1x and at batch 1's fastest level (prompt-sized without a batch-1 row)
    const shortContext = Math.min(...contexts);
    const shortPrompt = Math.max(8, shortContext - Math.floor(tokens / 2));
    const rawShape = {
        modelPath: options.modelPath,
        batch: 1,
        tokens,
        promptTokens: shortPrompt,
        contextSize: promptSizedCells(shortPrompt, tokens),
        sequences: 1
    };
    // batch 1's fastest level at a context, where the engine's own cost per token weighs most
    const fastestAt = (context: number) =>
        configurations
            .filter((c) => c.batch === 1 && c.context === context && c.keptLayers < calibration.shape.layerCount)
            .reduce<Configuration | undefined>((best, c) => (best === undefined || c.keptLayers < best.keptLayers ? c : best), undefined);
    const skipLayersOf = (configuration: Configuration) => configuration.request.mask!.flatMap((skip, layer) => (skip ? [layer] : []));
    const fastest = fastestAt(shortContext);
    const fastestEngineRates: number[] = [];
    const fastestRawRates: number[] = [];
    // and at the long context, in its own rows' cells and prompt
    const longContext = Math.max(...contexts);
    const longRows = configurations.filter((c) => c.batch === 1 && c.context === longContext && longContext !== shortContext);
    const longFastest = longRows.length > 0 ? fastestAt(longContext) : undefined;
    const longRates = {engine: [] as number[], raw: [] as number[], fastestEngine: [] as number[], fastestRaw: [] as number[]};
    const patchedRaw: DecodeRequest = {binary: "patched", ...rawShape, threads: calibration.threads};
    const stock: DecodeRequest = {binary: "stock", ...rawShape, threads: calibration.threads};
    const engineRates: number[] = [];
    const rawRates: number[] = [];
    let stockNotRun: string | undefined;

    // every setting of one batch and context in one process, taking turns (dial-rounds-worker.ts): a run is
    // one such process per group, and a ratio pairs settings of the same process
    const groups = [...new Set(configurations.map((c) => `${c.batch}/${c.context}`))].map((key) =>
        configurations.filter((c) => `${c.batch}/${c.context}` === key)
    );
    const rates = new Map<Configuration, number[]>(configurations.map((configuration) => [configuration, []]));
    const binaryRates = new Map<DecodeRequest, number[]>([patchedRaw, stock].map((request) => [request, []]));
    for (let run = 0; run < runs; run++) {
        // in a different order each run, so drift in the machine's speed spreads evenly
        const groupOrder = run % 2 === 0 ? groups : [...groups].reverse();
        for (const group of groupOrder) {
            const {request} = group[0];
            const measured = measureDialRounds({
                modelPath: request.modelPath,
                masks: group.map((c) => c.request.mask ?? []),
                batch: request.batch,
                promptTokens: request.promptTokens ?? 16,
                tokens,
                rounds,
                contextSize: request.contextSize,
                sequences: request.sequences,
                threads: request.threads
            });
            group.forEach((configuration, index) => rates.get(configuration)!.push(mean(measured.tokensPerSecond[index])));
            log(
                `run ${run + 1}/${runs} batch ${request.batch} prompt ${request.promptTokens}: ` +
                    group.map((c, index) => `${c.keptLayers} layers ${mean(measured.tokensPerSecond[index]).toFixed(2)}`).join(", ") +
                    ` tok/s (load ${os.loadavg()[0].toFixed(1)})`
            );
        }
        for (const request of run % 2 === 0 ? [patchedRaw, stock] : [stock, patchedRaw]) {
            if (request === stock && stockNotRun !== undefined) continue;
            let measurement: ReturnType<typeof measureDecode>;
            try {
                measurement = measureDecode(request);
            } catch (error) {
                if (request !== stock) throw error;
                // node-llama-cpp's stock binary for a GPU backend is a package of its own, which need not be
                // installed (the device machine carries only the CPU one): the rest of the bench still stands
                stockNotRun = errorLine(error);
                log(`the stock binary did not run on ${calibration.compute}, so patched/stock is left out: ${stockNotRun}`);
                continue;
            }
            binaryRates.get(request)!.push(measurement.tokensPerSecond);
            log(`run ${run + 1}/${runs} ${request.binary.padEnd(7)} batch 1 prompt ${request.promptTokens}: ${measurement.tokensPerSecond.toFixed(2)} tok/s`);
        }
        const overhead = measureEngineOverhead({
            modelPath: options.modelPath,
            runs: ENGINE_OVERHEAD_PAIRS_PER_RUN,
            tokens,
            promptTokens: shortPrompt,
            threads: calibration.threads,
            ...(fastest !== undefined
                ? {contextSize: fastest.request.contextSize, sequences: fastest.request.sequences, skipLayers: skipLayersOf(fastest)}
                : {})
        });
        engineRates.push(...overhead.engineTokensPerSecond);
        rawRates.push(...overhead.rawTokensPerSecond);
        fastestEngineRates.push(...(overhead.skipping?.engineTokensPerSecond ?? []));
        fastestRawRates.push(...(overhead.skipping?.rawTokensPerSecond ?? []));
        log(
            `run ${run + 1}/${runs} engine/raw batch 1 prompt ${shortPrompt}, ${overhead.runs} pairs in one process: ${interval(overhead.engineOverRaw, 3)}` +
                (overhead.skipping !== undefined ? `; at ${fastest!.keptLayers} layers ${interval(overhead.skipping.engineOverRaw, 3)}` : "")
        );
        if (longRows.length > 0) {
            const {request} = longRows[0];
            const long = measureEngineOverhead({
                modelPath: options.modelPath,
                runs: LONG_ENGINE_OVERHEAD_PAIRS_PER_RUN,
                tokens,
                promptTokens: request.promptTokens,
                threads: calibration.threads,
                contextSize: request.contextSize,
                sequences: request.sequences,
                ...(longFastest !== undefined ? {skipLayers: skipLayersOf(longFastest)} : {})
            });
            longRates.engine.push(...long.engineTokensPerSecond);
            longRates.raw.push(...long.rawTokensPerSecond);
            longRates.fastestEngine.push(...(long.skipping?.engineTokensPerSecond ?? []));
            longRates.fastestRaw.push(...(long.skipping?.rawTokensPerSecond ?? []));
            log(
                `run ${run + 1}/${runs} engine/raw batch 1 prompt ${request.promptTokens}, ${long.runs} pairs in one process: ${interval(long.engineOverRaw, 3)}` +
                    (long.skipping !== undefined ? `; at ${longFastest!.keptLayers} layers ${interval(long.skipping.engineOverRaw, 3)}` : "")
            );
        }
    }

    const rows: SpeedBenchRow[] = configurations.map((configuration) => {
        const full = configurations.find(
            (c) => c.batch === configuration.batch && c.context === configuration.context && c.keptLayers === calibration.shape.layerCount
        )!;
        const ownRates = rates.get(configuration)!;
        const fullRates = rates.get(full)!;
        const achievedPerRun = ownRates.map((rate, run) => rate / fullRates[run]);
        return {
            target: configuration.target,
            predicted: configuration.predicted,
            batch: configuration.batch,
            context: configuration.context,
            keptLayers: configuration.keptLayers,
            tokensPerSecond: meanInterval(ownRates),
            achieved: meanInterval(achievedPerRun),
            achievedOverPredicted: meanInterval(achievedPerRun.map((achieved) => achieved / configuration.predicted))
        };
    });
    return {
        model: path.basename(options.modelPath),
        runs,
        tokens,
        threads: calibration.threads,
        compute: calibration.compute,
        loadAverage: {before: loadBefore, after: os.loadavg()[0], cores: os.availableParallelism()},
        calibrationErrors,
        calibrations: calibration.calibrations,
        rows,
        rounds,
        engineOverRaw: pairedRatioInterval(engineRates, rawRates),
        ...(fastest !== undefined && fastestEngineRates.length > 0
            ? {
                  engineOverRawFastest: {
                      keptLayers: fastest.keptLayers,
                      measured: pairedRatioInterval(fastestEngineRates, fastestRawRates),
                      impliedByCalibration: impliedEngineOverRaw(calibration.calibrations[1], fastest)
                  }
              }
            : {}),
        ...(longRates.engine.length > 0
            ? {
                  engineOverRawLongContext: {
                      context: longContext,
                      promptTokens: longRows[0].request.promptTokens!,
                      atFullDepth: pairedRatioInterval(longRates.engine, longRates.raw),
                      ...(longFastest !== undefined && longRates.fastestEngine.length > 0
                          ? {
                                fastest: {
                                    keptLayers: longFastest.keptLayers,
                                    measured: pairedRatioInterval(longRates.fastestEngine, longRates.fastestRaw),
                                    impliedByCalibration: impliedEngineOverRaw(calibration.calibrations[1], longFastest)
                                }
                            }
                          : {})
                  }
              }
            : {}),
        patchedOverStock: stockNotRun === undefined ? pairedRatioInterval(binaryRates.get(patchedRaw)!, binaryRates.get(stock)!) : null,
        ...(stockNotRun !== undefined ? {stockNotRun} : {})
    };
}

/**
 * engine/raw at a configuration as the calibration sees it: its time per token there holds the engine's own
 * step (in the fixed cost), a raw loop's does not. null where the calibration measured no engine step.
 */
function impliedEngineOverRaw(batchCalibration: BatchCalibration | undefined, configuration: Configuration): number | null {
    if (batchCalibration === undefined || "error" in batchCalibration) return null;
    const engineStep = batchCalibration.costModel.calibration?.engineStepSeconds;
    if (engineStep === undefined) return null;
    const predictedStep = secondsPerToken(batchCalibration.costModel, configuration.plan.keptLayers, {contextTokens: configuration.plan.decodeContext});
    return 1 - engineStep / predictedStep;
}

/** the first line of a failed child's message that names an error, else its first line (execFileSync's own "Command failed" line repeats the command) */
function errorLine(error: unknown): string {
    const text = error instanceof Error ? error.message : String(error);
    const lines = text
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "");
    return lines.find((line) => /Error/.test(line) && !line.startsWith("Command failed")) ?? lines[0] ?? "unknown error";
}

/** "fixed 1.20 ms, layers 8.40 ms, attention +12.3% of the layers at 1,000 tokens" */
function describeCostModel(model: CostModel): string {
    const ms = (seconds: number) => `${(seconds * 1e3).toFixed(3)} ms`;
    const layers = model.layerSeconds.reduce((sum, s) => sum + s, 0);
    const perToken = model.layerSecondsPerContextToken.reduce((sum, s) => sum + s, 0);
    return (
        `fixed ${ms(model.fixedSeconds)}, layers ${ms(layers)}, attention ${ms(perToken * 1000)} per 1,000 cached tokens ` +
        `(timed up to ${model.calibration?.maxContextTokens ?? 0} tokens)`
    );
}

/** "; the engine's own step 0.120 ±0.030 ms beside a bare 1.500 ms step at the fewest layers, in the fixed cost" */
function describeEngineStep(engineStep: EngineStepMeasurement | undefined): string {
    if (engineStep === undefined) return "";
    const ms = (seconds: number) => (seconds * 1e3).toFixed(3);
    const measured = `${ms(engineStep.extraSeconds.mean)} ±${ms(engineStep.extraSeconds.halfWidth)} ms beside a bare ${ms(engineStep.bareStepSeconds)} ms step at the fewest layers`;
    return engineStep.tight
        ? `; the engine's own step ${measured}, in the fixed cost`
        : `; the engine's own step ${measured}, in the fixed cost though too spread to cache (±${(engineStep.predictionShift * 100).toFixed(1)}% on the fewest layers' prediction)`;
}

function describeElapsed(elapsed: {total: number; longContext: number} | undefined): string {
    return elapsed !== undefined ? `; calibrating took ${elapsed.total.toFixed(1)} s, ${elapsed.longContext.toFixed(1)} s of it at the long context` : "";
}

function interval(value: MeanInterval, digits: number): string {
    return `${value.mean.toFixed(digits)} ±${value.halfWidth.toFixed(digits)}`;
}

/** the result as a table (bench/main.ts prints it unless --json alone asks for the JSON) */
export function formatSpeedBench(result: SpeedBenchResult): string {
    const lines = [
        `${result.model} on ${result.compute}, ${result.threads} threads: ${result.runs} runs, each setting timed ${result.rounds} times ` +
            `for ${result.tokens} tokens, mean ±95% interval over the runs (a ratio pairs the settings of one process); load average ${result.loadAverage.before.toFixed(1)} → ` +
            `${result.loadAverage.after.toFixed(1)} on ${result.loadAverage.cores} cores`,
        ...Object.entries(result.calibrationErrors).map(([batch, error]) => `batch ${batch}: no prediction, the calibration was refused: ${error}`),
        ...Object.entries(result.calibrations).flatMap(([batch, calibration]) =>
            "error" in calibration
                ? []
                : [
                      `batch ${batch}: ${describeCostModel(calibration.costModel)}${describeEngineStep(calibration.engineStep)}${describeElapsed(calibration.elapsedSeconds)}`,
                      ...(calibration.attentionFromOneSequence !== undefined ? [`batch ${batch}: ${calibration.attentionFromOneSequence.reason}`] : []),
                      ...(calibration.notCachedReason !== undefined
                          ? [`batch ${batch}: a user's engine would not cache this calibration: ${calibration.notCachedReason}`]
                          : [])
                  ]
        ),
        "target  batch  context  kept  predicted  tok/s            achieved         achieved/predicted",
        ...result.rows.map(
            (row) =>
                `${row.target.toFixed(2).padStart(6)}  ${String(row.batch).padStart(5)}  ${String(row.context).padStart(7)}  ${String(row.keptLayers).padStart(4)}  ` +
                `${row.predicted.toFixed(3).padStart(9)}  ${interval(row.tokensPerSecond, 2).padEnd(15)}  ${interval(row.achieved, 3).padEnd(15)}  ` +
                `${interval(row.achievedOverPredicted, 3)}`
        ),
        `engine 1x / raw patched decode (batch 1, short context, alternating in one process): ${interval(result.engineOverRaw, 3)}`,
        ...(result.engineOverRawFastest !== undefined
            ? [
                  `engine / raw patched decode at ${result.engineOverRawFastest.keptLayers} layers (batch 1's fastest level, the same pairs): ${interval(result.engineOverRawFastest.measured, 3)}` +
                      (result.engineOverRawFastest.impliedByCalibration !== null
                          ? `; the calibration's engine step implies ${result.engineOverRawFastest.impliedByCalibration.toFixed(3)}`
                          : "")
              ]
            : []),
        ...(result.engineOverRawLongContext !== undefined
            ? [
                  `engine 1x / raw patched decode at ~${result.engineOverRawLongContext.context} tokens (prompt ${result.engineOverRawLongContext.promptTokens}): ${interval(result.engineOverRawLongContext.atFullDepth, 3)}` +
                      (result.engineOverRawLongContext.fastest !== undefined
                          ? `; at ${result.engineOverRawLongContext.fastest.keptLayers} layers ${interval(result.engineOverRawLongContext.fastest.measured, 3)}` +
                            (result.engineOverRawLongContext.fastest.impliedByCalibration !== null
                                ? ` (the calibration's engine step implies ${result.engineOverRawLongContext.fastest.impliedByCalibration.toFixed(3)})`
                                : "")
                          : "")
              ]
            : []),
        `patched 1x / stock 1x (batch 1, raw decode): ${
            result.patchedOverStock !== null ? interval(result.patchedOverStock, 3) : `not measured (${result.stockNotRun ?? "the stock binary did not run"})`
        }`
    ];
    return lines.join("\n");
}
