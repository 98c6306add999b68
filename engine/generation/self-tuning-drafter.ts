// The Lossless level's drafter: it picks the draft depth and length that the measured acceptance and
// step costs predict to be fastest (engine/plan/lossless.ts), and decodes plainly when no choice beats
// plain decoding. Everything it knows is measured on this model and machine while it runs, so it tunes
// itself per model and backend; priors only decide what it tries first.
import {bestDraftLength, fitVerifyCost, verifySecondsOf, type SpeculativeStepCosts, type VerifyCostLine} from "../plan/lossless.js";
import type {DraftChoice, Drafter, StepObservation} from "./drafter.js";

export type DraftCandidate = {
    /** layers that run while drafting */
    depth: number;
    mask: Uint8Array;
    /** the dial's predicted cost of a token at this depth ÷ a full token (its cost model) */
    costRatio: number;
};

export type SelfTuningDrafterOptions = {
    /** the depths it may draft at; none (a model that cannot skip) always decodes plainly */
    candidates: readonly DraftCandidate[];
    layerCount: number;
    /** the longest draft. Defaults to 8. */
    maxDraftLength?: number;
    /** drafting is used only when it predicts at least this speedup: a margin over 1, since its costs are
     *  measured at other moments than the plain cost they are compared with, and a machine shared with other
     *  work makes either look better than it is now and then. Defaults to 1.1. */
    minPredictedSpeedup?: number;
    /** plain steps between probes while drafting does not pay; doubles after each probe, up to 16x, and is
     *  never shorter than probeBudget allows. Defaults to 128. */
    probeInterval?: number;
    /** the most of the plain steps' time that probes may cost, by their measured price: what a speculative
     *  step took beyond the plain steps its tokens would have, and what the plain step after it took beyond
     *  a plain step (the native graphs are built again for the draft's mask, for the verify batch and for the
     *  plain step after). On stories260K, 1 thread, a probe took 6 to 40 plain steps for its 1 to 5 tokens,
     *  so probes every 128 steps cost Lossless some 5% against Quality. Defaults to 0.01. */
    probeBudget?: number;
    /** speculative steps between tries of the least-measured depth. Defaults to 32. */
    exploreInterval?: number;
    /** speculative steps between plain steps, which keep the plain cost measured at the same moments as the
     *  drafting costs it is compared with (a busy machine slows both, and an old plain cost misleads). Defaults to 8. */
    plainRefreshInterval?: number;
    /** drafts each depth must have had judged before predictions choose between depths; until then the
     *  drafter tries each in turn, with warmupDraftLength tokens (once per engine: it keeps what it learns).
     *  Defaults to DEFAULT_WARMUP_JUDGED. */
    warmupJudged?: number;
    /** Defaults to 3. */
    warmupDraftLength?: number;
    /** plain steps timed before the first draft: the plain cost is every prediction's yardstick, and the first
     *  decodes after a load can take three times as long as the rest (see RecentMedian); with one timing, drafts
     *  and verify batches looked a third as dear as they were. Defaults to 3. */
    minPlainTimings?: number;
    /** how fast old drafts' acceptance fades (weight of the newest). Defaults to 0.025. */
    smoothing?: number;
    /** timings kept per step kind; their median is the cost (a machine shared with other work gives
     *  outliers that would drag an average). Defaults to 15. */
    timingWindow?: number;
    /** the share of a one-position verify that each extra position is assumed to add until two sizes are
     *  measured. Defaults to 0.15. */
    priorVerifyShare?: number;
    /** speculative steps at a depth whose measured time per token must beat plain decoding before the drafter
     *  trusts its prediction there. Defaults to 4. */
    realizedSteps?: number;
    /** what an earlier drafter on this model and machine learned (engine/generation/drafter-store.ts): it starts
     *  from there instead of measuring every depth again, and keeps measuring; depths it does not list start afresh */
    initialState?: DrafterSnapshot;
};

/**
 * What the drafter has learned, as plain data to store and restore: per depth the decayed acceptance counts and
 * the recent timings, and the recent verify timings by batch size. Its choice follows from these alone.
 */
