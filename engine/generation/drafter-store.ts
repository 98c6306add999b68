// What the Lossless level's drafter learned, kept across loads: per model file (path, size, mtime), native
// build, compute device, thread count, CPU and the drafter's candidate depths and masks, as the speed
// calibration keys its cache (engine/speed-calibration.ts). A new load starts from the stored acceptance
// and costs, so its first answer does not measure every depth again. The file is written after answers,
// debounced, never per token; one that is corrupt, of another format or version, or for other depths is
// ignored, and the reason is logged.
import {createHash} from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {layerDialCacheDir, writeFileAtomically} from "../../common/cache-dir.js";
import type {DraftCandidate, DrafterSnapshot} from "./self-tuning-drafter.js";

export const DRAFTER_STATE_FORMAT = "layer-dial-drafter-state";
/** bump when the stored fields or their meaning change: older files are then ignored, not misread */
export const DRAFTER_STATE_VERSION = 3;

export type DrafterStoreKey = {
    modelPath: string;
    buildId: string;
    /** describeCompute's words: "cpu", or the backend, its devices and the offloaded layers */
    device: string;
    threads: number;
};

type StoredDrafterState = {
    format: typeof DRAFTER_STATE_FORMAT;
    version: number;
    savedAt: string;
    /** for a person reading the file; the file name is the key */
    model: string;
    candidates: {depth: number; mask: string}[];
    state: DrafterSnapshot;
};

export type DrafterStateRead =
    | {snapshot: DrafterSnapshot; savedAt: string; ignoredBecause?: undefined}
    /** no usable state; `ignoredBecause` says why when a file was there but could not be used */
    | {snapshot?: undefined; ignoredBecause?: string};

function maskText(mask: Uint8Array): string {
    return Array.from(mask, (skip) => (skip !== 0 ? "1" : "0")).join("");
}

function candidateList(candidates: readonly DraftCandidate[]) {
    return candidates.map((candidate) => ({depth: candidate.depth, mask: maskText(candidate.mask)}));
}

export function defaultDrafterStateDirectory(): string {
    return layerDialCacheDir("drafter");
}

export function drafterStateFile(key: DrafterStoreKey, candidates: readonly DraftCandidate[], directory = defaultDrafterStateDirectory()): string {
    const stat = fs.statSync(key.modelPath);
    const identity = JSON.stringify({
        version: DRAFTER_STATE_VERSION,
        model: path.resolve(key.modelPath),
        size: stat.size,
        mtime: stat.mtimeMs,
        build: key.buildId,
        device: key.device,
        threads: key.threads,
        cpu: os.cpus()[0]?.model ?? "unknown",
        // another layer order (a calibration) drafts with other layers, whose acceptance says nothing of these
        candidates: candidateList(candidates)
    });
    return path.join(directory, `${createHash("sha256").update(identity).digest("hex").slice(0, 32)}.json`);
}

export function writeDrafterState(file: string, modelPath: string, candidates: readonly DraftCandidate[], snapshot: DrafterSnapshot): void {
    const stored: StoredDrafterState = {
        format: DRAFTER_STATE_FORMAT,
        version: DRAFTER_STATE_VERSION,
        savedAt: new Date().toISOString(),
        model: path.basename(modelPath),
        candidates: candidateList(candidates),
        state: snapshot
    };
    writeFileAtomically(file, `${JSON.stringify(stored)}\n`);
}

/** the stored state for these candidates, or why the file there cannot be used (never throws) */
export function readDrafterState(file: string, candidates: readonly DraftCandidate[]): DrafterStateRead {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
        return {ignoredBecause: `it could not be read (${(error as Error).message})`};
    }
    let data: unknown;
    try {
        data = JSON.parse(text);
    } catch (error) {
        return {ignoredBecause: `it is not valid JSON (${(error as Error).message})`};
    }
    if (!isObject(data) || data.format !== DRAFTER_STATE_FORMAT)
        return {ignoredBecause: `it is not a Layer Dial drafter state (format ${isObject(data) ? JSON.stringify(data.format) : "missing"})`};
    if (data.version !== DRAFTER_STATE_VERSION)
        return {ignoredBecause: `it is version ${JSON.stringify(data.version)} of the format, and this build reads version ${DRAFTER_STATE_VERSION}`};
    if (JSON.stringify(data.candidates) !== JSON.stringify(candidateList(candidates)))
        return {ignoredBecause: "it was measured at other draft depths or with other layers skipped"};
    const problem = snapshotProblem(data.state, candidates);
    if (problem !== undefined) return {ignoredBecause: `its state is malformed: ${problem}`};
    return {snapshot: data.state as DrafterSnapshot, savedAt: typeof data.savedAt === "string" ? data.savedAt : "unknown"};
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isCount = (value: unknown) => typeof value === "number" && Number.isFinite(value) && value >= 0;
const isSeconds = (value: unknown) => typeof value === "number" && Number.isFinite(value) && value > 0;
const areSeconds = (value: unknown) => Array.isArray(value) && value.every(isSeconds);
const isRealizedStep = (value: unknown) =>
    isObject(value) && isSeconds(value.seconds) && Number.isInteger(value.tokens) && (value.tokens as number) >= 1 && isSeconds(value.plainSeconds);

