// The per-position numbers behind every quality table: log-softmax, KL, agreement, bits.
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {QualityAccumulator, argmax, klDivergence, logSoftmax, referencePosition} from "../../engine/quality/index.js";

const close = (actual: number, expected: number, tolerance = 1e-6) =>
    assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);

describe("quality metrics", () => {
    it("log-softmax gives log-probabilities that sum to 1, even for huge logits", () => {
        const logProbs = logSoftmax([1000, 1001, 999]);
        close(
            [...logProbs].reduce((sum, value) => sum + Math.exp(value), 0),
            1,
            1e-12
        );
        assert.equal(argmax(logProbs), 1);
    });

    it("argmax takes the lowest index on a tie, like greedy sampling", () => {
        assert.equal(argmax([0.5, 2, 2, 1]), 1);
    });

    it("KL is 0 for identical distributions and matches the textbook value otherwise", () => {
        const p = logSoftmax([0.3, -1, 2]);
        assert.equal(klDivergence(p, p), 0);
        const half = [Math.log(0.5), Math.log(0.5)];
        const skewed = [Math.log(0.9), Math.log(0.1)];
        close(klDivergence(half, skewed), 0.5 * Math.log(0.5 / 0.9) + 0.5 * Math.log(0.5 / 0.1), 1e-12);
        // KL is not symmetric: the full model's distribution is the one averaged over
        assert.notEqual(klDivergence(half, skewed), klDivergence(skewed, half));
    });

    it("a zero-probability entry of the full model contributes nothing", () => {
        close(klDivergence([0, -Infinity], [Math.log(0.5), Math.log(0.5)]), Math.log(2), 1e-12);
    });

    it("accumulates agreement, KL and bits of the real token, per token and per byte", () => {
        // full model: token 0 with p = 0.5, 1 and 2 with 0.25; the real next token is 1
        const reference = referencePosition([Math.log(2), 0, 0], 1);
        assert.equal(reference.top, 0);
        const accumulator = new QualityAccumulator();
        accumulator.add(reference, [Math.log(2), 0, 0]); // same distribution: agrees, KL 0, 2 bits
        accumulator.add(reference, [0, Math.log(2), 0]); // prefers token 1: disagrees, 1 bit
        const score = accumulator.finish(4);
        assert.equal(score.positions, 2);
        assert.equal(score.top1Agreement, 0.5);
        close(score.bitsPerToken, 1.5);
        close(score.bitsPerByte, 3 / 4);
        close(score.meanKl, (0 + 0.5 * Math.log(2) + 0.25 * Math.log(0.5) + 0) / 2);
    });

    it("scores the full model against itself as agreement 1, KL 0 and its own bits", () => {
        const accumulator = new QualityAccumulator();
        accumulator.addReference(referencePosition([0, 0, 0, 0], 3));
        const score = accumulator.finish(1);
        assert.deepEqual(
            {...score, bitsPerToken: Number(score.bitsPerToken.toFixed(6))},
            {positions: 1, top1Agreement: 1, meanKl: 0, bitsPerToken: 2, bitsPerByte: score.bitsPerByte}
        );
        close(score.bitsPerByte, 2);
    });
});