export type DrafterSnapshot = {
    depths: {
        depth: number;
        accepted: number;
        judged: number;
        totalJudged: number;
        /** recent seconds per draft decode, oldest first */
        draftSeconds: number[];
        /** recent speculative steps: their whole seconds and the tokens they yielded, oldest first */
        realizedSteps: RealizedStep[];
    }[];
    /** recent seconds of a verify batch, by positions (1 = a plain step), oldest first */
    verifyTimings: {positions: number; seconds: number[]}[];
    /** speculative steps taken so far, so the cadence of plain refreshes and exploration goes on where it was */
    speculativeSteps: number;
};

/** what the drafter believes now, for stats, `layer-dial info` and the panel */
export type DrafterState = {
    /** "draft": drafting pays; "plain": it does not (probes now and then); "learning": too few measurements */
    mode: "draft" | "plain" | "learning";
    depth: number | null;
    draftLength: number | null;
    /** the acceptance rate measured at that depth (null before any draft there) */
    acceptanceRate: number | null;
    predictedSpeedup: number;
    /** measured acceptance per depth tried */
    depths: {depth: number; acceptanceRate: number | null; judged: number; draftSecondsPerToken: number | null}[];
    /** the measured step costs the predictions use (null before a plain step was measured) */
    costs: {plainSeconds: number; verifyFixedSeconds: number; verifySecondsPerPosition: number} | null;
    /** it started from a stored state (an earlier load of this model on this machine) rather than from scratch */
    restored: boolean;
    /** steps it drafted at a depth it had too few measurements of, to measure it: the exploration a drafter
     *  started from scratch pays in its first answer, and one restored from a state that measured every depth does not */
    warmupSteps: number;
};

type DepthRecord = {
    candidate: DraftCandidate;
    /** decayed counts: recent text counts more than old text */
    accepted: number;
    judged: number;
    /** undecayed count of judged drafts, for "how much do we know" */
    totalJudged: number;
    draftSeconds: RecentMedian;
    /** what speculative steps at this depth really cost and yielded, by the clock (everything in the step) */
    realizedSteps: RecentSteps;
};

/**
 * While drafting does not pay, the choice (every depth's best draft length at the current costs) is reviewed
 * every this many plain steps, not on every one: a review took ~8 µs (hot), 1.5% of a stories260K step on one
 * thread. A probe falls due at a review, at most this many steps late.
 */
const REVIEW_EVERY = 16;

/** drafts a depth must have had judged before it leaves the warm-up (SelfTuningDrafterOptions.warmupJudged) */
export const DEFAULT_WARMUP_JUDGED = 4;

/** a measured acceptance below this rules out every depth that keeps fewer layers (SelfTuningDrafter.hopeless) */
const HOPELESS_ACCEPTANCE = 0.05;

export class SelfTuningDrafter implements Drafter {
    private readonly depths: DepthRecord[];
    private readonly maxDraftLength: number;
    private readonly minPredictedSpeedup: number;
    private readonly baseProbeInterval: number;
    private readonly probeBudget: number;
    /** the recent probes' prices, in plain steps (see probeBudget) */
    private readonly probePrices = new RecentValues(5);
    /** the last speculative step's price beyond its tokens' plain steps, until the plain step after it adds its own */
    private pendingProbePrice: number | undefined;
    private readonly exploreInterval: number;
    private readonly plainRefreshInterval: number;
    private readonly smoothing: number;
    private readonly priorVerifyShare: number;
    private readonly warmupJudged: number;
    private readonly warmupDraftLength: number;
    private readonly realizedSteps: number;
    private readonly minPlainTimings: number;
    /** recent seconds of a verify batch, by positions (1 = a plain step) */
    private readonly verifyTimings = new Map<number, RecentMedian>();
    /** null: nothing to fit yet; undefined: a timing came in since the last fit */
    private verifyCostCache: VerifyCosts | null | undefined;
    private readonly timingWindow: number;
    private plainStreak = 0;
    /** plain steps left before the choice is reviewed again (see REVIEW_EVERY) */
    private quietSteps = 0;
    /** consecutive steps whose best choice was predicted to pay */
    private payingStreak = 0;
    private probeInterval: number;
    private speculativeSteps = 0;
    private warmupSteps = 0;
    private readonly restored: boolean;

