// The on-device calibration behind the dial's predictions: decode at up to six depths at a short context,
// and at full depth, a half, a quarter and the fewest layers at a long one, timing each point until the 95%
// confidence interval of its mean step time is tight, and fit the cost model's fixed, per-layer and
// per-context-token time and its curves (engine/plan's calibrateCostModel). Cached per model file, build,
// compute device, thread count, batch size and CPU, so a model loads without re-measuring; but only a
// calibration made on a quiet machine is cached, because one made under load would mis-predict every later load.
import {createHash} from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {layerDialCacheDir, writeFileAtomically} from "../common/cache-dir.js";
import {
    calibrateCostModel,
    keptLayersAtDepth,
    layersByAttentionType,
    MIN_CONTEXT_SPREAD_TOKENS,
    reachableDepths,
    skipMaskKeeping,
    validateCostModel,
    withEngineStepSeconds,
    type CostModel,
    type DecodeTiming,
    type SkipSchedule
} from "./plan/index.js";
import type {Generator} from "./generation/generator.js";
import type {LayerSkipContext} from "./native/skip-context.js";
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
     *  then fails the calibration (NoisySpeedCalibrationError). A depth within the target keeps its turns
     *  while another is not, until the turns of its group took this times the group's depths in all
     *  (ScratchSequences.timeInTurns). Defaults to 4 times the batch, up to 12 (defaultMaxSecondsPerDepth). */
    maxSecondsPerDepth?: number;
    /** the machine's 1-minute load average (os.loadavg()[0] by default). The calibration's own threads add
     *  `threads` to it; more than half the cores' worth on top of that means other programs competed for
     *  the CPU, and the result is used but not cached. */
    loadAverage?: () => number;
    /** the context of the long points, in cached tokens: full depth, a half, a quarter and the fewest layers
     *  are timed there too, which measures what the layers' attention pays per cached token. Defaults to
     *  min(DEFAULT_LONG_CONTEXT_TOKENS, the context size − 8). 0, or a context too small to lie
     *  MIN_CONTEXT_SPREAD_TOKENS beyond the short points', leaves that term at 0. */
    longContextTokens?: number;
    /** Defaults to the shared cache directory (~/.cache/layer-dial/speed). */
    cacheDirectory?: string;
};

/**
 * Decodes `steps` tokens after a short prompt through the engine's own generation path, with the calibration's
 * batch of requests side by side under `mask`, and leaves every sequence empty: the mean seconds from one
 * token to the next, far outliers dropped as from a bare point's steps (generatorBurst makes one from the
 * engine's generator).
 */
export type EngineStepBurst = (mask: Uint8Array, steps: number) => Promise<number>;

/** what the engine's generation step costs beyond a bare decode (measureEngineStep) */
export type EngineStepMeasurement = {
    /** seconds per step beyond a bare decode's, with its 95% interval over the pairs of bursts */
    extraSeconds: MeanInterval;
    /** the bare decode step it was measured beside (the fewest layers, a short context) */
    bareStepSeconds: number;
    /** how far that interval can move the speedup predicted at the fewest layers, as a share of it */
    predictionShift: number;
    /** whether that shift is within the calibration's target; the predictions carry the mean either way, but a
     *  calibration whose engine step is not tight is not cached */
    tight: boolean;
};

export type SpeedCalibrationOptions = SpeedCalibrationKey &
    SpeedCalibrationTuning & {
        cache: SkipAwareCache;
        schedule: SkipSchedule;
        prior: CostModel;
        /** the model's vocabulary size: the token ids decoded stay below it */
        vocabularySize: number;
        /** the engine's own step, timed beside bare decodes so that what it adds is in the fixed cost. Without
         *  one the calibration times bare decodes only (tests of the timing itself) */
        engineBurst?: EngineStepBurst;
    };

export type CalibrationPoint = {
    depth: number;
    keptLayers: number[];
    /** tokens in each sequence's cache when every timed step was decoded */
    contextTokens: number;
    stepSeconds: MeanInterval;
    rejectedOutliers: number;
    /** the batch's own steps here stayed too spread, so this is its short step plus `batch` times what one
     *  sequence's step gained from the short context to this one, timed at batch 1 (scaledAttention) */
    scaledFromOneSequence?: true;
    /** this context's steps as timed, and the same depth's at the short context timed in the same turns on
     *  other sequences: stepSeconds is the short point's step times their ratio (timeGroups) */
    besideShortContext?: {timedStepSeconds: MeanInterval; shortStepSeconds: MeanInterval; shortRejectedOutliers: number};
};

export type SpeedCalibrationResult = {
    costModel: CostModel;
    /** read from the cache rather than measured now */
    cached: boolean;
    file: string;
    /** the timed depths (empty when read from the cache) */
    points: CalibrationPoint[];
    /** what the engine's own step adds to a bare decode (measured now, with an engineBurst) */
    engineStep?: EngineStepMeasurement;
    /** why the long points are one sequence's attention scaled to the batch, and the batch-1 timings they
     *  came from (present only then; such a calibration is used but not cached) */
    attentionFromOneSequence?: {reason: string; points: CalibrationPoint[]};
    /** why a calibration measured now was not written to the cache (it was made under load, or fits badly) */
    notCachedReason?: string;
    /** how long measuring took (absent when read from the cache): in all, and the long-context points'
     *  share (filling the cache to the long context and timing there) */
    elapsedSeconds?: {total: number; longContext: number};
};

/** A depth's step times stayed too spread to carry a 5% prediction; say how far off and what to do. */
export class NoisySpeedCalibrationError extends Error {
    override name = "NoisySpeedCalibrationError";
}

/** the default for SpeedCalibrationTuning.targetRelativeHalfWidth */
export const DEFAULT_TARGET_RELATIVE_HALF_WIDTH = 0.02;
const DEFAULT_MAX_SECONDS_PER_DEPTH = 4;

