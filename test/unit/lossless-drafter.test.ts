// The Lossless level's cost model and its self-tuning drafter, fed with made-up measurements: it drafts
// where the measured acceptance and costs say drafting pays, and decodes plainly where they say it does not.
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import type {StepObservation} from "../../engine/generation/drafter.js";
import {SelfTuningDrafter, type SelfTuningDrafterOptions} from "../../engine/generation/self-tuning-drafter.js";
import {seededRandom} from "../../engine/generation/sampler.js";
import {bestDraftLength, expectedTokensPerStep, fitVerifyCost, predictedLosslessSpeedup, verifySecondsOf} from "../../engine/plan/index.js";

describe("the Lossless cost model", () => {
    test("E(α, k) counts the accepted drafts and the full model's own token", () => {
        assert.equal(expectedTokensPerStep(0, 4), 1);
        assert.equal(expectedTokensPerStep(1, 4), 5);
        assert.ok(Math.abs(expectedTokensPerStep(0.5, 2) - 1.75) < 1e-12);
    });

    test("the speedup is E · plain ÷ (k · draft + verify(k + 1))", () => {
        const costs = {plainSeconds: 10, draftSeconds: 4, verifySeconds: (n: number) => 10 + 2 * (n - 1)};
        // α = 0.8, k = 3: E = (1 − 0.8⁴) / 0.2 = 2.952; step = 12 + 16 = 28
        assert.ok(Math.abs(predictedLosslessSpeedup(0.8, 3, costs) - (2.952 * 10) / 28) < 1e-9);
        // a verify that costs a full token per position never pays, however good the drafts
        const computeBound = {plainSeconds: 10, draftSeconds: 4, verifySeconds: (n: number) => 10 * n};
        assert.ok(bestDraftLength(0.95, computeBound, 8).predictedSpeedup < 1);
    });

    test("the verify cost line is fitted through the measured batch sizes, with a prior slope for one size", () => {
        const line = fitVerifyCost(
            [1, 3, 5].map((positions) => ({positions, seconds: 7 + 2 * positions})),
            0.15
        );
        assert.ok(line !== undefined && Math.abs(line.secondsPerPosition - 2) < 1e-9 && Math.abs(line.fixedSeconds - 7) < 1e-9);
        const single = fitVerifyCost([{positions: 1, seconds: 10}], 0.15)!;
        assert.ok(Math.abs(verifySecondsOf(single, 1) - 10) < 1e-9);
        assert.ok(Math.abs(verifySecondsOf(single, 2) - 11.5) < 1e-9, "one more position adds the prior share");
    });
});

type Machine = {
    /** the machine's speed at a step: every cost is multiplied by it. Defaults to 1. */
    slowdown?: (step: number) => number;
    plain: number;
    draft: (depth: number) => number;
    verify: (positions: number) => number;
    acceptance: (depth: number) => number;
    /** time a speculative step spends outside its drafts and verify (removing positions, switching masks). Defaults to 0. */
    stepOverhead?: number;
    /** what the first plain step after a speculative one takes beyond a plain step (its graph is built again). Defaults to 0. */
    switchBack?: number;
};

/** runs the drafter against a simulated model and machine; returns the share of steps that drafted and the speedup */
function simulate(drafter: SelfTuningDrafter, machine: Machine, tokens: number) {
    const random = seededRandom(3);
    let produced = 0;
    let seconds = 0;
    let speculativeSteps = 0;
    let steps = 0;
    let afterSpeculative = false;
    while (produced < tokens) {
        steps++;
        const slow = machine.slowdown?.(steps) ?? 1;
        const choice = drafter.nextDraft();
        let observation: StepObservation;
        if (choice === null) {
            produced++;
            const stepSeconds = (machine.plain + (afterSpeculative ? (machine.switchBack ?? 0) : 0)) * slow;
            seconds += stepSeconds;
            observation = {kind: "plain", seconds: stepSeconds, comparable: true};
        } else {
            speculativeSteps++;
            let accepted = 0;
            while (accepted < choice.length && random() < machine.acceptance(choice.depth)) accepted++;
            const draftSeconds = choice.length * machine.draft(choice.depth) * slow;
            const verifySeconds = machine.verify(choice.length + 1) * slow;
            const stepSeconds = draftSeconds + verifySeconds + (machine.stepOverhead ?? 0) * slow;
            produced += accepted + 1;
            seconds += stepSeconds;
            observation = {
                kind: "speculative",
                depth: choice.depth,
                judged: accepted + (accepted < choice.length ? 1 : 0),
                accepted,
                draftSteps: choice.length,
                draftSeconds,
                verifyPositions: choice.length + 1,
                verifySeconds,
                stepSeconds,
                comparable: true
            };
        }
        afterSpeculative = choice !== null;
        drafter.observe(observation);
    }
    return {speculativeSteps, speculativeShare: speculativeSteps / steps, speedup: (produced * machine.plain) / seconds, state: drafter.state()};
}