    constructor(private readonly options: SelfTuningDrafterOptions) {
        this.timingWindow = options.timingWindow ?? 15;
        const initial = options.initialState;
        this.depths = options.candidates.map((candidate) => {
            const stored = initial?.depths.find((entry) => entry.depth === candidate.depth);
            return {
                candidate,
                accepted: stored?.accepted ?? 0,
                judged: stored?.judged ?? 0,
                totalJudged: stored?.totalJudged ?? 0,
                draftSeconds: new RecentMedian(this.timingWindow, stored?.draftSeconds),
                realizedSteps: new RecentSteps(this.timingWindow, stored?.realizedSteps)
            };
        });
        for (const {positions, seconds} of initial?.verifyTimings ?? []) this.verifyTimings.set(positions, new RecentMedian(this.timingWindow, seconds));
        this.speculativeSteps = initial?.speculativeSteps ?? 0;
        this.restored = initial !== undefined;
        this.maxDraftLength = options.maxDraftLength ?? 8;
        this.minPredictedSpeedup = options.minPredictedSpeedup ?? 1.1;
        this.baseProbeInterval = options.probeInterval ?? 128;
        this.probeInterval = this.baseProbeInterval;
        this.probeBudget = options.probeBudget ?? 0.01;
        this.exploreInterval = options.exploreInterval ?? 32;
        this.plainRefreshInterval = options.plainRefreshInterval ?? 8;
        this.smoothing = options.smoothing ?? 0.025;
        this.priorVerifyShare = options.priorVerifyShare ?? 0.15;
        this.warmupJudged = options.warmupJudged ?? DEFAULT_WARMUP_JUDGED;
        this.warmupDraftLength = options.warmupDraftLength ?? 3;
        this.realizedSteps = options.realizedSteps ?? 4;
        this.minPlainTimings = options.minPlainTimings ?? 3;
    }

    nextDraft(): DraftChoice | null {
        if (this.depths.length === 0) return null;
        if (this.quietSteps > 0) {
            this.quietSteps--;
            this.plainStreak++;
            return null;
        }
        // the plain cost is the yardstick of every prediction: measure it first (the median of a few plain
        // steps), and keep it current
        if (this.verifyCosts() === undefined || (this.verifyTimings.get(1)?.count ?? 0) < this.minPlainTimings) return null;
        // priors cannot tell whether a depth's drafts agree with the full model: measure each one first, the
        // one keeping most layers first, none that keeps fewer layers than a depth already seen to fail, and
        // none where drafts that always agree would not pay either
        const unmeasured = this.depths
            .filter((record) => record.totalJudged < this.warmupJudged && !this.hopeless(record) && !this.cannotPay(record))
            .reduce<DepthRecord | undefined>(
                (deepest, record) => (deepest === undefined || record.candidate.depth > deepest.candidate.depth ? record : deepest),
                undefined
            );
        if (unmeasured !== undefined) {
            this.warmupSteps++;
            return {...this.choiceFor(unmeasured), length: this.warmupDraftLength};
        }
        const best = this.bestChoice();
        if (best.predictedSpeedup < this.minPredictedSpeedup || this.realizedLoses(best.depth)) {
            this.payingStreak = 0;
            if (++this.plainStreak < Math.max(this.probeInterval, this.budgetedProbeInterval())) {
                this.quietSteps = REVIEW_EVERY - 1;
                return null;
            }
            // a probe keeps the acceptance and costs current: the text, or the machine's load, may change
            this.plainStreak = 0;
            this.probeInterval = Math.min(this.probeInterval * 2, this.baseProbeInterval * 16);
            return best;
        }
        this.plainStreak = 0;
        // one probe that looks good may be noise: probes become frequent again only once drafting has paid for a while
        if (++this.payingStreak >= 16) this.probeInterval = this.baseProbeInterval;
        this.speculativeSteps++;
        if (this.speculativeSteps % this.plainRefreshInterval === 0) return null;
        if (this.speculativeSteps % this.exploreInterval === 1) return this.leastMeasuredChoice(best);
        return best;
    }