/**
 * The time a depth may take by default: 4 s at batch 1, and as many steps' worth at a batch, up to 3 times
 * as long (12 s from batch 3 on). A batch's step takes longer (on 26x1280 and 32x1536, two threads, 4
 * sequences took 2.6-2.8 times one sequence's time at 8 cached tokens), and 4 s left batch 4 short of ±2%
 * on both shapes, where 12 s reached it (calibrations of 50 and 60 s; the engine itself calibrates batch 1).
 */
function defaultMaxSecondsPerDepth(batch: number): number {
    return DEFAULT_MAX_SECONDS_PER_DEPTH * Math.min(Math.max(1, batch), 3);
}
/** more rejected outliers than this share of a depth's steps: something else ran on the machine, so the
 *  (outlier-free) result is used but not cached */
const MAX_OUTLIER_SHARE = 0.1;
/** a fit whose root-mean-square relative residual (each timing's misfit over its own time) exceeds this does not describe the machine */
const MAX_RELATIVE_RESIDUAL = 0.03;
/** the short points' context: the few tokens a short prompt leaves in the cache */
export const SHORT_CONTEXT_TOKENS = 8;
/** the long points' context when the context size allows it: a summary's prompt can be this long, and the
 *  attention's cost per cached token still grows up to here (see ContextCurve) */
export const DEFAULT_LONG_CONTEXT_TOKENS = 2048;
/** full depth is also timed at these shares of the long context, for the context curve */
const CURVE_SHARES = [0.25, 0.5, 0.75];
/** a curve point may take this share of maxSecondsPerDepth: it is optional (one too spread is left out),
 *  and on a busy machine the tiny steps of a small model used up the whole budget at each point (stories260K
 *  under the e2e run: 10 s to load, 1.9 s on a quiet machine) */
const CURVE_POINT_TIME_SHARE = 0.25;
/**
 * How long each mask is timed in its turn (ScratchSequences.timeInTurns): at least 8 steps and 30 ms, at most
 * 32 steps, so a stretch of a slow machine still spans several masks' turns. A mask's steps run slower for
 * a while after the other masks' turns, more so the shorter its step, and generation decodes many steps at
 * one mask: in one process on the 28-layer n_embd 640 model (2 threads), turns of 8 steps timed 2 layers 9%
 * and 6 layers 2% slower than steps in a row (1.157 against 1.065 ms, 1.890 against 1.849), turns of 32
 * steps within 1% (1.073 and 1.821). That made the dial promise less than the shallow depths gave.
 */
const TURN = {minSteps: 8, maxSteps: 32, minSeconds: 0.03};
/**
 * Untimed steps after a turn passes to a mask with fewer layers than the one before it. The first steps after
 * such a drop run slower, and the more so the deeper the mask before: in one process on a 26-layer n_embd 1280
 * model (2 threads, 10 rounds), 6 layers after 8 steps of 26 took 5.79, 5.51, then 5.16 (steps 2-3), 4.92
 * (4-7) and 4.76 ms (8-15), and 4.55 ms from then on (medians); 2 layers 2.74 down to 2.07 ms over 16 steps.
 * After a rise there was no such tail: 26 layers after 6 ran at their steady 17.7 ms from the second step.
 * Timed in turns of 8 steps, the shallow depths came out 10-15% slow, so the dial promised less than it gave
 * at its fastest levels (3x on that model: 1.14 to 1.19 of the prediction in two bench runs), since an answer
 * decodes its tokens at one mask. The turns therefore go from the fewest layers up, so that only the first
 * turn of each round follows a drop (from full depth), and that one leads in with up to 16 untimed steps,
 * at most 0.1 s of them (a device whose shallowest step is slow pays at most that per round).
 */
const LEAD_IN_AFTER_DROP = {steps: 16, seconds: 0.1};
/** untimed steps before a mask's turn: the very first settles caches and the threadpool, a rise builds the
 *  mask's graph in its first step, and a drop waits out the slow tail above */
const LEAD_IN = {first: {steps: 2, seconds: Infinity}, afterRise: {steps: 1, seconds: Infinity}, afterDrop: LEAD_IN_AFTER_DROP};
/** each burst of measureEngineStep decodes about this long (bare), in 8 to 32 steps, and it judges at least
 *  4 pairs: a step of a shallow 28-layer n_embd 640 model (1.1 ms) gets 32, one of lavapipe (~40 ms) 8,
 *  so a slow device pays ~3 s rather than ~14 */
const ENGINE_BURST_SECONDS = 0.05;
const ENGINE_BURST_STEPS = {min: 8, max: 32};
const MIN_ENGINE_BURSTS = 4;

