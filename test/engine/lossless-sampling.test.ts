// With sampling, Lossless must keep the full model's distribution: speculative sampling's accept/reject
// rule, on real logits. The second generated token comes from the first draft-and-verify step, so its
// distribution is the full model's p(t1) = Σ p(t0) · p(t1 | t0), computed here exactly by evaluating every
// first token; seeded samples from Lossless are checked against it with a chi-square test. The same samples
// are also checked against what accepting every draft would give, which the test must reject: it can tell.
import assert from "node:assert/strict";
import {test} from "node:test";
import {FixedDrafter} from "../../engine/generation/drafter.js";
import {Generator} from "../../engine/generation/generator.js";
import {TokenSampler} from "../../engine/generation/sampler.js";
import {SkipAwareCache} from "../../engine/skip-aware-cache.js";
import {maskOf, openContext, patchedLlama} from "../native/harness.js";

const modelPath = new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;
const sampling = {temperature: 1, topP: 0.9};
const samples = 2000;

/** upper 0.1% point of chi-square with `df` degrees of freedom (Wilson–Hilferty) */
function chiSquareCritical(df: number): number {
    const z = 3.09;
    return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

/** chi-square of observed counts against expected probabilities; tokens expected fewer than 5 times share one bin */
function chiSquare(counts: Map<number, number>, expected: Map<number, number>): {statistic: number; df: number} {
    let statistic = 0;
    let bins = 0;
    let restObserved = 0;
    let restExpected = 0;
    const tokens = new Set([...counts.keys(), ...expected.keys()]);
    for (const token of tokens) {
        const wanted = (expected.get(token) ?? 0) * samples;
        const seen = counts.get(token) ?? 0;
        if (wanted >= 5) {
            statistic += (seen - wanted) ** 2 / wanted;
            bins++;
        } else {
            restObserved += seen;
            restExpected += wanted;
        }
    }
    // a token the reference gives no probability at all is impossible under it
    if (restExpected === 0) return {statistic: restObserved > 0 ? Infinity : statistic, df: bins - 1};
    statistic += (restObserved - restExpected) ** 2 / restExpected;
    return {statistic, df: bins};
}

test("sampled Lossless output keeps the full model's distribution (chi-square against the exact one)", {timeout: 300_000}, async () => {
    const model = await (await patchedLlama()).loadModel({modelPath});
    const cache = new SkipAwareCache(await openContext(model, 2, 32));
    const reference = new SkipAwareCache(await openContext(model, 1, 32));
    try {
        const layerCount = cache.context.layerCount;
        const full = maskOf(layerCount, []);
        // three of five layers draft: they often disagree with the full model, so the rule rejects often
        const draftMask = maskOf(layerCount, [1, 3]);
        const prompt = model.tokenize("Once upon a time, there was a little dog. The dog liked to", false) as number[];

        // the exact marginals of the second token: under the full model, and under the draft's layers
        // (what the output would be if every draft were kept)
        const distributionOf = (logits: Float32Array) => new TokenSampler(sampling).distribution(logits);
        const [{logits: firstRows}] = await reference.evaluate(full, [{sequenceId: 0, tokens: prompt}]);
        const first = distributionOf(firstRows[0]);
        const fullMarginal = new Map<number, number>();
        const draftMarginal = new Map<number, number>();
        for (let i = 0; i < first.tokens.length; i++) {
            const weight = first.weights[i] / first.total;
            for (const [mask, marginal] of [
                [full, fullMarginal],
                [draftMask, draftMarginal]
            ] as const) {
                const [{logits}] = await reference.evaluate(mask, [{sequenceId: 0, tokens: [first.tokens[i]]}]);
                const next = distributionOf(logits[0]);
                next.tokens.forEach((token, j) => marginal.set(token, (marginal.get(token) ?? 0) + (weight * next.weights[j]) / next.total));
                await reference.truncate(0, prompt.length);
            }
        }

        const generator = new Generator({model, cache, currentMask: () => full, prefill: () => "full"});
        // with three tokens to write, the first step after the prompt drafts one token: the second is its verdict
        const drafter = new FixedDrafter({depth: layerCount - 2, mask: draftMask, length: 3, predictedSpeedup: 1});
        const counts = new Map<number, number>();
        let judged = 0;
        let accepted = 0;
        for (let seed = 0; seed < samples; seed++) {
            const output = await generator.generate({promptTokens: prompt, maxTokens: 3, stopAtEndOfGeneration: false, drafter, ...sampling, seed});
            const second = output.tokens[1];
            counts.set(second, (counts.get(second) ?? 0) + 1);
            judged += output.timings.speculation!.judgedDrafts;
            accepted += output.timings.speculation!.acceptedDrafts;
        }
        const acceptance = accepted / judged;
        assert.ok(acceptance > 0.1 && acceptance < 0.9, `the rule should both accept and reject often (acceptance ${acceptance.toFixed(2)})`);

        const againstFull = chiSquare(counts, fullMarginal);
        const againstDraft = chiSquare(counts, draftMarginal);
        console.log(
            `acceptance ${acceptance.toFixed(2)}; chi-square against the full model ${againstFull.statistic.toFixed(1)} (df ${againstFull.df}), ` +
                `against keeping every draft ${againstDraft.statistic.toFixed(1)} (df ${againstDraft.df})`
        );
        assert.ok(
            againstFull.statistic < chiSquareCritical(againstFull.df),
            `Lossless samples differ from the full model: chi-square ${againstFull.statistic.toFixed(1)} ≥ ${chiSquareCritical(againstFull.df).toFixed(1)}`
        );
        assert.ok(
            againstDraft.statistic > chiSquareCritical(againstDraft.df),
            "the test should tell the full model's distribution from the draft's, or it proves nothing"
        );
    } finally {
        await cache.context.dispose();
        await reference.context.dispose();
        await model.dispose();
    }
});