    observe(step: StepObservation): void {
        if (step.kind === "plain") {
            const plainSeconds = this.pendingProbePrice !== undefined && step.comparable ? this.verifyCosts()?.plainSeconds : undefined;
            if (plainSeconds !== undefined) this.probePrices.add(this.pendingProbePrice! + Math.max(0, step.seconds / plainSeconds - 1));
            this.pendingProbePrice = undefined;
            if (step.comparable) this.recordVerify(1, step.seconds);
            return;
        }
        const plainSeconds = this.verifyCosts()?.plainSeconds;
        this.pendingProbePrice = step.comparable && plainSeconds !== undefined ? Math.max(0, step.stepSeconds / plainSeconds - (step.accepted + 1)) : undefined;
        const record = this.depths.find((entry) => entry.candidate.depth === step.depth);
        if (record !== undefined) {
            const keep = 1 - this.smoothing;
            record.accepted = record.accepted * keep + step.accepted;
            record.judged = record.judged * keep + step.judged;
            record.totalJudged += step.judged;
            if (step.comparable && step.draftSteps > 0) record.draftSeconds.add(step.draftSeconds / step.draftSteps);
            if (step.comparable && plainSeconds !== undefined) record.realizedSteps.add({seconds: step.stepSeconds, tokens: step.accepted + 1, plainSeconds});
        }
        if (step.comparable && step.verifyPositions > 0) this.recordVerify(step.verifyPositions, step.verifySeconds);
    }

    state(): DrafterState {
        const depths = this.depths.map((record) => ({
            depth: record.candidate.depth,
            acceptanceRate: record.judged > 0 ? record.accepted / record.judged : null,
            judged: record.totalJudged,
            draftSecondsPerToken: record.draftSeconds.median ?? null
        }));
        const fitted = this.verifyCosts();
        const costs =
            fitted === undefined
                ? null
                : {plainSeconds: fitted.plainSeconds, verifyFixedSeconds: fitted.line.fixedSeconds, verifySecondsPerPosition: fitted.line.secondsPerPosition};
        const history = {restored: this.restored, warmupSteps: this.warmupSteps};
        if (this.depths.length === 0 || fitted === undefined)
            return {mode: "learning", depth: null, draftLength: null, acceptanceRate: null, predictedSpeedup: 1, depths, costs, ...history};
        const best = this.bestChoice();
        const record = this.depths.find((entry) => entry.candidate.depth === best.depth)!;
        const pays = best.predictedSpeedup >= this.minPredictedSpeedup && !this.realizedLoses(best.depth);
        // decoding plainly, it shows the measured depth that comes nearest to paying: the best by prediction
        // may be a depth never measured (ruled out as unable to pay), which has no acceptance to show
        const shown = pays ? best : (this.bestChoice((entry) => entry.judged > 0) ?? best);
        const shownRecord = this.depths.find((entry) => entry.candidate.depth === shown.depth)!;
        return {
            // "learning" while the depth it would pick is unmeasured, unless no acceptance there could pay
            mode: record.totalJudged === 0 && !this.cannotPay(record) ? "learning" : pays ? "draft" : "plain",
            depth: shown.depth,
            draftLength: shown.length,
            acceptanceRate: shownRecord.judged > 0 ? shownRecord.accepted / shownRecord.judged : null,
            predictedSpeedup: pays ? best.predictedSpeedup : 1,
            depths,
            costs,
            ...history
        };
    }

    /** what it has learned, to store (initialState restores it) */
    snapshot(): DrafterSnapshot {
        return {
            depths: this.depths.map((record) => ({
                depth: record.candidate.depth,
                accepted: record.accepted,
                judged: record.judged,
                totalJudged: record.totalJudged,
                draftSeconds: record.draftSeconds.recent,
                realizedSteps: record.realizedSteps.recent
            })),
            verifyTimings: [...this.verifyTimings].map(([positions, timings]) => ({positions, seconds: timings.recent})),
            speculativeSteps: this.speculativeSteps
        };
    }

    /**
     * The prediction's check against the clock: speculative steps at `depth` cost more per token they yielded
     * than a plain step. Predictions add up costs measured at different moments, and on a machine shared with
     * other work they can promise a speedup that its steps never deliver; this keeps Lossless from staying slower
     * than Quality on such a promise. A depth with too few steps of its own is judged by the recent steps at
     * every depth, so that once drafting is seen to lose, the next depth the prediction favours is not drafted
     * at for several steps just to find that out again. (On pycode-16L, 1 thread, answers drafted in up to
     * 39 of 128 steps and ran at 0.82-0.87x of Quality; with this rule, 15 pairs drafted in 0-4 steps each.)
     */
    private realizedLoses(depth: number): boolean {
        const own = this.depths.find((entry) => entry.candidate.depth === depth)?.realizedSteps;
        if (own !== undefined && own.count >= this.realizedSteps) return own.plainStepsPerToken! > 1;
        const pooled = this.depths.flatMap((entry) => entry.realizedSteps.recent);
        return pooled.length >= this.realizedSteps && plainStepsPerToken(pooled)! > 1;
    }

