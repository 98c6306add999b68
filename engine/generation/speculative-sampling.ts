// Speculative sampling's accept/reject rule (Leviathan et al. 2023, Chen et al. 2023): a token drawn from
// the draft's distribution q is kept with probability min(1, p/q) under the full model's p; on a rejection
// the replacement is drawn from norm(max(0, p − q)). Together the two make every emitted token a draw
// from p, whatever q is: the draft only changes how many tokens one verify yields, never which ones.
import {drawToken, type TokenDistribution} from "./sampler.js";

export type DraftVerdict = {accepted: true} | {accepted: false; replacement: number};

export function probabilityOf(distribution: TokenDistribution, token: number): number {
    const index = distribution.tokens.indexOf(token);
    return index < 0 || distribution.total <= 0 ? 0 : distribution.weights[index] / distribution.total;
}

/**
 * Keeps or replaces `draft`, a draw from `draft distribution` q, so that the result is a draw from `full` (p).
 * A sure acceptance (p ≥ q) or a sure rejection (p = 0) consumes no random number, so greedy decoding,
 * where both are one-hot, stays deterministic and draws nothing.
 */
export function judgeDraftToken(full: TokenDistribution, draftDistribution: TokenDistribution, draft: number, random: () => number): DraftVerdict {
    const p = probabilityOf(full, draft);
    const q = probabilityOf(draftDistribution, draft);
    if (p >= q && p > 0) return {accepted: true};
    if (p > 0 && random() < p / q) return {accepted: true};
    return {accepted: false, replacement: drawToken(residualDistribution(full, draftDistribution), random)};
}

/** norm(max(0, p − q)) over p's tokens (tokens outside p's support have p = 0, so no residual) */
export function residualDistribution(full: TokenDistribution, draftDistribution: TokenDistribution): TokenDistribution {
    // q by token, once: a flat row keeps thousands of tokens, and a lookup per token of p was quadratic
    const draftProbability = new Map<number, number>();
    if (draftDistribution.total > 0)
        draftDistribution.tokens.forEach((token, i) => draftProbability.set(token, draftDistribution.weights[i] / draftDistribution.total));
    const tokens: number[] = [];
    const weights: number[] = [];
    let total = 0;
    for (let i = 0; i < full.tokens.length; i++) {
        const residual = full.weights[i] / full.total - (draftProbability.get(full.tokens[i]) ?? 0);
        if (residual <= 0) continue;
        tokens.push(full.tokens[i]);
        weights.push(residual);
        total += residual;
    }
    // a rejection means p < q somewhere, so p > q somewhere else; only rounding could leave nothing, and
    // then p and q are equal for all practical purposes and p itself is the right distribution
    return total > 0 ? {tokens, weights, total} : full;
}