function drafterFor(layerCount: number, depths: number[], options: Partial<SelfTuningDrafterOptions> = {}) {
    return new SelfTuningDrafter({
        ...options,
        layerCount,
        candidates: depths.map((depth) => ({depth, mask: new Uint8Array(layerCount).fill(1, 0, layerCount - depth), costRatio: depth / layerCount}))
    });
}

describe("the self-tuning drafter", () => {
    test("where a verify batch costs little more than one token and drafts agree often, it drafts at the best depth", () => {
        const machine: Machine = {
            plain: 10,
            draft: (depth) => 1 + (9 * depth) / 16,
            verify: (positions) => 10 + 0.3 * (positions - 1),
            // deeper drafts agree more often but cost more
            acceptance: (depth) => ({6: 0.5, 8: 0.9, 10: 0.93, 12: 0.95, 14: 0.97})[depth] ?? 0
        };
        const depths = [6, 8, 10, 12, 14];
        // the best any fixed depth and length could do on this machine, by the cost model
        const attainable = Math.max(
            ...depths.map(
                (depth) =>
                    bestDraftLength(
                        machine.acceptance(depth),
                        {plainSeconds: machine.plain, draftSeconds: machine.draft(depth), verifySeconds: machine.verify},
                        8
                    ).predictedSpeedup
            )
        );
        const result = simulate(drafterFor(16, depths), machine, 4000);
        assert.ok(attainable > 1.2, `the machine should reward drafting (${attainable})`);
        assert.ok(result.speculativeShare > 0.8, `it should mostly draft, drafted in ${result.speculativeShare}`);
        assert.ok(result.speedup > 0.9 * attainable, `speedup ${result.speedup.toFixed(3)} of an attainable ${attainable.toFixed(3)}`);
        assert.equal(result.state.mode, "draft");
        assert.ok(Math.abs(result.state.predictedSpeedup - result.speedup) / result.speedup < 0.15, "the prediction should be near what it got");
    });

    test("where every verified position costs a full token, it decodes plainly and loses at most 3%", () => {
        const machine: Machine = {plain: 10, draft: (depth) => (10 * depth) / 16, verify: (positions) => 10 * positions, acceptance: () => 0.9};
        const result = simulate(drafterFor(16, [6, 8, 10, 12, 14]), machine, 4000);
        assert.equal(result.state.mode, "plain");
        assert.equal(result.state.predictedSpeedup, 1);
        assert.ok(result.speedup >= 0.97, `speedup ${result.speedup}`);
        assert.ok(result.speculativeShare < 0.05, `it should only probe now and then, drafted in ${result.speculativeShare}`);
    });

    test("when its steps cost more by the clock than the drafts and verify it predicts from, it stops drafting and loses at most 3%", () => {
        // by the parts it measures, drafting pays (as in the first test); each step also spends 6 plain tokens'
        // worth on things no prediction counts, so by the clock it loses
        const machine: Machine = {
            plain: 10,
            draft: (depth) => 1 + (9 * depth) / 16,
            verify: (positions) => 10 + 0.3 * (positions - 1),
            acceptance: (depth) => ({6: 0.5, 8: 0.9, 10: 0.93, 12: 0.95, 14: 0.97})[depth] ?? 0,
            stepOverhead: 60
        };
        const result = simulate(drafterFor(16, [6, 8, 10, 12, 14]), machine, 4000);
        assert.equal(result.state.mode, "plain");
        assert.ok(result.speedup >= 0.97, `speedup ${result.speedup}`);
        assert.ok(result.speculativeShare < 0.05, `drafted in ${result.speculativeShare}`);
    });

    test("it judges the clock by all its steps' time over all their tokens, not by the typical step", () => {
        // 4-token drafts that agree 95% of the time: four steps in five yield 5 tokens, at 0.96 of a plain
        // token's time per token, but the others yield fewer, and over all steps a token costs 1.07: drafting
        // loses 7%. The median step says it pays; the sum says it does not.
        const machine: Machine = {plain: 10, draft: () => 2, verify: (positions) => 10 + 0.3 * (positions - 1), acceptance: () => 0.95, stepOverhead: 29};
        const result = simulate(drafterFor(16, [12]), machine, 4000);
        assert.equal(result.state.mode, "plain");
        assert.ok(result.speedup >= 0.97, `speedup ${result.speedup}`);
        assert.ok(result.speculativeShare < 0.05, `drafted in ${result.speculativeShare}`);
    });

    test("a machine whose speed swings does not make old drafting steps look cheap against new plain ones", () => {
        // as the previous test, losing 7% by the clock, on a machine that runs 1.6x slower every other 40 steps
        const machine: Machine = {
            plain: 10,
            draft: () => 2,
            verify: (positions) => 10 + 0.3 * (positions - 1),
            acceptance: () => 0.95,
            stepOverhead: 29,
            slowdown: (step) => (Math.floor(step / 40) % 2 === 0 ? 1 : 1.6)
        };
        const result = simulate(drafterFor(16, [12]), machine, 4000);
        assert.ok(result.speculativeShare < 0.05, `drafted in ${result.speculativeShare}`);
    });

    test("where the depth keeping most layers never agrees, it measures no depth keeping fewer", () => {
        // the random 24-layer benchmark model: no shortened form agrees with the full one. On a machine where a
        // verify batch costs little more than a token (a GPU), drafts that agreed would pay, so only their
        // acceptance can rule a depth out, and every warm-up step there is a loss
        const machine: Machine = {plain: 10, draft: (depth) => (5 * depth) / 24, verify: (positions) => 10 + 0.3 * (positions - 1), acceptance: () => 0};
        const drafter = drafterFor(24, [8, 11, 14, 17, 20, 23]);
        const result = simulate(drafter, machine, 48);
        const measured = result.state.depths.filter((depth) => depth.judged > 0).map((depth) => depth.depth);
        assert.deepEqual(measured, [23], "only the deepest depth is measured");
        // 4 judged drafts, one per verify, at that depth alone (it was 4 at each of six depths)
        assert.equal(result.state.warmupSteps, 4);
        assert.equal(result.state.mode, "plain");
        // the same machine where the deepest depth agrees: every depth is measured, as before
        const agreeing = simulate(drafterFor(24, [8, 11, 14, 17, 20, 23]), {...machine, acceptance: (depth) => depth / 30}, 400);
        assert.equal(agreeing.state.depths.filter((depth) => depth.judged > 0).length, 6);
    });

    test("where even drafts that always agree could not pay (a compute-bound CPU), it stops measuring after one verify batch", () => {
        // drafts agree 90% of the time, but a verify costs 0.9 of a token per position and a draft at least a
        // fifth of one: no depth and length reaches the margin, whatever the acceptance
        const machine: Machine = {plain: 10, draft: (depth) => 2 + (8 * depth) / 24, verify: (positions) => 1 + 9 * positions, acceptance: () => 0.9};
        const result = simulate(drafterFor(24, [8, 11, 14, 17, 20, 23]), machine, 128);
        assert.equal(result.state.warmupSteps, 1, "one step timed a verify batch; no depth was worth measuring after it");
        assert.equal(result.state.mode, "plain");
        // a 128-token answer from a drafter that knows nothing: the one step is all it loses
        assert.ok(result.speedup >= 0.97, `speedup ${result.speedup}`);
    });

    test("slow first plain steps (the first decodes after a load) do not make drafts look cheap", () => {
        // the machine of the previous test, whose first two steps take 3.5 times as long: measured against them,
        // a perfect draft at most depths would seem to pay, and the warm-up would measure them
        const machine: Machine = {
            plain: 10,
            draft: (depth) => 2 + (8 * depth) / 24,
            verify: (positions) => 1 + 9 * positions,
            acceptance: () => 0.9,
            slowdown: (step) => (step <= 2 ? 3.5 : 1)
        };
        const result = simulate(drafterFor(24, [8, 11, 14, 17, 20, 23]), machine, 128);
        assert.equal(result.state.warmupSteps, 1);
        assert.equal(result.state.mode, "plain");
    });

    test("where a probe costs many plain steps by the clock (a tiny model's graphs built again), probing costs about 1%", () => {
        // stories260K on one thread: a probe took 6 to 40 plain steps for its few tokens, and the plain step after
        // it more than one. Drafting never pays here, so every speculative step is a probe (or the warm-up's)
        const machine: Machine = {
            plain: 1,
            draft: (depth) => 0.3 + (0.7 * depth) / 5,
            verify: (positions) => positions,
            acceptance: () => 0.7,
            stepOverhead: 20,
            switchBack: 3
        };
        const budgeted = simulate(drafterFor(5, [2, 3, 4]), machine, 4000);
        assert.equal(budgeted.state.mode, "plain");
        assert.ok(budgeted.speedup >= 0.975, `speedup ${budgeted.speedup}`);
        assert.ok(budgeted.speculativeSteps <= 3, `the warm-up's step and a probe or two, not ${budgeted.speculativeSteps}`);
        // without the budget, probes every 128, 256, ... plain steps cost several times as much
        const unbudgeted = simulate(drafterFor(5, [2, 3, 4], {probeBudget: Infinity}), machine, 4000);
        assert.ok(unbudgeted.speedup < budgeted.speedup - 0.01, `without a budget ${unbudgeted.speedup}, with ${budgeted.speedup}`);
    });

    test("with no depth to draft at (a model that cannot skip) it always decodes plainly", () => {
        const drafter = drafterFor(2, []);
        for (let i = 0; i < 100; i++) {
            assert.equal(drafter.nextDraft(), null);
            drafter.observe({kind: "plain", seconds: 1, comparable: true});
        }
        assert.equal(drafter.state().mode, "learning");
    });
});