    /** plain steps between probes for them to cost at most probeBudget of the time, at their recent price */
    private budgetedProbeInterval(): number {
        const price = this.probePrices.median;
        return price === undefined ? 0 : Math.ceil(price / this.probeBudget);
    }

    private bestChoice(): DraftChoice;
    private bestChoice(among: (record: DepthRecord) => boolean): DraftChoice | undefined;
    private bestChoice(among: (record: DepthRecord) => boolean = () => true): DraftChoice | undefined {
        let best: DraftChoice | undefined;
        for (const record of this.depths) {
            if (!among(record)) continue;
            const choice = this.choiceFor(record);
            if (best === undefined || choice.predictedSpeedup > best.predictedSpeedup) best = choice;
        }
        return best;
    }

    /** the depth measured least, so a depth that looked poor early (or was never tried) gets another look */
    private leastMeasuredChoice(best: DraftChoice): DraftChoice {
        let least = this.depths[0];
        for (const record of this.depths) if (record.totalJudged < least.totalJudged) least = record;
        return least.candidate.depth === best.depth ? best : this.choiceFor(least);
    }

    /**
     * A depth keeping fewer layers than one whose measured drafts (warm-up done) almost never agree: skipping
     * more layers agrees less often, so measuring it spends warm-up verifies for nothing. On a model whose
     * shortened forms never agree (the random 24-layer benchmark model), measuring every depth cost a short
     * answer 3 verifies in 23 steps, 0.6x of Quality.
     */
    private hopeless(record: DepthRecord): boolean {
        return this.depths.some(
            (other) =>
                other.candidate.depth > record.candidate.depth &&
                other.totalJudged >= this.warmupJudged &&
                other.judged > 0 &&
                other.accepted / other.judged < HOPELESS_ACCEPTANCE
        );
    }

    /**
     * A depth where drafts that always agree would still not reach minPredictedSpeedup at the measured step
     * costs: its acceptance cannot change the choice, so the warm-up does not measure it. Judged once a verify
     * of several positions has been timed (the first warm-up step does that); the prior share per position is
     * a guess, and a hopeful one. On a 2-core CPU a 4-position verify costs 3 to 4 plain steps, so after that
     * one step no depth is worth measuring (the 24-layer benchmark model's first answer from scratch, which
     * measured anyway, ran at 0.45x of Quality).
     */
    private cannotPay(record: DepthRecord): boolean {
        if (this.verifyCosts()?.batchTimed !== true) return false;
        return bestDraftLength(1, this.costsFor(record), this.maxDraftLength).predictedSpeedup < this.minPredictedSpeedup;
    }

    private choiceFor(record: DepthRecord): DraftChoice {
        const costs = this.costsFor(record);
        // the prior, depth ÷ layers, stands in for two drafts' worth of evidence: it ranks untried depths
        // (more layers agree more often) and fades once real drafts are judged; a hopeless depth's is 0
        const prior = this.hopeless(record) ? 0 : record.candidate.depth / this.options.layerCount;
        const acceptance = (record.accepted + 2 * prior) / (record.judged + 2);
        const {length, predictedSpeedup} = bestDraftLength(acceptance, costs, this.maxDraftLength);
        return {depth: record.candidate.depth, mask: record.candidate.mask, length, predictedSpeedup};
    }

    private costsFor(record: DepthRecord): SpeculativeStepCosts {
        const {plainSeconds, line} = this.verifyCosts()!;
        return {
            plainSeconds,
            draftSeconds: record.draftSeconds.median ?? record.candidate.costRatio * plainSeconds,
            verifySeconds: (positions) => (positions === 1 ? plainSeconds : verifySecondsOf(line, positions))
        };
    }

    private recordVerify(positions: number, seconds: number) {
        this.verifyCostCache = undefined;
        let timings = this.verifyTimings.get(positions);
        if (timings === undefined) this.verifyTimings.set(positions, (timings = new RecentMedian(this.timingWindow)));
        timings.add(seconds);
    }

