// TokenSampler's top-p takes whole bands of log-weight, heaviest first, and sorts only the band where the
// total is reached. It must keep exactly the tokens the plain definition keeps: sort every candidate by
// weight (ties: lower id first) and take the shortest prefix whose weight reaches topP of the total.
import assert from "node:assert/strict";
import {test} from "node:test";
import {seededRandom, TokenSampler} from "../../engine/generation/sampler.js";

/** the plain definition, over a whole row */
function referenceKept(logits: Float32Array, temperature: number, topP: number): number[] {
    let max = -Infinity;
    for (const logit of logits) max = Math.max(max, logit);
    const candidates: {token: number; weight: number}[] = [];
    let total = 0;
    logits.forEach((logit, token) => {
        const scaled = (logit - max) / temperature;
        if (scaled < -25) return;
        candidates.push({token, weight: Math.exp(scaled)});
        total += Math.exp(scaled);
    });
    candidates.sort((a, b) => b.weight - a.weight || a.token - b.token);
    const kept: number[] = [];
    let keptWeight = 0;
    for (const candidate of candidates) {
        if (keptWeight >= topP * total) break;
        kept.push(candidate.token);
        keptWeight += candidate.weight;
    }
    return kept.sort((a, b) => a - b);
}

test("top-p keeps the tokens the plain definition keeps: flat, peaked and tied rows", () => {
    const random = seededRandom(3);
    const shapes = {
        // a random model's row: every token within a few logits of the best
        flat: () => random() * 3,
        // a trained model's: a few tokens far above a long tail
        peaked: () => (random() < 0.01 ? 8 + random() * 4 : random() * 6 - 10),
        // whole numbers only, so many weights tie, also at the edge of the kept set
        tied: () => Math.floor(random() * 6)
    };
    let compared = 0;
    for (const [shape, logitOf] of Object.entries(shapes))
        for (const vocabulary of [7, 512, 32000])
            for (const temperature of [0.2, 0.7, 1.5])
                for (const topP of [0.5, 0.9, 0.95, 1]) {
                    const logits = Float32Array.from({length: vocabulary}, logitOf);
                    const distribution = new TokenSampler({temperature, topP, seed: 1}).distribution(logits);
                    const expected = referenceKept(logits, temperature, topP);
                    assert.deepEqual([...distribution.tokens], expected, `${shape}, ${vocabulary} tokens, temperature ${temperature}, top-p ${topP}`);
                    const sum = distribution.weights.reduce((a, b) => a + b, 0);
                    assert.ok(Math.abs(distribution.total - sum) <= 1e-9 * sum, "total is the sum of the kept weights");
                    compared++;
                }
    assert.equal(compared, 108);
});

test("a sampler's draws follow its distribution, and a seed repeats them", () => {
    const logits = Float32Array.from([2, 1, 0, -1, -30]);
    const draws = (seed: number) => {
        const sampler = new TokenSampler({temperature: 1, topP: 1, seed});
        return Array.from({length: 4000}, () => sampler.sample(logits));
    };
    const first = draws(9);
    assert.deepEqual(draws(9), first);
    // e^2 : e^1 : e^0 : e^-1 over their sum; the token 55 nats below the best is never a candidate
    const weights = [2, 1, 0, -1].map(Math.exp);
    const total = weights.reduce((a, b) => a + b, 0);
    weights.forEach((weight, token) => {
        const share = first.filter((drawn) => drawn === token).length / first.length;
        // four standard deviations of a share over 4000 draws
        assert.ok(Math.abs(share - weight / total) < 4 * Math.sqrt(((weight / total) * (1 - weight / total)) / 4000), `token ${token}: ${share}`);
    });
    assert.ok(!first.includes(4));
});
