// Speculative sampling's accept/reject rule keeps the full model's distribution: drafts drawn from q and
// judged against p come out distributed as p. Checked by a chi-square test on explicit distributions,
// with two plausible wrong rules as controls that the same test rejects.
import assert from "node:assert/strict";
import {test} from "node:test";
import {drawToken, seededRandom, TokenSampler, type TokenDistribution} from "../../engine/generation/sampler.js";
import {judgeDraftToken, probabilityOf, residualDistribution} from "../../engine/generation/speculative-sampling.js";

const full: TokenDistribution = {tokens: [10, 11, 12, 13, 14, 15], weights: [0.3, 0.25, 0.2, 0.12, 0.08, 0.05], total: 1};
// the draft favours other tokens, misses token 15 entirely and proposes token 99, which p never gives
const draft: TokenDistribution = {tokens: [12, 10, 11, 13, 14, 99], weights: [5, 2, 1, 1, 0.5, 0.5], total: 10};
const draws = 60_000;
// chi-square, 5 degrees of freedom: P(X > 20.52) = 0.001
const criticalValue = 20.52;

function chiSquareAgainst(expected: TokenDistribution, counts: Map<number, number>): number {
    let statistic = 0;
    for (const token of expected.tokens) {
        const wanted = probabilityOf(expected, token) * draws;
        statistic += ((counts.get(token) ?? 0) - wanted) ** 2 / wanted;
    }
    // a token outside p's support is an infinitely unlikely outcome
    for (const token of counts.keys()) if (!expected.tokens.includes(token)) return Infinity;
    return statistic;
}

type Rule = (random: () => number) => number;

function countsOf(rule: Rule, seed: number): Map<number, number> {
    const random = seededRandom(seed);
    const counts = new Map<number, number>();
    for (let i = 0; i < draws; i++) {
        const token = rule(random);
        counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    return counts;
}

const speculative: Rule = (random) => {
    const proposed = drawToken(draft, random);
    const verdict = judgeDraftToken(full, draft, proposed, random);
    return verdict.accepted ? proposed : verdict.replacement;
};

test("drafts judged by the rule are distributed as the full model's p, for several seeds", () => {
    for (const seed of [1, 2, 3]) {
        const statistic = chiSquareAgainst(full, countsOf(speculative, seed));
        assert.ok(statistic < criticalValue, `seed ${seed}: chi-square ${statistic.toFixed(2)} ≥ ${criticalValue}`);
    }
});

test("the chi-square test rejects wrong rules: always accepting, or resampling from p on a rejection", () => {
    const alwaysAccept: Rule = (random) => drawToken(draft, random);
    const resampleFromFull: Rule = (random) => {
        const proposed = drawToken(draft, random);
        return judgeDraftToken(full, draft, proposed, random).accepted ? proposed : drawToken(full, random);
    };
    assert.equal(chiSquareAgainst(full, countsOf(alwaysAccept, 1)), Infinity, "token 99 comes only from the draft");
    const statistic = chiSquareAgainst(full, countsOf(resampleFromFull, 1));
    assert.ok(statistic > criticalValue, `resampling from p should be caught, chi-square ${statistic.toFixed(2)}`);
});

test("the residual is norm(max(0, p − q)) over p's tokens", () => {
    const residual = residualDistribution(full, draft);
    const expected = new Map([
        [10, 0.3 - 0.2],
        [11, 0.25 - 0.1],
        [13, 0.12 - 0.1],
        [14, 0.08 - 0.05],
        [15, 0.05]
    ]);
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    assert.deepEqual([...residual.tokens].sort(), [...expected.keys()].sort());
    for (const [token, weight] of expected) assert.ok(Math.abs(probabilityOf(residual, token) - weight / total) < 1e-12, `token ${token}`);
});

test("greedy drafts (one-hot p and q) are accepted exactly when they are p's token, and draw no random number", () => {
    let randomCalls = 0;
    const counting = () => {
        randomCalls++;
        return 0.5;
    };
    const oneHot = (token: number): TokenDistribution => ({tokens: [token], weights: [1], total: 1});
    assert.deepEqual(judgeDraftToken(oneHot(7), oneHot(7), 7, counting), {accepted: true});
    const rejected = judgeDraftToken(oneHot(7), oneHot(3), 3, counting);
    assert.deepEqual(rejected, {accepted: false, replacement: 7});
    assert.equal(randomCalls, 1, "only the replacement's draw, from a one-token residual");
});

test("TokenSampler.sample draws from TokenSampler.distribution", () => {
    const logits = Float32Array.from([2, 1, 0.5, 0, -1, -3]);
    const sampler = new TokenSampler({temperature: 0.8, topP: 0.9, seed: 5});
    const distribution = sampler.distribution(logits);
    const reference = new TokenSampler({temperature: 0.8, topP: 0.9, seed: 5});
    const counts = new Map<number, number>();
    for (let i = 0; i < 2000; i++) {
        const token = sampler.sample(logits);
        assert.equal(reference.draw(reference.distribution(logits)), token);
        counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), [...distribution.tokens].sort(), "top-p keeps the same tokens");
});
