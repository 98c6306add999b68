// What each speed level costs in quality, per skip strategy, on a text:
//   npm run bench -- quality --model ../shared/models/pycode-16L.gguf [--text FILE] [--json [FILE]] [--calibrate]
//   (the options: bench/main.ts, or npm run bench -- --help)
// Teacher-forced against the full model at every depth the dial offers: top-1 agreement, mean
// KL(full‖skipped), bits per byte of the real next token, and the speedup a tensor-bytes cost model
// predicts. Writes a table, JSON and an SVG plot to bench/.results/.
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";
import type {Llama} from "node-llama-cpp";
import {
    calibrateLayerOrder,
    defaultCalibrationCacheDirectory,
    defaultMeasurementThreads,
    readCachedCalibration,
    textSha256,
    type CalibrationEntry
} from "../engine/calibration/index.js";
import {readModelProfile} from "../engine/model-profile.js";
import {loadBenchLlama} from "./load-llama.js";
import {LayerSkipContext} from "../engine/native/skip-context.js";
import {buildSchedule, dialStops, estimateCostModelFromTensorBytes, STRATEGY_NAMES, type StrategyName} from "../engine/plan/index.js";
import {
    formatQualityTables,
    measureScheduleQuality,
    prepareTeacherForcedText,
    renderQualityPlotSvg,
    tokenizerOfModel,
    TeacherForcedScorer,
    DEFAULT_WINDOW_TOKENS,
    type DepthQuality,
    type QualityScore
} from "../engine/quality/index.js";

export class MissingCalibrationError extends Error {
    override name = "MissingCalibrationError";
}

export const DEFAULT_RESULTS_DIRECTORY = fileURLToPath(new URL("./.results/", import.meta.url));
export const DEFAULT_HELDOUT_TEXT = fileURLToPath(new URL("./texts/heldout-python.txt", import.meta.url));

export type QualityBenchOptions = {
    modelPath: string;
    /** the text scored; must not be the calibration text for the calibrated row to mean anything */
    textPath: string;
    /** Defaults to bench/.results/quality-<model>-<text>.json */
    jsonPath?: string;
    /** where the table and the SVG go. Defaults to bench/.results/ */
    outDirectory?: string;
    /** Default: every strategy, "calibrated" only when an order is cached or calibrate is set */
    strategies?: readonly StrategyName[];
    /** calibrate the model (greedy by KL) when no order is cached */
    calibrate?: boolean;
    /** calibrate even when an order is cached */
    recalibrate?: boolean;
    /** add the one-pass single-layer-KL estimate as a strategy "estimate" (it is cached too) */
    estimate?: boolean;
    /** Defaults to the built-in calibration text */
    calibrationTextPath?: string;
    /** Defaults to ~/.cache/layer-dial/calibration */
    cacheDirectory?: string;
    windowTokens?: number;
    contextTokens?: number;
    /** score only the text's first maxTokens tokens */
    maxTokens?: number;
    /** Defaults to defaultMeasurementThreads: 1 for files under 64 MiB, else the CPU's math cores */
    threads?: number;
    llama?: Llama;
    /** progress lines; standard error in bench/main.ts */
    log?: (line: string) => void;
};

export type QualityBenchResult = {
    model: {path: string; name: string; layerCount: number; costModel: "tensor-bytes"};
    text: {path: string; tokens: number; scoredTokens: number; scoredBytes: number; windows: number; windowTokens: number; contextTokens: number};
    fullModel: QualityScore;
    calibration: {method: string; order: number[]; text: string; heldOut: boolean; cacheFile: string; cached: boolean; durationSeconds: number} | null;
    estimate: {order: number[]; cacheFile: string} | null;
    rows: DepthQuality[];
    table: string;
    files: {json: string; svg: string; table: string};
    seconds: number;
};

