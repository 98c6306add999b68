// The numbers that say how far a skipped model strays from the full one, per predicted position:
// whether its top choice is the full model's (top-1 agreement), KL(full‖skipped) of the two next-token
// distributions, and how surprised it is by the text's real next token (bits).

/** Natural-log probabilities from raw logits, in double precision so tiny KLs do not drown in rounding. */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
    let max = -Infinity;
    // eslint-disable-next-line @typescript-eslint/prefer-for-of -- an ArrayLike is not iterable
    for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
    let sum = 0;
    // eslint-disable-next-line @typescript-eslint/prefer-for-of -- an ArrayLike is not iterable
    for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
    const logSum = max + Math.log(sum);
    const result = new Float64Array(logits.length);
    for (let i = 0; i < logits.length; i++) result[i] = logits[i] - logSum;
    return result;
}

/** Index of the largest value; the lowest index wins a tie, as llama.cpp's greedy sampler does. */
export function argmax(values: ArrayLike<number>): number {
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
    return best;
}

/** KL(p‖q) in nats from log-probabilities; terms with p = 0 contribute nothing. */
export function klDivergence(logP: ArrayLike<number>, logQ: ArrayLike<number>): number {
    if (logP.length !== logQ.length) throw new RangeError(`distributions differ in size: ${logP.length} vs ${logQ.length}`);
    let kl = 0;
    for (let i = 0; i < logP.length; i++) {
        const p = Math.exp(logP[i]);
        if (p > 0) kl += p * (logP[i] - logQ[i]);
    }
    // rounding can leave a hair below zero for identical distributions
    return Math.max(0, kl);
}

/** The full model's answer at one position, kept so skipped runs compare against it without recomputing. */
export type ReferencePosition = {
    /** log-probabilities of the full model (float32 halves the memory; KL needs no more precision) */
    logProbs: Float32Array;
    top: number;
    /** the text's real next token */
    target: number;
};

export function referencePosition(logits: ArrayLike<number>, target: number): ReferencePosition {
    const logProbs = Float32Array.from(logSoftmax(logits));
    return {logProbs, top: argmax(logProbs), target};
}

export type QualityScore = {
    /** positions scored */
    positions: number;
    /** share of positions where the skipped model's top token is the full model's, 0..1 */
    top1Agreement: number;
    /** mean KL(full‖skipped) per position, nats */
    meanKl: number;
    /** mean −log2 p(real next token) */
    bitsPerToken: number;
    /** total −log2 p(real next tokens) ÷ UTF-8 bytes of those tokens' text; comparable across tokenizers */
    bitsPerByte: number;
};

/** Sums positions one at a time; finish() divides. */
export class QualityAccumulator {
    private positions = 0;
    private agreements = 0;
    private klSum = 0;
    private bitsSum = 0;

    add(reference: ReferencePosition, logits: ArrayLike<number>): void {
        const logQ = logSoftmax(logits);
        this.positions++;
        if (argmax(logQ) === reference.top) this.agreements++;
        this.klSum += klDivergence(reference.logProbs, logQ);
        this.bitsSum += -logQ[reference.target] / Math.LN2;
    }

    /** The full model scored against itself: agreement 1, KL 0, and its own bits. */
    addReference(reference: ReferencePosition): void {
        this.positions++;
        this.agreements++;
        this.bitsSum += -reference.logProbs[reference.target] / Math.LN2;
    }

    finish(scoredBytes: number): QualityScore {
        const n = Math.max(1, this.positions);
        return {
            positions: this.positions,
            top1Agreement: this.agreements / n,
            meanKl: this.klSum / n,
            bitsPerToken: this.bitsSum / n,
            bitsPerByte: scoredBytes > 0 ? this.bitsSum / scoredBytes : Number.NaN
        };
    }
}