/** the first thing wrong with a stored snapshot, or undefined when the drafter can start from it */
function snapshotProblem(state: unknown, candidates: readonly DraftCandidate[]): string | undefined {
    if (!isObject(state)) return "no state object";
    if (!Array.isArray(state.depths) || state.depths.length !== candidates.length) return `depths should list ${candidates.length} entries`;
    for (const [i, entry] of (state.depths as unknown[]).entries()) {
        if (!isObject(entry)) return `depths[${i}] is not an object`;
        if (entry.depth !== candidates[i].depth) return `depths[${i}] is depth ${String(entry.depth)}, not ${candidates[i].depth}`;
        for (const field of ["accepted", "judged", "totalJudged"] as const)
            if (!isCount(entry[field])) return `depths[${i}].${field} is not a finite count ≥ 0`;
        if ((entry.accepted as number) > (entry.judged as number) + 1e-9) return `depths[${i}] accepted more drafts than it judged`;
        if (!areSeconds(entry.draftSeconds)) return `depths[${i}].draftSeconds is not a list of positive seconds`;
        if (!Array.isArray(entry.realizedSteps) || !(entry.realizedSteps as unknown[]).every(isRealizedStep))
            return `depths[${i}].realizedSteps is not a list of {seconds > 0, tokens ≥ 1, plainSeconds > 0}`;
    }
    if (!Array.isArray(state.verifyTimings)) return "verifyTimings is not a list";
    for (const [i, entry] of (state.verifyTimings as unknown[]).entries())
        if (!isObject(entry) || !Number.isInteger(entry.positions) || (entry.positions as number) < 1 || !areSeconds(entry.seconds))
            return `verifyTimings[${i}] is not {positions ≥ 1, seconds: [positive seconds]}`;
    if (!Number.isInteger(state.speculativeSteps) || (state.speculativeSteps as number) < 0) return "speculativeSteps is not a whole number ≥ 0";
    return undefined;
}

export type DrafterStatePersistenceOptions = {
    file: string;
    modelPath: string;
    candidates: readonly DraftCandidate[];
    /** what to store when the debounce fires */
    snapshot: () => DrafterSnapshot;
    /** milliseconds after the last answer before the state is written. Defaults to 2000. */
    debounceMs?: number;
    log?: (message: string) => void;
};

/** writes a drafter's state a little after answers end (a burst of completions writes once), and on flush */
export class DrafterStatePersistence {
    private timer: NodeJS.Timeout | undefined;
    private pending = false;
    private failed = false;

    constructor(private readonly options: DrafterStatePersistenceOptions) {}

    get file(): string {
        return this.options.file;
    }

    /** an answer ended with the drafter having learned something: write it soon */
    changed(): void {
        this.pending = true;
        if (this.timer !== undefined) clearTimeout(this.timer);
        this.timer = setTimeout(() => this.flush(), this.options.debounceMs ?? 2000);
        // a pending write never keeps the process alive; dispose flushes it
        this.timer.unref();
    }

    /** writes now if anything changed since the last write; a failure is logged once, never thrown */
    flush(): void {
        if (this.timer !== undefined) clearTimeout(this.timer);
        this.timer = undefined;
        if (!this.pending) return;
        this.pending = false;
        try {
            writeDrafterState(this.options.file, this.options.modelPath, this.options.candidates, this.options.snapshot());
        } catch (error) {
            if (!this.failed) this.options.log?.(`Could not store what the Lossless drafter learned in ${this.options.file}: ${(error as Error).message}`);
            this.failed = true;
        }
    }
}