    /** median seconds of a verify batch, by positions (1 = a plain step) */
    private get verifySeconds(): Map<number, number> {
        return new Map([...this.verifyTimings].map(([positions, timings]) => [positions, timings.median!]));
    }

    /** the plain cost and the verify line, fitted again only after a new timing (every step asks, per depth) */
    private verifyCosts(): VerifyCosts | undefined {
        if (this.verifyCostCache === undefined) {
            const seconds = this.verifySeconds;
            const plainSeconds = seconds.get(1);
            const line = fitVerifyCost(
                [...seconds].map(([positions, value]) => ({positions, seconds: value})),
                this.priorVerifyShare
            );
            const batchTimed = [...seconds.keys()].some((positions) => positions > 1);
            this.verifyCostCache = plainSeconds === undefined || line === undefined ? null : {plainSeconds, line, batchTimed};
        }
        return this.verifyCostCache ?? undefined;
    }
}

/** what the predictions cost steps with: the plain step, the verify line, and whether a verify of several
 *  positions was timed (until then the line's slope is the prior's guess) */
type VerifyCosts = {plainSeconds: number; line: VerifyCostLine; batchTimed: boolean};

/** one speculative step by the clock: all its seconds, the tokens it yielded (the accepted drafts and one more),
 *  and what a plain step cost then (the recent plain steps' median) */
export type RealizedStep = {readonly seconds: number; readonly tokens: number; readonly plainSeconds: number};

/** the last few values, oldest first */
class RecentWindow<T> {
    protected readonly values: T[];

    constructor(
        private readonly window: number,
        initial: readonly T[] = []
    ) {
        this.values = initial.slice(-window);
    }

    /** the values kept, oldest first */
    get recent(): T[] {
        return [...this.values];
    }

    add(value: T) {
        this.values.push(value);
        if (this.values.length > this.window) this.values.shift();
    }

    get count(): number {
        return this.values.length;
    }
}

function medianOf(values: readonly number[]): number | undefined {
    if (values.length === 0) return undefined;
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** the last few values, with their median */
class RecentValues extends RecentWindow<number> {
    get median(): number | undefined {
        return medianOf(this.values);
    }
}

/** the last few speculative steps at one depth */
class RecentSteps extends RecentWindow<RealizedStep> {
    /** what a token cost at this depth, in plain steps of its moment (above 1: drafting lost); see plainStepsPerToken */
    get plainStepsPerToken(): number | undefined {
        return plainStepsPerToken(this.values);
    }
}

/**
 * What steps cost per token they yielded, in plain steps: all their seconds over what their tokens would
 * have cost as plain steps at the time (the plain median then), so that a machine that slowed down or sped
 * up since does not make old steps look cheap or dear. All steps over all tokens, not a median of each
 * step's ratio: a step yields 1 to k + 1 tokens, and the median of such a mix is a step whose drafts were all
 * accepted, blind to what rejections cost (pycode-16L drafted in 28% of its steps at 0.84x of Quality on
 * that). A step over three times the median step (another process had the CPU) is left out, as the plain
 * steps' median leaves such steps out.
 */
function plainStepsPerToken(steps: readonly RealizedStep[]): number | undefined {
    if (steps.length === 0) return undefined;
    const relative = steps.map((step) => step.seconds / step.plainSeconds);
    const limit = 3 * [...relative].sort((a, b) => a - b)[relative.length >> 1];
    let seconds = 0;
    let plainSeconds = 0;
    steps.forEach((step, index) => {
        if (relative[index] > limit) return;
        seconds += step.seconds;
        plainSeconds += step.tokens * step.plainSeconds;
    });
    return seconds / plainSeconds;
}

/**
 * The median of the last few timings, leaving out those over twice the fastest: the first decodes after a load
 * (on the 24-layer benchmark model, one thread, the first two plain steps took 0.23 and 0.24 s, the third
 * 0.065 s) or a step during which another process had the CPU. Such a timing in a short window would make the
 * yardstick, the plain step, look three times as dear, and every draft look cheap beside it.
 */
class RecentMedian extends RecentWindow<number> {
    get median(): number | undefined {
        const limit = 2 * Math.min(...this.values);
        return medianOf(this.values.filter((value) => value <= limit));
    }
}
