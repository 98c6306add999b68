// Picks the next token from raw logits: greedy at temperature 0, else temperature + top-p with a seeded
// generator, so that a given seed reproduces a given answer.

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
    private readonly temperature: number;
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

    sample(logits: Float32Array): number {
        if (this.temperature === 0) return argmaxToken(logits);
        return this.draw(this.distribution(logits));
    }

    /**
     * The distribution sample() draws from: temperature, then top-p. At temperature 0, all of the mass on
     * the most likely token. Speculative decoding compares the draft's and the full model's.
     */
    distribution(logits: Float32Array): TokenDistribution {
        if (this.temperature === 0) return {tokens: [argmaxToken(logits)], weights: [1], total: 1};

        let max = -Infinity;
        for (const logit of logits) max = Math.max(max, logit);

        // only tokens within ~25 nats of the best can matter for any top-p below 1
        const candidates: {token: number; weight: number}[] = [];
        let total = 0;
        for (let token = 0; token < logits.length; token++) {
            const scaled = (logits[token] - max) / this.temperature;
            if (scaled < -25) continue;
            const weight = Math.exp(scaled);
            candidates.push({token, weight});
            total += weight;
        }
        candidates.sort((a, b) => b.weight - a.weight);

        let kept = 0;
        let keptWeight = 0;
        while (kept < candidates.length && keptWeight < this.topP * total) {
            keptWeight += candidates[kept].weight;
            kept++;
        }
        const top = candidates.slice(0, kept);
        return {tokens: top.map((candidate) => candidate.token), weights: top.map((candidate) => candidate.weight), total: keptWeight};
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
