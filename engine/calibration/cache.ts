// Calibrated layer orders cached per model file content (see fingerprint.ts) in a directory the caller
// owns: the extension passes its globalStorage, the CLI ~/.cache/layer-dial/calibration. One JSON file per
// model and method, written to a temporary name and renamed, so a reader never sees half a file and a
// cancelled or killed calibration leaves nothing behind.
import {createHash} from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {layerDialCacheDir, writeFileAtomically} from "../../common/cache-dir.js";
import {validateCalibratedOrder} from "../plan/index.js";
import type {QualityScore} from "../quality/metrics.js";
import {modelFingerprint} from "./fingerprint.js";
import {CALIBRATION_METHODS, type CalibrationMethod, type LayerOrderLevel} from "./progress.js";

export const CALIBRATION_FORMAT = "layer-dial-layer-order/1";

export type CalibrationEntry = {
    format: typeof CALIBRATION_FORMAT;
    method: CalibrationMethod;
    /** the model file's content fingerprint: the cache key */
    fingerprint: string;
    model: {
        /** where the file was when calibrated; informative, and used to drop entries of an older version of it */
        path: string;
        size: number;
        layerCount: number;
    };
    /** every middle layer once, first removed first: buildSchedule's calibratedOrder */
    order: number[];
    /** quality on the calibration text at each depth the search reached (see LayerOrderLevel) */
    levels: LayerOrderLevel[];
    /** the full model's own score on the calibration text */
    fullModel: QualityScore;
    text: {
        name: string;
        sha256: string;
        tokens: number;
        scoredBytes: number;
        windowTokens: number;
        contextTokens: number;
    };
    evaluations: number;
    durationSeconds: number;
    createdAt: string;
};

export type CachedCalibration = {
    entry: CalibrationEntry;
    file: string;
};

export function defaultCalibrationCacheDirectory(): string {
    return layerDialCacheDir("calibration");
}

export function textSha256(text: string): string {
    return createHash("sha256").update(text, "utf8").digest("hex");
}

export function calibrationCacheFile(cacheDirectory: string, fingerprint: string, method: CalibrationMethod): string {
    // the fingerprint's "sha256:" prefix is not a portable file-name character
    return path.join(cacheDirectory, `${fingerprint.replace(/[^a-zA-Z0-9-]/g, "-")}.${method}.json`);
}

/** The entry in `file` if it is a complete, consistent calibration (optionally for a model of layerCount layers). */
export function readCalibrationFile(file: string, layerCount?: number): CalibrationEntry | undefined {
    let entry: CalibrationEntry;
    try {
        entry = JSON.parse(fs.readFileSync(file, "utf8")) as CalibrationEntry;
    } catch {
        return undefined;
    }
    try {
        if (entry.format !== CALIBRATION_FORMAT || !CALIBRATION_METHODS.includes(entry.method) || typeof entry.fingerprint !== "string") return undefined;
        if (layerCount !== undefined && entry.model.layerCount !== layerCount) return undefined;
        validateCalibratedOrder(entry.order, entry.model.layerCount);
        return entry;
    } catch {
        return undefined;
    }
}

export type ReadCalibrationOptions = {
    /** Defaults to the best available: greedy-kl, else single-layer-kl. */
    method?: CalibrationMethod;
    /** the fingerprint, when the caller has already computed it */
    fingerprint?: string;
};

/** The cached calibration of this model file's current content, or undefined. */
export async function readCachedCalibration(
    cacheDirectory: string,
    modelPath: string,
    options: ReadCalibrationOptions = {}
): Promise<CachedCalibration | undefined> {
    const fingerprint = options.fingerprint ?? (await modelFingerprint(modelPath)).fingerprint;
    for (const method of options.method != null ? [options.method] : CALIBRATION_METHODS) {
        const file = calibrationCacheFile(cacheDirectory, fingerprint, method);
        const entry = readCalibrationFile(file);
        if (entry !== undefined && entry.fingerprint === fingerprint) return {entry, file};
    }
    return undefined;
}

/**
 * Writes atomically and then deletes entries recorded for the same model path under another fingerprint:
 * the file at that path has changed, so they can never match again.
 */
export function writeCalibration(cacheDirectory: string, entry: CalibrationEntry): string {
    const file = calibrationCacheFile(cacheDirectory, entry.fingerprint, entry.method);
    writeFileAtomically(file, `${JSON.stringify(entry, null, 2)}\n`);
    for (const stale of listCalibrations(cacheDirectory))
        if (stale.entry.model.path === entry.model.path && stale.entry.fingerprint !== entry.fingerprint) fs.rmSync(stale.file, {force: true});
    return file;
}

/** Every readable entry in the directory (for pruning, and for a UI listing calibrated models). */
export function listCalibrations(cacheDirectory: string): CachedCalibration[] {
    let names: string[];
    try {
        names = fs.readdirSync(cacheDirectory);
    } catch {
        return [];
    }
    return names
        .filter((name) => name.endsWith(".json"))
        .map((name) => path.join(cacheDirectory, name))
        .map((file) => ({file, entry: readCalibrationFile(file)}))
        .filter((item): item is CachedCalibration => item.entry !== undefined);
}
