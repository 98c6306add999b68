// `layer-dial calibrate` and the extension's "Calibrate Model" command: order a model's middle layers for
// removal by measuring on text, and cache the order per model file. Returns the cached order at once when
// this model file has one (for this text, when a text is given).
import fs from "node:fs";
import path from "node:path";
import type {Llama, LlamaModel} from "node-llama-cpp";
import {readModelProfile} from "../model-profile.js";
import {loadPatchedLlama} from "../native/loader.js";
import {LayerSkipContext} from "../native/skip-context.js";
import {QualityMeasurementCancelledError} from "../quality/errors.js";
import {TeacherForcedScorer} from "../quality/scorer.js";
import {prepareTeacherForcedText, tokenizerOfModel, DEFAULT_WINDOW_TOKENS} from "../quality/text.js";
import {defaultCalibrationCacheDirectory, readCachedCalibration, textSha256, writeCalibration, CALIBRATION_FORMAT, type CalibrationEntry} from "./cache.js";
import {DEFAULT_CALIBRATION_TEXT, DEFAULT_CALIBRATION_TEXT_NAME} from "./default-text.js";
import {CalibrationCancelledError, CalibrationUnsupportedError} from "./errors.js";
import {modelFingerprint} from "./fingerprint.js";
import {formatCalibrationProgress, type CalibrationMethod, type CalibrationProgress} from "./progress.js";
import {greedyRemovalOrder, singleLayerRemovalOrder} from "./search.js";

export type CalibrateLayerOrderOptions = {
    modelPath: string;
    /** Defaults to the built-in mixed code and prose text (default-text.ts). */
    text?: string;
    /** how the text is named in the cache and in messages, e.g. its file name */
    textName?: string;
    /** Defaults to "greedy-kl". */
    method?: CalibrationMethod;
    /** Defaults to ~/.cache/layer-dial/calibration; the extension passes its globalStorage. */
    cacheDirectory?: string;
    /** calibrate even when the cache has an order for this model file */
    force?: boolean;
    /** aborting rejects with CalibrationCancelledError and caches nothing */
    signal?: AbortSignal;
    onProgress?: (progress: CalibrationProgress) => void;
    /** receives human-readable progress lines (the CLI passes console.error); silent by default */
    log?: (line: string) => void;
    /** reuse an already loaded patched llama.cpp / model (the model must be the file at modelPath) */
    llama?: Llama;
    model?: LlamaModel;
    /** Defaults to defaultMeasurementThreads: 1 for files under 64 MiB, else the CPU's math cores. */
    threads?: number;
    /** tokens per window; Defaults to 256, or the model's training context if smaller */
    windowTokens?: number;
    contextTokens?: number;
    /** score only the text's first maxTokens tokens. Defaults to DEFAULT_CALIBRATION_MAX_TOKENS. */
    maxTokens?: number;
};

/**
 * Every candidate mask is scored on the whole calibration text, so its length sets the time: on pycode-16L
 * (byte-level vocabulary) 4,096 tokens take about a minute and a half on 2 busy cores, and 512 tokens
 * already found nearly the same order. A subword vocabulary fits the whole built-in text in far fewer.
 */
export const DEFAULT_CALIBRATION_MAX_TOKENS = 4096;

export type CalibrateLayerOrderResult = {
    method: CalibrationMethod;
    /** buildSchedule's calibratedOrder */
    order: number[];
    /** true when the order came from the cache without measuring */
    cached: boolean;
    cacheFile: string;
    entry: CalibrationEntry;
};

const SMALL_MODEL_BYTES = 64 * 1024 * 1024;

/** 1 thread for model files under 64 MiB: a tiny model gains nothing from more, and a spinning thread pool
 *  on a busy 2-core machine loses a lot. Bigger models get the CPU's math cores (never hyperthreads). */
export function defaultMeasurementThreads(modelBytes: number, llama: Llama): number {
    return modelBytes < SMALL_MODEL_BYTES ? 1 : Math.max(1, llama.cpuMathCores);
}