export function speedCalibrationFile(key: SpeedCalibrationKey, cacheDirectory = layerDialCacheDir("speed")): string {
    const stat = fs.statSync(key.modelPath);
    const identity = JSON.stringify({
        // 11: a depth's turn lasts at least 30 ms (up to 32 steps), where 8 steps timed shallow depths slow
        // 12: the engine's step is the plain mean of its bursts, its slow steps included
        // 13: the points beyond the short context are timed in turns with the short context's (timeGroups)
        // 14: a half and a quarter of the layers are timed at the long context too (longContextDepths)
        // 15: the attention depth curve's knots lie on the least-squares line through them (calibration.ts)
        version: 15,
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

/** ordinary token ids for the calibration's decodes, the same for every mask so only the layers differ, and
 *  always inside the vocabulary (a 512-token model rejects id 512 and the whole calibration failed) */
function calibrationToken(n: number, vocabularySize: number): number {
    return 1 + (n % (vocabularySize - 1));
}

export type StepTiming = {stepSeconds: MeanInterval; rejectedOutliers: number};

export type StepTimingOptions = {
    /** at least this many measured steps */
    minimumSteps: number;
    targetRelativeHalfWidth: number;
    maxSeconds: number;
};

/** one turn of a rotation: steps of `sequences`, at the context they hold, under `mask` */
export type TimedTurn = {sequences: ScratchSequences; mask: Uint8Array};

function sameMask(a: Uint8Array, b: Uint8Array): boolean {
    return a.length === b.length && a.every((skip, layer) => skip === b[layer]);
}

/**
 * The calibration's own sequences, kept outside the KV ledger. A timing needs a given number of cached
 * positions, not particular contents, so every position is written under the cheapest mask the native
 * build accepts (one layer of each attention type): filling 1,024 positions through every layer of the
 * 24-layer n_embd 2048 benchmark model took 10 s on a 2-core CPU, through one layer 0.15 s. Which layers
 * wrote a cell does not change what a
 * later step pays to read it: the attention reads every cell its sequence holds (with flash attention
 * llama.cpp skips only masked cells: other sequences' and positions after the token's), and a step at
 * 1,000 cached tokens costs the same after such a fill as after a real prefill (CONTRIBUTING.md, "How many
 * layers"). Each timed step is removed again after it, so every step of a point reads the same cells.
 * The ledger never hears of these positions: `close` removes them all and sets the native mask back to
 * what it was, so the SkipAwareCache finds the sequences empty and the mask it last set.
 */
export class ScratchSequences {
    private cachedTokens = 0;
    private readonly maskBefore: Uint8Array;

    private constructor(
        private readonly context: LayerSkipContext,
        private readonly sequenceIds: readonly number[],
        private readonly fillMask: Uint8Array,
        private readonly vocabularySize: number
    ) {
        this.maskBefore = context.getLayerSkip();
    }

    /** empties `batch` sequences from `firstSequence` on (their ledgers too) for the calibration to fill */
    static async open(cache: SkipAwareCache, schedule: SkipSchedule, batch: number, vocabularySize: number, firstSequence = 0): Promise<ScratchSequences> {
        if (!Number.isInteger(vocabularySize) || vocabularySize < 2)
            throw new Error(`cannot time decode steps: the model's vocabulary size is ${vocabularySize}`);
        if (firstSequence + batch > cache.context.sequenceCount)
            throw new Error(`cannot time ${batch} sequences from sequence ${firstSequence}: the context holds ${cache.context.sequenceCount}`);
        const sequenceIds = Array.from({length: batch}, (_, i) => firstSequence + i);
        for (const sequenceId of sequenceIds) {
            await cache.clear(sequenceId);
            await cache.context.removeTokens(sequenceId, 0);
        }
        // the first layer of every attention type: the native build refuses a graph without one
        const fillMask = new Uint8Array(schedule.layerCount).fill(1);
        for (const layers of layersByAttentionType(schedule).values()) fillMask[layers[0]] = 0;
        return new ScratchSequences(cache.context, sequenceIds, fillMask, vocabularySize);
    }

    /** tokens each sequence holds */
    get contextTokens(): number {
        return this.cachedTokens;
    }

    /** writes positions up to `tokens` in every sequence */
    async fillTo(tokens: number): Promise<void> {
        if (tokens <= this.cachedTokens) return;
        await this.context.setLayerSkip(this.fillMask);
        const first = this.cachedTokens;
        await this.context.decode(
            this.sequenceIds.map((sequenceId) => ({
                sequenceId,
                firstPosition: first,
                tokens: Array.from({length: tokens - first}, (_, t) => calibrationToken(first + t + 10 * sequenceId, this.vocabularySize))
            }))
        );
        this.cachedTokens = tokens;
    }

    /**
     * Seconds per decode step of every sequence at once under each mask, at the context they hold: the mean,
     * with its 95% interval, of steps timed until that interval is within the target or the time is up.
     * The masks take turns (TURN: 8 to 32 steps), so a slow stretch of the machine (another program, a
     * frequency change) lands on every depth rather than on one whole depth: a fit to points timed one after
     * another missed single depths by up to ±15% on 2 cores, with no sign either way. The mean, not the median:
     * on a 2-core machine some steps take 10-20 ms longer (thread wake-ups), more often in short graphs, and
     * tokens/s over a whole answer pays for every one of them. Only far outliers (a step another process
     * took the CPU from) are dropped, and counted.
     * A mask whose interval is met keeps its turns (and is judged again after each) while another's is not,
     * until the turns together took maxSeconds a mask: the predictions are ratios of these means, and a mask
     * that left early missed whatever pace the machine kept after it. In a bench of the 32-layer n_embd 1536
     * model at batch 4, full depth met ±2% after 9 rounds and 24 layers after 19; full depth over 24 layers
     * came out 1.241, where three calibrations and four longer timings in other processes gave 1.29 to 1.32,
     * so every level over-achieved its prediction by 4-8%.
     */
    async timeInTurns(masks: readonly Uint8Array[], options: StepTimingOptions): Promise<StepTiming[]> {
        return await ScratchSequences.timeTurns(
            masks.map((mask) => ({sequences: this, mask})),
            options
        );
    }

    /**
     * timeInTurns over turns on several ScratchSequences of one context, each at the context it holds: a
     * longer context's steps timed in the same rotation as the short context's see the same stretches of
     * the machine (timeGroups). Turns under one mask follow each other with no lead-in between them: the
     * mask's graph and weights are the same, only the cache read differs.
     */
    static async timeTurns(turns: readonly TimedTurn[], options: StepTimingOptions): Promise<StepTiming[]> {
        const timings = turns.map(() => ({samples: [] as number[], measured: 0, done: false}));
        const keptCounts = turns.map(({mask}) => mask.reduce((kept, skip) => kept + (skip ? 0 : 1), 0));
        // from the fewest layers up: only the first turn of a round follows a drop (LEAD_IN_AFTER_DROP); the
        // sort is stable, so turns under one mask keep the order given
        const order = turns.map((_, index) => index).sort((a, b) => keptCounts[a] - keptCounts[b]);
        // a turn that is done leaves the rotation only once the turns together took this long (a turn that
        // stays too spread up to its maxSeconds would otherwise drag every other one along for as long)
        const rotationSeconds = options.maxSeconds * turns.length;
        let spent = 0;
        let step = 0;
        let lastTurn = -1;
        while (timings.some((timing) => !timing.done)) {
            for (const index of order) {
                const timing = timings[index];
                if (timing.done && spent >= rotationSeconds) continue;
                const {sequences, mask} = turns[index];
                if (lastTurn === -1 || !sameMask(turns[lastTurn].mask, mask)) {
                    await sequences.context.setLayerSkip(mask);
                    const leadIn = lastTurn === -1 ? LEAD_IN.first : keptCounts[index] < keptCounts[lastTurn] ? LEAD_IN.afterDrop : LEAD_IN.afterRise;
                    let leadInSeconds = 0;
                    for (let leadStep = 0; leadStep < leadIn.steps && (leadStep < 1 || leadInSeconds < leadIn.seconds); leadStep++)
                        leadInSeconds += await sequences.timeOneStep(step++);
                }
                lastTurn = index;
                let turnSeconds = 0;
                for (let turnStep = 0; turnStep < TURN.minSteps || (turnSeconds < TURN.minSeconds && turnStep < TURN.maxSteps); turnStep++) {
                    const seconds = await sequences.timeOneStep(step++);
                    timing.samples.push(seconds);
                    timing.measured += seconds;
                    turnSeconds += seconds;
                }
                spent += turnSeconds;
                timing.done =
                    timing.samples.length >= options.minimumSteps &&
                    (timing.measured >= options.maxSeconds ||
                        meanInterval(withoutOutliers(timing.samples).kept).relativeHalfWidth <= options.targetRelativeHalfWidth);
            }
        }
        return timings.map(({samples}) => {
            const {kept, rejected} = withoutOutliers(samples);
            return {stepSeconds: meanInterval(kept), rejectedOutliers: rejected};
        });
    }

    /** one decode step of every sequence after the positions it holds, removed again after it; its seconds */
    private async timeOneStep(step: number): Promise<number> {
        const position = this.cachedTokens;
        const started = process.hrtime.bigint();
        // read back as a generation step does: the most likely token (or a sampler's few candidates), found
        // natively. A copy of the whole row (the "logits" readout: 10-110 us alone at a 32000-token
        // vocabulary, and 128 KB of garbage a step) is a fixed cost generation no longer pays, and it
        // weighs most at the shallow depths
        await this.context.decodeReadouts(
            this.sequenceIds.map((sequenceId) => ({
                sequenceId,
                firstPosition: position,
                tokens: [calibrationToken(19 + step, this.vocabularySize)],
                readout: "greedyToken"
            }))
        );
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        for (const sequenceId of this.sequenceIds) await this.context.removeTokens(sequenceId, position);
        return seconds;
    }

    /** removes every position written and restores the native mask (also after a failure) */
    async close(): Promise<void> {
        for (const sequenceId of this.sequenceIds) await this.context.removeTokens(sequenceId, 0);
        this.cachedTokens = 0;
        await this.context.setLayerSkip(this.maskBefore);
    }
}

/** the depths measured: full, three quarters, half, a quarter, an eighth and the fewest layers the dial
 *  reaches (Max), so the fitted line spans the shallow end, where the per-step overhead weighs most */
function calibrationDepths(schedule: SkipSchedule): number[] {
    return depthsAtShares(schedule, [0.75, 0.5, 0.25, 0.125]);
}

/**
 * The depths timed at the long context too: full, half, a quarter and the fewest layers, so that the attention
 * depth curve holds the dial's fast levels to what their attention was timed at (AttentionDepthCurve). With
 * full depth and the fewest layers alone, 36x1024's 9 layers at ~1,500 tokens gave 0.92-0.97 of the
 * prediction in four bench runs while full depth gave what was predicted.
 */
function longContextDepths(schedule: SkipSchedule): number[] {
    return depthsAtShares(schedule, [0.5, 0.25]);
}

/** full depth, the reachable depths nearest these shares of it, and the fewest layers, each once */
function depthsAtShares(schedule: SkipSchedule, shares: readonly number[]): number[] {
    const depths = reachableDepths(schedule);
    const full = Math.max(...depths);
    const nearest = (goal: number) => depths.reduce((best, depth) => (Math.abs(depth - goal) < Math.abs(best - goal) ? depth : best), full);
    return [...new Set([full, ...shares.map((share) => nearest(full * share)), Math.min(...depths)])];
}

/** the long points' context, or undefined when it is off or the context size leaves too little room */
function longContextTokens(tuning: SpeedCalibrationTuning, contextSize: number): number | undefined {
    const tokens = tuning.longContextTokens ?? Math.min(DEFAULT_LONG_CONTEXT_TOKENS, contextSize - 8);
    if (!Number.isInteger(tokens) || tokens < SHORT_CONTEXT_TOKENS + MIN_CONTEXT_SPREAD_TOKENS) return undefined;
    // each timed step needs one cell beyond the context
    return tokens < contextSize ? tokens : undefined;
}

/** the point timed at `depth` and the short context, if it stood */
function shortPoint(points: readonly CalibrationPoint[], depth: number): CalibrationPoint | undefined {
    return points.find((point) => point.depth === depth && point.contextTokens === SHORT_CONTEXT_TOKENS);
}

function percent(share: number): string {
    return `${(share * 100).toFixed(1)}%`;
}

/** a spread beyond `target`, with the digits it takes to differ from it: a 20x1792 calibration's long points
 *  were refused as "±2.0% (95% interval) ..., where ±2.0% is needed", which reads as a timing that met it */
export function percentBeyond(share: number, target: number): string {
    let digits = 1;
    while (digits < 4 && (share * 100).toFixed(digits) === (target * 100).toFixed(digits)) digits++;
    return `${(share * 100).toFixed(digits)}%`;
}

/** depths timed in turns at one context: every depth at the short one, full depth on the context curve, the
 *  long context's depths (longContextDepths) at the long one */
type TimingGroup = {depths: number[]; contextTokens: number; kind: "short" | "curve" | "long"};

type GroupLimits = {minimumSteps: number; target: number; maxSeconds: number};

/**
 * Times the groups in order on `batch` fresh scratch sequences: the points whose interval met the target, and
 * the first short or long point that did not, which ends the timing after its group (a curve knot too spread
 * is only left out). The group's other depths, timed in the same turns, stand on their own intervals: on the
 * 28-layer n_embd 1152 model one long depth of four missed ±2.0% by 0.01%, and dropping the two after it took
 * the attention's curve through the depths (three needed) with them, so the dial promised 7 layers 3.26x at
 * ~1,500 tokens where they gave 3.04x. When the long groups began, for the elapsed time.
 * When the context holds twice `batch` sequences, the groups beyond the short context fill a second set of
 * them, and each such group's depths are timed in the same turns at the short context too, on the first set
 * (which stays there): a point beyond it is then the short group's point at its depth times what the
 * longer context cost over the short one in those turns (besideShortContext). Timed one group after another,
 * the long points met whatever stretch of the machine came after the short ones: on the 36-layer n_embd 1024
 * model (2 threads, one process, 6 rounds of each), full over the fewest layers grew from 8 to 2,048 cached
 * tokens by 1.366 ±0.065 timed so and by 1.280 ±0.032 timed in one rotation (the two ways alternating), and
 * the dial had promised its shallow levels more growth with the context than they got in four of four bench
 * runs. With fewer than twice `batch` sequences the one set fills on to each group's context in turn.
 */
async function timeGroups(
    options: SpeedCalibrationOptions,
    batch: number,
    groups: readonly TimingGroup[],
    limits: GroupLimits
): Promise<{points: CalibrationPoint[]; refused?: {kind: "short" | "long"; spread: string}; longStarted?: bigint}> {
    const layerCount = options.schedule.layerCount;
    const points: CalibrationPoint[] = [];
    let longStarted: bigint | undefined;
    const short = await ScratchSequences.open(options.cache, options.schedule, batch, options.vocabularySize);
    let beyond: ScratchSequences | undefined;
    try {
        if (options.cache.context.sequenceCount >= 2 * batch)
            beyond = await ScratchSequences.open(options.cache, options.schedule, batch, options.vocabularySize, batch);
        for (const {depths: groupDepths, contextTokens, kind} of groups) {
            if (kind !== "short") longStarted ??= process.hrtime.bigint();
            const sequences = kind === "short" || beyond === undefined ? short : beyond;
            await sequences.fillTo(contextTokens);
            const keptLayers = groupDepths.map((depth) => keptLayersAtDepth(options.schedule, depth));
            const masks = keptLayers.map((kept) => skipMaskKeeping(layerCount, kept));
            // the same depths at the short context, in the same turns (listed first, so that under one mask the
            // short context's turn runs first and the longer one's follows it with no lead-in)
            const besideShort = sequences !== short;
            const timed = await ScratchSequences.timeTurns(
                [...(besideShort ? masks.map((mask) => ({sequences: short, mask})) : []), ...masks.map((mask) => ({sequences, mask}))],
                {
                    minimumSteps: limits.minimumSteps,
                    targetRelativeHalfWidth: limits.target,
                    maxSeconds: kind === "curve" ? limits.maxSeconds * CURVE_POINT_TIME_SHARE : limits.maxSeconds
                }
            );
            const own = besideShort ? timed.slice(masks.length) : timed;
            // every depth of a group was timed in the same turns: one too spread does not undo the others
            let groupRefused: {kind: "short" | "long"; spread: string} | undefined;
            for (const [index, {stepSeconds, rejectedOutliers}] of own.entries()) {
                const depth = groupDepths[index];
                const reference = besideShort ? timed[index] : undefined;
                const timedPoint = {depth, keptLayers: keptLayers[index], contextTokens, stepSeconds, rejectedOutliers};
                const point = reference === undefined ? timedPoint : besideShortContext(timedPoint, reference, points);
                // the point's own timing first, then the short steps timed beside it
                const tooSpread = timingsOf(point).find((timing) => timing.stepSeconds.relativeHalfWidth > limits.target);
                if (tooSpread === undefined) {
                    points.push(point);
                    continue;
                }
                // a knot of the context curve left out: the line (and the other knots) still stand
                if (kind === "curve") continue;
                const spread = `decode steps ${batch > 1 ? `of ${batch} sequences ` : ""}at ${depth} layers and ${tooSpread.at} cached tokens${
                    tooSpread.at !== contextTokens ? ` (timed beside those at ${contextTokens})` : ""
                } stayed too spread to time: ±${percentBeyond(tooSpread.stepSeconds.relativeHalfWidth, limits.target)} (95% interval) after ${tooSpread.stepSeconds.samples + tooSpread.rejectedOutliers} steps`;
                groupRefused ??= {kind, spread};
            }
            if (groupRefused !== undefined) return {points, refused: groupRefused, longStarted};
        }
    } finally {
        await beyond?.close();
        await short.close();
    }
    return {points, longStarted};
}

/**
 * `point`, timed beside the same depth at the short context (`reference`), set against the short group's own
 * point there: its step is the short point's times timed ÷ reference, so the ratio the cost model reads from
 * the two contexts is the one timed in the same turns. The ratio's interval is the two timings' in quadrature
 * (the short point's own interval is the short point's, already in the fit).
 */
function besideShortContext(point: CalibrationPoint, reference: StepTiming, points: readonly CalibrationPoint[]): CalibrationPoint {
    const shortStepSeconds = shortPoint(points, point.depth)?.stepSeconds;
    // the short group comes first and ends the timing when a point of it does not stand
    if (shortStepSeconds === undefined) throw new Error(`no point at ${point.depth} layers and the short context to set the longer context's against`);
    const mean = (shortStepSeconds.mean * point.stepSeconds.mean) / reference.stepSeconds.mean;
    const relativeHalfWidth = Math.hypot(point.stepSeconds.relativeHalfWidth, reference.stepSeconds.relativeHalfWidth);
    return {
        ...point,
        stepSeconds: {mean, halfWidth: relativeHalfWidth * mean, relativeHalfWidth, samples: point.stepSeconds.samples},
        besideShortContext: {timedStepSeconds: point.stepSeconds, shortStepSeconds: reference.stepSeconds, shortRejectedOutliers: reference.rejectedOutliers}
    };
}

/** the timings a point rests on, each with the context it was timed at: its own steps, and the short steps
 *  timed beside it (another program's stretch in either says the calibration was interrupted) */
function timingsOf(point: CalibrationPoint): (StepTiming & {at: number})[] {
    const beside = point.besideShortContext;
    return [
        {stepSeconds: beside?.timedStepSeconds ?? point.stepSeconds, rejectedOutliers: point.rejectedOutliers, at: point.contextTokens},
        ...(beside !== undefined ? [{stepSeconds: beside.shortStepSeconds, rejectedOutliers: beside.shortRejectedOutliers, at: SHORT_CONTEXT_TOKENS}] : [])
    ];
}

/**
 * The batch's points beyond the short context from one sequence's steps, for when the batch's own long steps
 * stay too spread: one sequence is timed at the short context and on to the long one (the curve's knots
 * the batch's own timing left out, then the long context's depths), and each such point becomes the
 * batch's short step at its depth plus `batch` times what one sequence's step gained on the way. Each
 * sequence attends to its own cache, so b sequences read b caches: on the 26-layer n_embd 1280 model (2
 * threads), 4 sequences gained 4.15 times one sequence's time per cached token from 8 to 2,048 tokens, at 26
 * layers and at 2 alike. The batch's short points must hold full depth and the long context's depths.
 */
async function scaledAttention(
    options: SpeedCalibrationOptions,
    batchPoints: readonly CalibrationPoint[],
    at: {curveContexts: readonly number[]; longContext: number; fullDepth: number; longDepths: number[]},
    limits: GroupLimits
): Promise<{points?: {single: CalibrationPoint[]; scaled: CalibrationPoint[]}; refused?: string}> {
    const knotsStood = new Set(batchPoints.map((point) => point.contextTokens));
    const {points: single, refused} = await timeGroups(
        options,
        1,
        [
            {depths: at.longDepths, contextTokens: SHORT_CONTEXT_TOKENS, kind: "short"},
            ...at.curveContexts
                .filter((tokens) => !knotsStood.has(tokens))
                .map((contextTokens) => ({depths: [at.fullDepth], contextTokens, kind: "curve" as const})),
            {depths: at.longDepths, contextTokens: at.longContext, kind: "long"}
        ],
        limits
    );
    if (refused !== undefined) return {refused: refused.spread};
    const scaled = single
        .filter((point) => point.contextTokens > SHORT_CONTEXT_TOKENS)
        .map((point): CalibrationPoint => {
            // both stood: a refused short point ends the timing before any long one
            const batchShort = shortPoint(batchPoints, point.depth)!.stepSeconds;
            const singleShort = shortPoint(single, point.depth)!.stepSeconds;
            const mean = batchShort.mean + options.batch * (point.stepSeconds.mean - singleShort.mean);
            // the three timings' intervals, independent, add in quadrature
            const halfWidth = Math.hypot(batchShort.halfWidth, options.batch * point.stepSeconds.halfWidth, options.batch * singleShort.halfWidth);
            return {
                ...point,
                stepSeconds: {mean, halfWidth, relativeHalfWidth: halfWidth / mean, samples: point.stepSeconds.samples},
                scaledFromOneSequence: true
            };
        });
    return {points: {single, scaled}};
}

export async function calibrateSpeed(options: SpeedCalibrationOptions): Promise<SpeedCalibrationResult> {
    const file = speedCalibrationFile(options, options.cacheDirectory);
    const layerCount = options.schedule.layerCount;
    const cached = readCachedSpeedCalibration(file, layerCount);
    if (cached != null) return {costModel: cached, cached: true, file, points: []};

    const target = options.targetRelativeHalfWidth ?? DEFAULT_TARGET_RELATIVE_HALF_WIDTH;
    const maxSeconds = options.maxSecondsPerDepth ?? defaultMaxSecondsPerDepth(options.batch);
    const loadAverage = options.loadAverage ?? (() => os.loadavg()[0]);
    const cores = os.availableParallelism();
    const loadBefore = loadAverage();

    const depths = calibrationDepths(options.schedule);
    const longContext = longContextTokens(options, options.cache.context.contextSize);
    // the short points at every depth, full depth on the way to the long context (the context curve), then
    // the long context's depths there
    const curveContexts =
        longContext === undefined
            ? []
            : [...new Set(CURVE_SHARES.map((share) => Math.round(share * longContext)))].filter(
                  (tokens) => tokens - SHORT_CONTEXT_TOKENS >= MIN_CONTEXT_SPREAD_TOKENS && longContext - tokens >= MIN_CONTEXT_SPREAD_TOKENS
              );
    const fullDepth = Math.max(...depths);
    const fewestDepth = Math.min(...depths);
    const longDepths = longContextDepths(options.schedule);
    // each group's depths take turns at one context
    const groups: TimingGroup[] = [
        {depths, contextTokens: SHORT_CONTEXT_TOKENS, kind: "short"},
        ...curveContexts.map((contextTokens) => ({depths: [fullDepth], contextTokens, kind: "curve" as const})),
        ...(longContext !== undefined ? [{depths: longDepths, contextTokens: longContext, kind: "long" as const}] : [])
    ];
    const limits = {minimumSteps: options.steps ?? 16, target, maxSeconds};
    const started = process.hrtime.bigint();
    const timed = await timeGroups(options, options.batch, groups, limits);
    const points = timed.points;
    if (timed.refused?.kind === "short")
        throw new NoisySpeedCalibrationError(
            `${timed.refused.spread}, where ±${percent(target)} is needed; other programs are probably using the CPU. Close them and reload the model to calibrate again`
        );
    let longContextFailure: string | undefined;
    let attentionFromOneSequence: SpeedCalibrationResult["attentionFromOneSequence"];
    if (timed.refused?.kind === "long" && longContext !== undefined) {
        const refused = `${timed.refused.spread}, where ±${percent(target)} is needed`;
        // a batch's long steps are the longest the calibration times, and the most spread: on a 2-core VM, 4
        // sequences at 2,048 cached tokens took 100 to 200 ms a step, by turns. One sequence's are shorter and
        // steadier, and each sequence attends to its own cache (node-llama-cpp keeps one per sequence), so
        // a batch's attention is that many sequences'
        const scaled = options.batch > 1 ? await scaledAttention(options, points, {curveContexts, longContext, fullDepth, longDepths}, limits) : {};
        if (scaled.points !== undefined) {
            // one sequence's timing stands for the whole long context: the batch's own depths there that stood
            // go, so that the attention's curve through the depths rests on one timing, not on two that differ
            // (on 26x1280 the stand-in put batch 4's full depth 9% and 20% above the batch's own)
            points.splice(0, points.length, ...points.filter((point) => point.contextTokens !== longContext), ...scaled.points.scaled);
            attentionFromOneSequence = {
                reason: `${refused}, so the batch's attention is ${options.batch} times one sequence's, timed at batch 1`,
                points: scaled.points.single
            };
        } else {
            // without the long points the short ones still calibrate (the attention term then rests on the
            // curve's knots that stood, or stays 0 as before it was measured), but not for the cache: the
            // next load tries again
            const curveReach = Math.max(...points.map((point) => point.contextTokens));
            const longStood = points.filter((point) => point.contextTokens === longContext).map((point) => point.depth);
            longContextFailure = `${refused}${scaled.refused !== undefined ? ` (and one sequence's: ${scaled.refused})` : ""}, so the attention's cost per cached token ${
                curveReach > SHORT_CONTEXT_TOKENS ? `rests on the points up to ${curveReach} cached tokens` : "is not measured"
            }${longStood.length > 0 ? ` (at ${longContext}: ${longStood.join(", ")} layers stood)` : ""}`;
        }
    }
    const longFinished = process.hrtime.bigint();
    // full depth and the fewest layers at the short context: what the engine's step is set against
    const fullStepSeconds = shortPoint(points, fullDepth)?.stepSeconds.mean;
    const fewestStepSeconds = shortPoint(points, fewestDepth)?.stepSeconds.mean;
    const engineStep =
        options.engineBurst !== undefined && fullStepSeconds !== undefined && fewestStepSeconds !== undefined
            ? await measureEngineStep(options, options.engineBurst, skipMaskKeeping(layerCount, keptLayersAtDepth(options.schedule, fewestDepth)), {
                  target,
                  maxSeconds,
                  fullStepSeconds,
                  fewestStepSeconds
              })
            : undefined;
    const finished = process.hrtime.bigint();
    const elapsedSeconds = {
        total: Number(finished - started) / 1e9,
        longContext: timed.longStarted !== undefined ? Number(longFinished - timed.longStarted) / 1e9 : 0
    };
    const timings: DecodeTiming[] = points.map((point) => ({
        keptLayers: point.keptLayers,
        secondsPerToken: point.stepSeconds.mean,
        contextTokens: point.contextTokens
    }));
    // the engine's own work per step, which bare decodes leave out, is a cost every depth pays alike. One too
    // spread to pin down still goes in at its mean, and the calibration is then not cached: leaving it out
    // put 0 where the engine costs something at every depth, and on 26x1280 at batch 1 (0.066 ±0.148 ms,
    // left out) the dial promised 6% and 8% more than 8 layers gave at ~100 and ~1,500 tokens
    const fitted = calibrateCostModel(options.prior, timings);
    const costModel = engineStep === undefined ? fitted : withEngineStepSeconds(fitted, Math.max(0, engineStep.extraSeconds.mean));

    // load from others, over the calibration: the 1-minute average lags, so the higher of before and after
    const otherLoad = Math.max(loadBefore, loadAverage()) - options.threads;
    const relativeResidual = costModel.calibration?.rmsRelativeResidual ?? 0;
    const interrupted = points
        .flatMap((point) => timingsOf(point).map((timing) => ({point, ...timing})))
        .find(({stepSeconds, rejectedOutliers}) => rejectedOutliers > MAX_OUTLIER_SHARE * (stepSeconds.samples + rejectedOutliers));
    // a calibration without the attention term would stand in for later loads that could measure it
    const noLongContext =
        longContext === undefined
            ? `the attention's cost per cached token was not measured (${options.longContextTokens === 0 ? "turned off" : `a context of ${options.cache.context.contextSize} tokens leaves no room for it`})`
            : undefined;
    const engineStepSpread =
        engineStep !== undefined && !engineStep.tight
            ? `the engine's own cost per step stayed too spread to pin down: ${describeMilliseconds(engineStep.extraSeconds)} over ${engineStep.extraSeconds.samples} bursts, which moves the speedup predicted at the fewest layers by ±${percentBeyond(engineStep.predictionShift, target)}, where ±${percent(target)} is needed; the predictions carry its mean`
            : undefined;
    const notCachedReason =
        noLongContext ??
        longContextFailure ??
        // a stand-in for the batch's own long points: on 26x1280 it put batch 4's full-depth step at 2,048
        // tokens at 95 and 110 ms where the batch's own timing gave 87 and 92 (its predictions at ~1,500 tokens
        // within 6% of those), so the next load times the batch again
        attentionFromOneSequence?.reason ??
        engineStepSpread ??
        (interrupted !== undefined
            ? `${interrupted.rejectedOutliers} of ${interrupted.stepSeconds.samples + interrupted.rejectedOutliers} decode steps at ${interrupted.point.depth} layers and ${interrupted.at} cached tokens${
                  interrupted.at !== interrupted.point.contextTokens ? ` (timed beside those at ${interrupted.point.contextTokens})` : ""
              } took far longer than the rest (another program took the CPU)`
            : otherLoad > cores / 2
              ? `the machine was busy (load average ${(otherLoad + options.threads).toFixed(1)} on ${cores} cores, ${options.threads} of it the calibration's own threads)`
              : relativeResidual > MAX_RELATIVE_RESIDUAL
                ? `the timings fit the cost model only within ${percent(relativeResidual)} (root mean square, each of its own time)`
                : undefined);
    if (notCachedReason === undefined) writeFileAtomically(file, JSON.stringify(costModel, null, 2));
    return {
        costModel,
        cached: false,
        file,
        points,
        elapsedSeconds,
        ...(engineStep !== undefined ? {engineStep} : {}),
        ...(attentionFromOneSequence !== undefined ? {attentionFromOneSequence} : {}),
        ...(notCachedReason !== undefined ? {notCachedReason} : {})
    };
}

/**
 * The engine's own step as an EngineStepBurst: `batch` greedy requests through `generator`, end of
 * generation ignored, each after a prompt as short as the calibration's short points' context. Every
 * sequence is cleared after it: it runs while the model loads, when nothing else holds one.
 */
export function generatorBurst(generator: Generator, cache: SkipAwareCache, batch: number, vocabularySize: number): EngineStepBurst {
    return async (mask, steps) => {
        // when each of the first request's tokens came: every request decodes in each shared step, so the
        // time between two of its tokens is one step
        const tokenTimes: number[] = [];
        await Promise.all(
            Array.from({length: batch}, (_, sequence) =>
                generator.generate({
                    promptTokens: Array.from({length: SHORT_CONTEXT_TOKENS}, (_, position) => calibrationToken(position + 10 * sequence, vocabularySize)),
                    // the first token comes from the prompt, the second from a step that builds the decode
                    // graph again (once per answer): neither is timed
                    maxTokens: steps + 2,
                    temperature: 0,
                    stopAtEndOfGeneration: false,
                    skipMask: mask,
                    prefill: "full",
                    ...(sequence === 0 ? {onToken: () => void tokenTimes.push(performance.now())} : {})
                })
            )
        );
        for (let sequenceId = 0; sequenceId < cache.context.sequenceCount; sequenceId++) await cache.clear(sequenceId);
        // the plain mean: tokens/s pays every step, and the engine's own slow ones are part of what it costs
        // beyond a bare decode, which seldom has any (0-2 of 60-140 steps a calibration point). In one process
        // on 26x1280 (2 threads), dropping the far outliers took 0.075 ms off the engine's 2-layer step
        // (2.789 ms) and 0.14 ms off its 12-layer one: a third to a half of what it costs beyond a bare step.
        // A burst that another program slowed down still drops out, as a far outlier among the pairs
        // (measureEngineStep)
        if (tokenTimes.length < 3) throw new Error(`the engine's burst decoded ${tokenTimes.length} tokens, where ${steps + 2} were asked`);
        return (tokenTimes.at(-1)! - tokenTimes[1]) / 1000 / (tokenTimes.length - 2);
    };
}

function describeMilliseconds(interval: MeanInterval): string {
    return `${(interval.mean * 1e3).toFixed(3)} ±${(interval.halfWidth * 1e3).toFixed(3)} ms`;
}

/**
 * What the engine's generation step costs beyond a bare decode, at the fewest layers the dial reaches (where
 * it weighs most): bursts of bare decode steps and bursts through the engine's own path take turns, each
 * pair gives the difference of their mean step times, and pairs are added until the 95% interval of that
 * difference moves the speedup predicted there by no more than the target, or the time is up. Bare decodes
 * were all the calibration timed, so it promised the most where a step is shortest: at two threads on the
 * 28-layer n_embd 640 model the engine reached 0.92-0.96 of a raw loop at 7 layers and 0.95-1.00 at full
 * depth, and the dial over-promised by up to 11% there.
 */
async function measureEngineStep(
    options: SpeedCalibrationOptions,
    burst: EngineStepBurst,
    mask: Uint8Array,
    limits: {target: number; maxSeconds: number; fullStepSeconds: number; fewestStepSeconds: number}
): Promise<EngineStepMeasurement> {
    const steps = Math.min(ENGINE_BURST_STEPS.max, Math.max(ENGINE_BURST_STEPS.min, Math.ceil(ENGINE_BURST_SECONDS / limits.fewestStepSeconds)));
    const extras: number[] = [];
    let bareTotal = 0;
    const started = process.hrtime.bigint();
    for (;;) {
        const sequences = await ScratchSequences.open(options.cache, options.schedule, options.batch, options.vocabularySize);
        let bare: StepTiming;
        try {
            await sequences.fillTo(SHORT_CONTEXT_TOKENS);
            [bare] = await sequences.timeInTurns([mask], {minimumSteps: steps, targetRelativeHalfWidth: Infinity, maxSeconds: Infinity});
        } finally {
            await sequences.close();
        }
        const engine = await burst(mask, steps);
        extras.push(engine - bare.stepSeconds.mean);
        bareTotal += bare.stepSeconds.mean;
        // a pair far off the others (a slow stretch of the machine that fell on one burst of the two) says
        // nothing of the engine, as a far outlier among a point's steps says nothing of the model; it does not
        // count towards the MIN_ENGINE_BURSTS pairs judged
        const extraSeconds = meanInterval(withoutOutliers(extras).kept);
        const bareStepSeconds = bareTotal / extras.length;
        // how far the interval can move the speedup predicted at the fewest layers, full/fewest: by about
        // halfWidth · (1/fewest − 1/full) of it, held to the target like each point's own interval
        const extra = Math.max(0, extraSeconds.mean);
        const shift = extraSeconds.halfWidth * (1 / (bareStepSeconds + extra) - 1 / (limits.fullStepSeconds + extra));
        const tight = shift <= limits.target;
        const spent = Number(process.hrtime.bigint() - started) / 1e9;
        if (extraSeconds.samples >= MIN_ENGINE_BURSTS && (tight || spent >= limits.maxSeconds))
            return {extraSeconds, bareStepSeconds, predictionShift: shift, tight};
    }
}