export async function runQualityBench(options: QualityBenchOptions): Promise<QualityBenchResult> {
    const started = performance.now();
    const log = options.log ?? (() => undefined);
    const modelPath = path.resolve(options.modelPath);
    const textPath = path.resolve(options.textPath);
    const text = fs.readFileSync(textPath, "utf8");
    const cacheDirectory = options.cacheDirectory ?? defaultCalibrationCacheDirectory();
    const profile = await readModelProfile(modelPath);
    const costModel = estimateCostModelFromTensorBytes({layerBytes: profile.layerBytes, fixedBytes: profile.fixedBytes});

    const llama = options.llama ?? (await loadBenchLlama()).llama;
    const model = await llama.loadModel({modelPath});
    const threads = options.threads ?? defaultMeasurementThreads(fs.statSync(modelPath).size, llama);
    let context: LayerSkipContext | undefined;
    try {
        const calibrationText = options.calibrationTextPath != null ? fs.readFileSync(options.calibrationTextPath, "utf8") : undefined;
        const calibrationCommon = {
            modelPath,
            llama,
            model,
            cacheDirectory,
            log,
            threads,
            text: calibrationText,
            textName: options.calibrationTextPath != null ? path.basename(options.calibrationTextPath) : undefined
        };
        let calibration: {entry: CalibrationEntry; file: string; cached: boolean} | undefined;
        if (options.calibrate === true || options.recalibrate === true) {
            const result = await calibrateLayerOrder({...calibrationCommon, force: options.recalibrate});
            calibration = {entry: result.entry, file: result.cacheFile, cached: result.cached};
        } else {
            const cached = await readCachedCalibration(cacheDirectory, modelPath, {method: "greedy-kl"});
            if (cached !== undefined) {
                calibration = {...cached, cached: true};
                log(`Using the cached calibrated order ${cached.entry.order.join(" ")} (${cached.file})`);
            }
        }
        const estimate = options.estimate === true ? await calibrateLayerOrder({...calibrationCommon, method: "single-layer-kl"}) : undefined;
        const heldOut = calibration === undefined || calibration.entry.text.sha256 !== textSha256(text);
        if (!heldOut) log("Warning: the model was calibrated on this very text, so the calibrated row is not a held-out measurement");

        const windowTokens = options.windowTokens ?? Math.min(DEFAULT_WINDOW_TOKENS, model.trainContextSize);
        context = await LayerSkipContext.create(model, {contextSize: windowTokens, batchSize: windowTokens, sequences: 1, threads});
        const prepared = prepareTeacherForcedText(tokenizerOfModel(model), text, {
            name: path.basename(textPath),
            windowTokens,
            contextTokens: options.contextTokens,
            maxTokens: options.maxTokens
        });
        log(
            `Scoring ${path.basename(modelPath)} on ${prepared.name}: ${prepared.scoredTokens} tokens (${prepared.scoredBytes} bytes) in ${prepared.plan.windows.length} windows of ${windowTokens}`
        );
        const scorer = await TeacherForcedScorer.create(context, prepared);
        log(`Full model: ${scorer.fullModel.bitsPerByte.toFixed(3)} bits/byte`);

        const requested = options.strategies ?? STRATEGY_NAMES.filter((name) => name !== "calibrated" || calibration !== undefined);
        const series: {label: string; strategy: StrategyName; order?: number[]}[] = requested.map((strategy) => {
            if (strategy !== "calibrated") return {label: strategy, strategy};
            if (calibration === undefined)
                throw new MissingCalibrationError(
                    `No calibrated order is cached for ${path.basename(modelPath)} in ${cacheDirectory}; pass --calibrate (or calibrate: true)`
                );
            return {label: "calibrated", strategy, order: calibration.entry.order};
        });
        if (estimate !== undefined) series.push({label: "estimate", strategy: "calibrated", order: estimate.order});

        const rows: DepthQuality[] = [];
        for (const {label, strategy, order} of series) {
            const schedule = buildSchedule(profile.shape, {strategy, calibratedOrder: order});
            const depths = dialStops(schedule, costModel).map((stop) => stop.depth);
            const results = await measureScheduleQuality(scorer, schedule, costModel, {
                depths,
                label,
                onResult: (row) =>
                    log(
                        `${label.padEnd(10)} ${String(row.depth).padStart(2)} layers  ${row.predictedSpeedup.toFixed(2)}x  ` +
                            `top-1 ${(row.top1Agreement * 100).toFixed(1).padStart(5)}%  KL ${row.meanKl.toFixed(3)}  ${row.bitsPerByte.toFixed(3)} bits/byte`
                    )
            });
            rows.push(...results);
        }

        const table = formatQualityTables(rows, profile.shape.layerCount);
        const outDirectory = options.outDirectory ?? DEFAULT_RESULTS_DIRECTORY;
        const stem = `quality-${path.parse(modelPath).name}-${path.parse(textPath).name}`;
        const files = {
            json: path.resolve(options.jsonPath ?? path.join(outDirectory, `${stem}.json`)),
            svg: path.join(outDirectory, `${stem}.svg`),
            table: path.join(outDirectory, `${stem}.txt`)
        };
        const result: QualityBenchResult = {
            model: {path: modelPath, name: profile.name, layerCount: profile.shape.layerCount, costModel: "tensor-bytes"},
            text: {
                path: textPath,
                tokens: prepared.tokenCount,
                scoredTokens: prepared.scoredTokens,
                scoredBytes: prepared.scoredBytes,
                windows: prepared.plan.windows.length,
                windowTokens: prepared.windowTokens,
                contextTokens: prepared.contextTokens
            },
            fullModel: scorer.fullModel,
            calibration:
                calibration === undefined
                    ? null
                    : {
                          method: calibration.entry.method,
                          order: calibration.entry.order,
                          text: calibration.entry.text.name,
                          heldOut,
                          cacheFile: calibration.file,
                          cached: calibration.cached,
                          durationSeconds: calibration.entry.durationSeconds
                      },
            estimate: estimate === undefined ? null : {order: estimate.order, cacheFile: estimate.cacheFile},
            rows,
            table,
            files,
            seconds: (performance.now() - started) / 1000
        };
        fs.mkdirSync(outDirectory, {recursive: true});
        fs.mkdirSync(path.dirname(files.json), {recursive: true});
        fs.writeFileSync(files.json, `${JSON.stringify(result, null, 2)}\n`);
        fs.writeFileSync(files.table, table);
        fs.writeFileSync(
            files.svg,
            renderQualityPlotSvg(rows, {
                title: `What skipping layers costs: ${profile.name} (${profile.shape.layerCount} layers)`,
                subtitle:
                    `teacher-forced on ${prepared.name} (${prepared.scoredTokens} tokens)` +
                    (calibration !== undefined ? `; calibrated on ${calibration.entry.text.name}${heldOut ? " (held out)" : " (NOT held out)"}` : ""),
                fullModelBitsPerByte: scorer.fullModel.bitsPerByte
            })
        );
        return result;
    } finally {
        await context?.dispose();
        await model.dispose();
    }
}