export async function calibrateLayerOrder(options: CalibrateLayerOrderOptions): Promise<CalibrateLayerOrderResult> {
    const log = options.log ?? (() => undefined);
    const method = options.method ?? "greedy-kl";
    const cacheDirectory = options.cacheDirectory ?? defaultCalibrationCacheDirectory();
    const modelPath = path.resolve(options.modelPath);
    const text = options.text ?? DEFAULT_CALIBRATION_TEXT;
    const textName = options.textName ?? (options.text == null ? DEFAULT_CALIBRATION_TEXT_NAME : "given text");
    const {fingerprint, size} = await modelFingerprint(modelPath);

    if (options.force !== true) {
        const cached = await readCachedCalibration(cacheDirectory, modelPath, {method, fingerprint});
        if (cached !== undefined && (options.text == null || cached.entry.text.sha256 === textSha256(text))) {
            log(`Using the cached ${method} order for ${path.basename(modelPath)} (${cached.file}); pass force to measure again`);
            return {method, order: cached.entry.order, cached: true, cacheFile: cached.file, entry: cached.entry};
        }
    }

    throwIfAborted(options.signal);
    const llama = options.llama ?? options.model?.llama ?? (await loadPatchedLlama()).llama;
    const model = options.model ?? (await llama.loadModel({modelPath}));
    let context: LayerSkipContext | undefined;
    try {
        const windowTokens = options.windowTokens ?? Math.min(DEFAULT_WINDOW_TOKENS, model.trainContextSize);
        context = await LayerSkipContext.create(model, {
            contextSize: windowTokens,
            batchSize: windowTokens,
            sequences: 1,
            threads: options.threads ?? defaultMeasurementThreads(size, llama)
        });
        if (!context.skipSupported)
            throw new CalibrationUnsupportedError(
                `${path.basename(modelPath)}'s architecture has no layer-skip support in Layer Dial's llama.cpp patch, so there is nothing to calibrate`
            );
        const {shape} = await readModelProfile(modelPath);
        const prepared = prepareTeacherForcedText(tokenizerOfModel(model), text, {
            name: textName,
            windowTokens,
            contextTokens: options.contextTokens,
            maxTokens: options.maxTokens ?? DEFAULT_CALIBRATION_MAX_TOKENS
        });
        const middle = shape.layerCount - 2;
        const searchEvaluations = method === "greedy-kl" ? (middle * (middle + 1)) / 2 : middle;
        // the reference pass costs about one evaluation; the progress bar gives it that share
        const referenceShare = 1 / (searchEvaluations + 1);
        log(
            `Calibrating ${path.basename(modelPath)} (${shape.layerCount} layers) by ${method} on ${textName}: ` +
                `${prepared.scoredTokens} tokens${prepared.truncated ? " (the text's first)" : ""} in ${prepared.plan.windows.length} windows, ${searchEvaluations} masks to score`
        );

        const started = performance.now();
        const report = (progress: CalibrationProgress): void => {
            options.onProgress?.(progress);
            if (progress.phase === "reference" || progress.level != null) log(formatCalibrationProgress(progress));
        };
        report({
            method,
            phase: "reference",
            evaluationsDone: 0,
            evaluationsTotal: searchEvaluations,
            fraction: 0,
            removed: [],
            elapsedSeconds: 0,
            remainingSeconds: null
        });
        const scorer = await cancellable(() => TeacherForcedScorer.create(context!, prepared, {signal: options.signal}));
        const search = method === "greedy-kl" ? greedyRemovalOrder : singleLayerRemovalOrder;
        const result = await search({
            shape,
            score: (mask, signal) => scorer.score(mask, signal),
            signal: options.signal,
            onProgress: (progress) =>
                report({
                    ...progress,
                    fraction: referenceShare + (1 - referenceShare) * progress.fraction,
                    elapsedSeconds: (performance.now() - started) / 1000
                })
        });
        // the last chance to cancel: past here the entry is written whole or not at all
        throwIfAborted(options.signal);
        const durationSeconds = (performance.now() - started) / 1000;
        const entry: CalibrationEntry = {
            format: CALIBRATION_FORMAT,
            method,
            fingerprint,
            model: {path: modelPath, size, layerCount: shape.layerCount},
            order: result.order,
            levels: result.levels,
            fullModel: scorer.fullModel,
            text: {
                name: textName,
                sha256: textSha256(text),
                tokens: prepared.tokenCount,
                scoredBytes: prepared.scoredBytes,
                windowTokens: prepared.windowTokens,
                contextTokens: prepared.contextTokens
            },
            evaluations: result.evaluations,
            durationSeconds,
            createdAt: new Date().toISOString()
        };
        const cacheFile = writeCalibration(cacheDirectory, entry);
        log(`Removal order ${result.order.join(" ")} (${durationSeconds.toFixed(1)} s), cached at ${cacheFile}`);
        return {method, order: result.order, cached: false, cacheFile, entry};
    } finally {
        await context?.dispose();
        if (options.model == null) await model.dispose();
    }
}

/** Whether this model file (its current content) has a cached order; cheap apart from hashing the file. */
export async function hasCachedCalibration(modelPath: string, cacheDirectory = defaultCalibrationCacheDirectory()): Promise<boolean> {
    return fs.existsSync(modelPath) && (await readCachedCalibration(cacheDirectory, modelPath)) !== undefined;
}

async function cancellable<T>(work: () => Promise<T>): Promise<T> {
    try {
        return await work();
    } catch (error) {
        if (error instanceof QualityMeasurementCancelledError) throw new CalibrationCancelledError();
        throw error;
    }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
    if (signal?.aborted === true) throw new CalibrationCancelledError();
}
