// Picks the next token from raw logits: greedy at temperature 0, else temperature + top-p with a seeded
// generator, so that a given seed reproduces a given answer.
import type {SamplingCandidates} from "../native/skip-context.js";

export type SamplingOptions = {
    /** 0 picks the most likely token. Defaults to 0. */
    temperature?: number;
    /** nucleus sampling: keep the smallest set of tokens whose probability reaches topP. Defaults to 0.95. */
    topP?: number;
    /** Defaults to a random seed. */
    seed?: number;
};

export class InvalidSamplingOptionError extends Error {
    override name = "InvalidSamplingOptionError";
}

export function validateSamplingOptions(options: SamplingOptions): void {
    const {temperature = 0, topP = 0.95, seed} = options;
    if (!Number.isFinite(temperature) || temperature < 0) throw new InvalidSamplingOptionError(`temperature must be a number ≥ 0 (got ${temperature})`);
    if (!Number.isFinite(topP) || topP <= 0 || topP > 1) throw new InvalidSamplingOptionError(`topP must be in (0, 1] (got ${topP})`);
    if (seed != null && !Number.isInteger(seed)) throw new InvalidSamplingOptionError(`seed must be an integer (got ${seed})`);
}

/** mulberry32: tiny, fast and good enough to draw tokens */
export function seededRandom(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** the id of the largest logit, the lowest on a tie (as the addon's getGreedyToken) */
export function argmaxToken(logits: Float32Array): number {
    let best = 0;
    let bestLogit = logits[0];
    for (let i = 1; i < logits.length; i++)
        if (logits[i] > bestLogit) {
            best = i;
            bestLogit = logits[i];
        }
    return best;
}

export class TokenSampler {
    private readonly random: () => number;
    private readonly scratch = new CandidateScratch();
    /** what logits are divided by before softmax; 0 is greedy */
    readonly temperature: number;
    private readonly topP: number;

    constructor(options: SamplingOptions = {}) {
        validateSamplingOptions(options);
        this.temperature = options.temperature ?? 0;
        this.topP = options.topP ?? 0.95;
        this.random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 31));
    }

    /** true at temperature 0: the most likely token, no random draw */
    get greedy(): boolean {
        return this.temperature === 0;
    }

    /** a token from a whole row of logits, or from the row's SamplingCandidates at this sampler's temperature */
    sample(row: Float32Array | SamplingCandidates): number {
        if (this.temperature === 0 && row instanceof Float32Array) return argmaxToken(row);
        return this.draw(this.distribution(row));
    }

    /**
     * The distribution sample() draws from: temperature, then top-p. At temperature 0, all of the mass on
     * the most likely token. Speculative decoding compares the draft's and the full model's. From a row's
     * SamplingCandidates (read natively at this temperature) it is the same distribution as from the row.
     */
    distribution(row: Float32Array | SamplingCandidates): TokenDistribution {
        const logits = row instanceof Float32Array ? row : row.logits;
        const tokenAt = row instanceof Float32Array ? (index: number) => index : (index: number) => row.tokens[index];
        if (this.temperature === 0) return {tokens: [tokenAt(argmaxToken(logits))], weights: [1], total: 1};

        let max = -Infinity;
        for (const logit of logits) max = Math.max(max, logit);

        // only tokens within 25 nats of the best can matter for any top-p below 1 (the native candidates
        // are those already, in token order, so the sum below adds the same weights in the same order)
        const scan = this.scratch.ensure(logits.length);
        let count = 0;
        let total = 0;
        for (let index = 0; index < logits.length; index++) {
            const scaled = (logits[index] - max) / this.temperature;
            if (scaled < -25) continue;
            const weight = Math.exp(scaled);
            scan.tokens[count] = tokenAt(index);
            scan.weights[count] = weight;
            scan.bands[count] = Math.min(TOP_P_BANDS - 1, Math.floor((-scaled * TOP_P_BANDS) / 25));
            count++;
            total += weight;
        }
        return topPOf(scan, count, total, this.topP);
    }

    /** one token from `distribution`, with this sampler's seeded generator */
    draw(distribution: TokenDistribution): number {
        return drawToken(distribution, this.random);
    }

    /** this sampler's seeded generator, for the accept/reject draws of speculative sampling */
    get randomSource(): () => number {
        return this.random;
    }
}

/** bands of equal width in log-weight over the 25 nats a candidate may lie below the best one */
const TOP_P_BANDS = 1000;

/** the sampler's reusable arrays for one row's candidates: token, weight, and log-weight band */
class CandidateScratch {
    tokens = new Int32Array(0);
    weights = new Float64Array(0);
    bands = new Uint16Array(0);
    /** the summed weight of each band, cleared by each topPOf */
    readonly bandWeights = new Float64Array(TOP_P_BANDS);

    ensure(size: number): this {
        if (this.tokens.length < size) {
            this.tokens = new Int32Array(size);
            this.weights = new Float64Array(size);
            this.bands = new Uint16Array(size);
        }
        return this;
    }
}

/**
 * The smallest set of the heaviest candidates whose weight reaches topP of the total (ties at the edge: the
 * lowest ids first), in token order. A flat row of a 32000-token vocabulary keeps thousands of candidates,
 * and sorting them took 3-20 ms a token; so whole bands of log-weight are taken heaviest first, and only
 * the band where the total is reached is sorted.
 */
function topPOf(scan: CandidateScratch, count: number, total: number, topP: number): TokenDistribution {
    const {tokens, weights, bands, bandWeights} = scan;
    const goal = topP * total;
    bandWeights.fill(0);
    for (let i = 0; i < count; i++) bandWeights[bands[i]] += weights[i];
    let edgeBand = 0;
    let keptWeight = 0;
    while (edgeBand < TOP_P_BANDS && keptWeight + bandWeights[edgeBand] < goal) keptWeight += bandWeights[edgeBand++];

    // within the edge band, the heaviest first until the goal is reached; below it nothing is kept
    let edgeWeight = -Infinity;
    let edgeTies = 0;
    if (edgeBand < TOP_P_BANDS) {
        const inBand: number[] = [];
        for (let i = 0; i < count; i++) if (bands[i] === edgeBand) inBand.push(weights[i]);
        inBand.sort((a, b) => b - a);
        let taken = 0;
        while (taken < inBand.length && keptWeight < goal) keptWeight += inBand[taken++];
        edgeWeight = inBand[taken - 1];
        edgeTies = taken - inBand.filter((weight) => weight > edgeWeight).length;
    }
    const keptTokens: number[] = [];
    const keptWeights: number[] = [];
    let keptTotal = 0;
    for (let i = 0; i < count; i++) {
        if (bands[i] > edgeBand || (bands[i] === edgeBand && (weights[i] < edgeWeight || (weights[i] === edgeWeight && edgeTies-- <= 0)))) continue;
        keptTokens.push(tokens[i]);
        keptWeights.push(weights[i]);
        keptTotal += weights[i];
    }
    return {tokens: keptTokens, weights: keptWeights, total: keptTotal};
}

/** a discrete distribution over a few tokens: P(tokens[i]) = weights[i] / total */
export type TokenDistribution = {
    readonly tokens: readonly number[];
    readonly weights: readonly number[];
    readonly total: number;
};

export function drawToken(distribution: TokenDistribution, random: () => number): number {
    const {tokens, weights, total} = distribution;
    let draw = random() * total;
    for (let i = 0; i < tokens.length; i++) {
        draw -= weights[i];
        if (draw <= 0) return tokens[i];
    }
    return tokens[tokens.length - 1];
}
