// How the speed calibration reaches and times its long context, against a stand-in for the native context
// whose decode steps take as long as the test says (it spins for that long: the durations differ by
// factors, so the machine's own noise cannot change which points are steady). It fills the context once
// under one layer per attention type, times each step at the same position and removes it again, leaves
// every sequence empty and the native mask as it found it, and when only the long points stay too spread
// it still calibrates from the others (the attention term from the curve's knots that stood, or 0) but
// caches nothing. Its turns lead in past the slow steps that follow a drop in depth.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, describe, test} from "node:test";
import type {LayerSkipContext} from "../../engine/native/skip-context.js";
import {buildSchedule, estimateCostModelFromTensorBytes, secondsPerToken} from "../../engine/plan/index.js";
import {SkipAwareCache} from "../../engine/skip-aware-cache.js";
import {calibrateSpeed, generatorBurst, percentBeyond, SHORT_CONTEXT_TOKENS} from "../../engine/speed-calibration.js";
import type {Generator} from "../../engine/generation/generator.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-long-context-"));
after(() => fs.rmSync(scratch, {recursive: true, force: true}));
const modelPath = path.join(scratch, "model.gguf");
fs.writeFileSync(modelPath, "a stand-in: the calibration's cache key reads only its size and time");

function spin(milliseconds: number): void {
    const until = process.hrtime.bigint() + BigInt(Math.round(milliseconds * 1e6));
    while (process.hrtime.bigint() < until);
}

type Decoded = {sequenceId: number; firstPosition: number; tokens: number; mask: string; sequences: number};

/** the parts of LayerSkipContext the calibration and SkipAwareCache use; steps cost `stepMilliseconds`. With
 *  fewer than twice the batch's sequences the calibration fills one set on to each context */
function standInContext(
    layerCount: number,
    stepMilliseconds: (activeLayers: number, position: number, step: number, sequences: number) => number,
    sequenceCount = 1
) {
    let mask = new Uint8Array(layerCount);
    const cells = new Map<number, number>();
    const decoded: Decoded[] = [];
    let step = 0;
    const context = {
        layerCount,
        sequenceCount,
        contextSize: 1100,
        getLayerSkip: () => Uint8Array.from(mask),
        setLayerSkip: async (next: Uint8Array) => void (mask = Uint8Array.from(next)),
        removeTokens: async (sequenceId: number, start: number) => void cells.set(sequenceId, Math.min(cells.get(sequenceId) ?? 0, start)),
        decode: async (items: {sequenceId: number; firstPosition: number; tokens: readonly number[]}[]) => {
            await context.decodeReadouts(items);
            return items.map(() => [new Float32Array(4)]);
        },
        // timed steps read greedy tokens, fills read logits: both write the same cells and take the same time
        decodeReadouts: async (items: {sequenceId: number; firstPosition: number; tokens: readonly number[]}[]) => {
            for (const item of items) {
                assert.equal(item.firstPosition, cells.get(item.sequenceId) ?? 0, "each position is written once, right after the last");
                cells.set(item.sequenceId, item.firstPosition + item.tokens.length);
                decoded.push({
                    sequenceId: item.sequenceId,
                    firstPosition: item.firstPosition,
                    tokens: item.tokens.length,
                    mask: [...mask].join(""),
                    sequences: items.length
                });
            }
            if (items.every((item) => item.tokens.length === 1))
                spin(stepMilliseconds(mask.filter((skip) => skip === 0).length, items[0].firstPosition, step++, items.length));
            return items.map(() => ({logits: [new Float32Array(4)], greedyTokens: [0], candidates: []}));
        }
    };
    return {context, cells, decoded, mask: () => [...mask].join("")};
}

const layerCount = 8;
const schedule = buildSchedule({layerCount});
/** the depths timed at the long context: full depth, a half, a quarter and the fewest layers (a quarter of 8 is
 *  the fewest, 2) */
const longDepths = [layerCount, layerCount / 2, schedule.minDepth];
const base = {
    schedule,
    prior: estimateCostModelFromTensorBytes({layerBytes: Array.from({length: layerCount}, () => 1), fixedBytes: 1}),
    modelPath,
    vocabularySize: 512,
    buildId: "stand-in",
    device: "cpu",
    threads: 1,
    batch: 1,
    steps: 8,
    targetRelativeHalfWidth: 0.3,
    maxSecondsPerDepth: 0.2,
    longContextTokens: 1024,
    loadAverage: () => 0
};

describe("the speed calibration's long context", () => {
    test("is filled once under one layer, timed at one position per step, and left empty with the mask restored", async () => {
        // 0.2 ms fixed, 0.1 ms per layer, 0.001 ms per layer per cached token
        const stand = standInContext(layerCount, (layers, position) => 0.2 + layers * (0.1 + 0.001 * position));
        const cache = new SkipAwareCache(stand.context as unknown as LayerSkipContext);
        const maskBefore = "00110000";
        await stand.context.setLayerSkip(Uint8Array.from(maskBefore, Number));
        const result = await calibrateSpeed({...base, cache, cacheDirectory: path.join(scratch, "steady")});

        const fills = stand.decoded.filter((entry) => entry.tokens > 1);
        assert.deepEqual(
            fills.map(({firstPosition, tokens, mask}) => ({firstPosition, tokens, mask})),
            // on the way to the long context it stops at a quarter, a half and three quarters of it (the context curve)
            [
                {firstPosition: 0, tokens: SHORT_CONTEXT_TOKENS, mask: "01111111"},
                {firstPosition: SHORT_CONTEXT_TOKENS, tokens: 256 - SHORT_CONTEXT_TOKENS, mask: "01111111"},
                {firstPosition: 256, tokens: 256, mask: "01111111"},
                {firstPosition: 512, tokens: 256, mask: "01111111"},
                {firstPosition: 768, tokens: 256, mask: "01111111"}
            ]
        );
        const stepPositions = new Set(stand.decoded.filter((entry) => entry.tokens === 1).map((entry) => entry.firstPosition));
        assert.deepEqual([...stepPositions], [SHORT_CONTEXT_TOKENS, 256, 512, 768, 1024]);
        assert.deepEqual(
            result.points.filter((point) => ![SHORT_CONTEXT_TOKENS, 1024].includes(point.contextTokens)).map((point) => point.depth),
            [layerCount, layerCount, layerCount]
        );
        // these steps cost a straight line in the context, so each knot stands for its own context
        const curve = result.costModel.contextCurve;
        assert.deepEqual(curve?.tokens, [256, 512, 768, 1024]);
        curve?.effectiveTokens.forEach((effective, knot) =>
            assert.ok(Math.abs(effective / curve.tokens[knot] - 1) < 0.1, `${effective} effective tokens at ${curve.tokens[knot]}`)
        );
        assert.deepEqual(
            result.points.filter((point) => point.contextTokens === 1024).map((point) => point.depth),
            longDepths
        );
        assert.ok(result.costModel.layerSecondsPerContextToken.every((perToken) => perToken > 0));
        assert.equal(stand.cells.get(0), 0, "the calibration's positions are gone");
        assert.equal(cache.ledger(0).length, 0);
        assert.equal(stand.mask(), maskBefore, "the native mask is the one the cache last set");
    });

    test("with a second sequence, times the longer contexts there in turns with the short one, so a slower stretch falls on both", async () => {
        // 0.2 ms fixed, 0.1 ms per layer, 0.001 ms per layer per cached token; from the first step past 100
        // cached tokens on, every step takes 1.3 times as long (the machine slowed down)
        const steady = (layers: number, position: number) => 0.2 + layers * (0.1 + 0.001 * position);
        const slowingAfterShort = () => {
            let slowed = false;
            return (layers: number, position: number) => {
                if (position > 100) slowed = true;
                return steady(layers, position) * (slowed ? 1.3 : 1);
            };
        };
        const full = Array.from({length: layerCount}, (_, layer) => layer);
        const predictedAt900 = (costModel: Parameters<typeof secondsPerToken>[0]) => secondsPerToken(costModel, full, {contextTokens: 900}) * 1e3;

        const beside = standInContext(layerCount, slowingAfterShort(), 2);
        const besideCache = new SkipAwareCache(beside.context as unknown as LayerSkipContext);
        const result = await calibrateSpeed({...base, cache: besideCache, cacheDirectory: path.join(scratch, "beside")});
        // the short context on sequence 0, the longer ones filled on sequence 1
        assert.deepEqual(
            beside.decoded.filter((entry) => entry.tokens > 1).map(({sequenceId, firstPosition, tokens}) => ({sequenceId, firstPosition, tokens})),
            [
                {sequenceId: 0, firstPosition: 0, tokens: SHORT_CONTEXT_TOKENS},
                {sequenceId: 1, firstPosition: 0, tokens: 256},
                {sequenceId: 1, firstPosition: 256, tokens: 256},
                {sequenceId: 1, firstPosition: 512, tokens: 256},
                {sequenceId: 1, firstPosition: 768, tokens: 256}
            ]
        );
        const steps = beside.decoded.filter((entry) => entry.tokens === 1);
        assert.ok(steps.every((entry) => (entry.sequenceId === 0) === (entry.firstPosition === SHORT_CONTEXT_TOKENS)));
        // the short context is timed again between the long context's turns
        const lastLong = steps.length - 1 - [...steps].reverse().findIndex((entry) => entry.firstPosition === 1024);
        const firstLong = steps.findIndex((entry) => entry.firstPosition === 1024);
        assert.ok(steps.slice(firstLong, lastLong).some((entry) => entry.sequenceId === 0));
        const longer = result.points.filter((point) => point.contextTokens > SHORT_CONTEXT_TOKENS);
        assert.ok(longer.length >= 2 && longer.every((point) => point.besideShortContext !== undefined));
        // so the fitted model predicts the steady steps at 900 tokens, though the long ones ran slower
        assert.ok(Math.abs(predictedAt900(result.costModel) / steady(layerCount, 900) - 1) < 0.1, `${predictedAt900(result.costModel)} ms at 900 tokens`);
        assert.equal(beside.cells.get(0), 0);
        assert.equal(beside.cells.get(1), 0);

        // with one sequence the long points carry the slower stretch into the attention term
        const oneSet = standInContext(layerCount, slowingAfterShort(), 1);
        const oneSetResult = await calibrateSpeed({
            ...base,
            cache: new SkipAwareCache(oneSet.context as unknown as LayerSkipContext),
            cacheDirectory: path.join(scratch, "one-set")
        });
        assert.ok(oneSetResult.points.every((point) => point.besideShortContext === undefined));
        assert.ok(predictedAt900(oneSetResult.costModel) / steady(layerCount, 900) > 1.15, `${predictedAt900(oneSetResult.costModel)} ms at 900 tokens`);
    });

    test("counts the far outliers of the short steps timed beside a long point: such a calibration is not cached", async () => {
        // steady steps, except that once the long context is timed every sixth step at the short context takes
        // 20 ms (another program took the CPU while the long point's reference was timed)
        const steady = (layers: number, position: number) => 0.2 + layers * (0.1 + 0.001 * position);
        let longStarted = false;
        const stand = standInContext(
            layerCount,
            (layers, position, step) => {
                if (position === 1024) longStarted = true;
                return longStarted && position === SHORT_CONTEXT_TOKENS && step % 6 === 0 ? 20 : steady(layers, position);
            },
            2
        );
        const cacheDirectory = path.join(scratch, "reference-interrupted");
        // at least 40 steps a timing, so that a stray slow step of this machine's own is not a tenth of one
        const result = await calibrateSpeed({...base, steps: 40, cache: new SkipAwareCache(stand.context as unknown as LayerSkipContext), cacheDirectory});
        const long = result.points.filter((point) => point.contextTokens === 1024);
        assert.equal(long.length, longDepths.length);
        // the long steps themselves ran steady: only the reference's outliers can say the run was interrupted.
        // A step of this machine's own may still be slow (a 9 ms step preempted for 5 ms is far out), so the
        // long points are held to what refuses the cache, a tenth of their steps, not to none. (The messages:
        // without one a failing assert.ok here spends minutes building its own from the source)
        const ownOutliers = long.map((point) => `${point.rejectedOutliers} of ${point.stepSeconds.samples + point.rejectedOutliers}`);
        assert.ok(
            long.every((point) => point.rejectedOutliers <= 0.1 * (point.stepSeconds.samples + point.rejectedOutliers)),
            `far outliers among the long steps: ${ownOutliers.join(", ")}`
        );
        assert.ok(
            long.some((point) => point.besideShortContext!.shortRejectedOutliers > 0),
            `no far outliers among the short steps timed beside the long ones (own: ${ownOutliers.join(", ")})`
        );
        assert.match(
            result.notCachedReason ?? "",
            /^\d+ of \d+ decode steps at \d+ layers and 8 cached tokens \(timed beside those at 1024\) took far longer than the rest/
        );
        assert.deepEqual(fs.existsSync(cacheDirectory) ? fs.readdirSync(cacheDirectory) : [], []);
    });

    test("that stays too spread leaves the term at 0 and the calibration uncached, instead of failing it", async () => {
        // steady short steps; at the long context every other step takes 100 times as long (at 20 times the
        // fewest layers' steps, 0.4 ms and 8, met ±30% once in a while, and a long depth that stands counts)
        const stand = standInContext(layerCount, (layers, position, step) => (position > 100 && step % 2 === 0 ? 100 : 1) * (0.2 + layers * 0.1));
        const cache = new SkipAwareCache(stand.context as unknown as LayerSkipContext);
        const cacheDirectory = path.join(scratch, "spread");
        const result = await calibrateSpeed({...base, cache, cacheDirectory});
        assert.match(
            result.notCachedReason ?? "",
            /^decode steps at 8 layers and 1024 cached tokens stayed too spread to time: .* so the attention's cost per cached token is not measured$/
        );
        assert.ok(result.points.every((point) => point.contextTokens === SHORT_CONTEXT_TOKENS));
        assert.deepEqual(
            result.costModel.layerSecondsPerContextToken,
            Array.from({length: layerCount}, () => 0)
        );
        assert.equal(result.costModel.source, "calibrated");
        assert.equal(fs.existsSync(cacheDirectory) ? fs.readdirSync(cacheDirectory).length : 0, 0);
        assert.equal(stand.cells.get(0), 0);
    });

    test("that stays too spread while the curve's knots stood takes the term from those knots, and says so", async () => {
        // steady up to the curve's last knot (768 of 1,024 tokens); beyond it every other step takes 100 times as long
        const stand = standInContext(
            layerCount,
            (layers, position, step) => (position > 900 && step % 2 === 0 ? 100 : 1) * (0.2 + layers * 0.1) * (1 + position / 1000)
        );
        const cache = new SkipAwareCache(stand.context as unknown as LayerSkipContext);
        const cacheDirectory = path.join(scratch, "curve-stands");
        const result = await calibrateSpeed({...base, cache, cacheDirectory});
        assert.match(
            result.notCachedReason ?? "",
            /^decode steps at 8 layers and 1024 cached tokens stayed too spread to time: .* so the attention's cost per cached token rests on the points up to 768 cached tokens$/
        );
        assert.ok(result.points.some((point) => point.contextTokens === 768));
        assert.ok(result.costModel.layerSecondsPerContextToken.every((perToken) => perToken > 0));
        assert.equal(fs.existsSync(cacheDirectory) ? fs.readdirSync(cacheDirectory).length : 0, 0);
    });

    test("one long depth too spread leaves the others timed in its turns standing, and the attention's curve through them", async () => {
        // 16 layers: full depth, a half, a quarter and the fewest at the long context. Only the half's steps there
        // are spread (every other one takes 20 times as long); the rest run steady
        const layers16 = 16;
        const schedule16 = buildSchedule({layerCount: layers16});
        const steady = (layers: number, position: number) => 0.2 + layers * (0.1 + 0.001 * position);
        const stand = standInContext(
            layers16,
            (layers, position, step) => (position === 1024 && layers === layers16 / 2 && step % 2 === 0 ? 20 : 1) * steady(layers, position),
            2
        );
        const cacheDirectory = path.join(scratch, "one-long-depth-spread");
        const result = await calibrateSpeed({
            ...base,
            schedule: schedule16,
            prior: estimateCostModelFromTensorBytes({layerBytes: Array.from({length: layers16}, () => 1), fixedBytes: 1}),
            cache: new SkipAwareCache(stand.context as unknown as LayerSkipContext),
            cacheDirectory
        });
        const stood = [layers16, layers16 / 4, schedule16.minDepth];
        assert.match(
            result.notCachedReason ?? "",
            new RegExp(
                `^decode steps at ${layers16 / 2} layers and 1024 cached tokens stayed too spread to time: .* rests on the points up to 1024 cached tokens \\(at 1024: ${stood.join(", ")} layers stood\\)$`
            )
        );
        assert.deepEqual(
            result.points.filter((point) => point.contextTokens === 1024).map((point) => point.depth),
            stood
        );
        // three depths at the long context are enough for the curve, and it holds the steady steps there
        const curve = result.costModel.attentionDepthCurve;
        assert.ok(curve !== undefined, "no attention depth curve from the three long depths that stood");
        for (const depth of [layers16, layers16 / 2, layers16 / 4]) {
            const kept = Array.from({length: depth}, (_, layer) => layer);
            const predicted = secondsPerToken(result.costModel, kept, {contextTokens: 1024}) * 1e3;
            assert.ok(Math.abs(predicted / steady(depth, 1024) - 1) < 0.1, `${predicted} ms at ${depth} layers and 1024 tokens, steady ${steady(depth, 1024)}`);
        }
        assert.equal(fs.existsSync(cacheDirectory) ? fs.readdirSync(cacheDirectory).length : 0, 0);
    });

    test("that stays too spread at batch 2 takes the batch's attention from one sequence's, twice over, for this load only", async () => {
        // each sequence attends to its own cache: 0.001 ms per layer per cached token, per sequence. Two
        // sequences' steps beyond the short context take 20 times as long every other step; one's are steady
        const steady = (layers: number, position: number, sequences: number) => 0.2 + layers * (0.1 + 0.02 * sequences + 0.001 * sequences * position);
        const stand = standInContext(
            layerCount,
            (layers, position, step, sequences) => (sequences > 1 && position > 100 && step % 2 === 0 ? 20 : 1) * steady(layers, position, sequences),
            2
        );
        const cache = new SkipAwareCache(stand.context as unknown as LayerSkipContext);
        const cacheDirectory = path.join(scratch, "one-sequence");
        const result = await calibrateSpeed({...base, batch: 2, cache, cacheDirectory});
        assert.match(
            result.attentionFromOneSequence?.reason ?? "",
            /^decode steps of 2 sequences at 8 layers and 1024 cached tokens stayed too spread to time: .* so the batch's attention is 2 times one sequence's, timed at batch 1$/
        );
        // one sequence, timed at the short context and on to the long one (the knots the batch left out too)
        const single = result.attentionFromOneSequence?.points ?? [];
        assert.deepEqual(
            single.map((point) => `${point.depth}@${point.contextTokens}`),
            [
                ...longDepths.map((depth) => `${depth}@8`),
                `${layerCount}@256`,
                `${layerCount}@512`,
                `${layerCount}@768`,
                ...longDepths.map((depth) => `${depth}@1024`)
            ]
        );
        assert.ok(stand.decoded.some((entry) => entry.tokens === 1 && entry.firstPosition === 1024 && entry.sequences === 1));
        // the batch's points beyond the short context are its short steps plus twice one sequence's gain
        const scaled = result.points.filter((point) => point.contextTokens > SHORT_CONTEXT_TOKENS);
        assert.ok(scaled.length === 3 + longDepths.length && scaled.every((point) => point.scaledFromOneSequence === true));
        for (const point of scaled) {
            const truth = steady(point.depth, point.contextTokens, 2);
            assert.ok(
                Math.abs((point.stepSeconds.mean * 1e3) / truth - 1) < 0.1,
                `${point.depth} layers at ${point.contextTokens}: ${point.stepSeconds.mean * 1e3} ms, steady ${truth}`
            );
        }
        // so the model predicts two sequences' steps at a long context, where without it the term was 0
        const full = Array.from({length: layerCount}, (_, layer) => layer);
        const predicted = secondsPerToken(result.costModel, full, {contextTokens: 900}) * 1e3;
        assert.ok(Math.abs(predicted / steady(layerCount, 900, 2) - 1) < 0.1, `${predicted} ms at 900 tokens, steady ${steady(layerCount, 900, 2)}`);
        // used, but the next load times the batch again
        assert.equal(result.notCachedReason, result.attentionFromOneSequence?.reason);
        assert.equal(fs.existsSync(cacheDirectory) ? fs.readdirSync(cacheDirectory).length : 0, 0);
        assert.equal(stand.cells.get(0), 0);
        assert.equal(stand.cells.get(1), 0);
    });

    test("at batch 2, one long depth too spread: one sequence's timing stands for the whole long context, the batch's depths that stood go", async () => {
        // two sequences' steps at the long context are spread at 4 layers only (every other one 100 times as
        // long); 8 and 2 layers stand there. One sequence's are steady
        const steady = (layers: number, position: number, sequences: number) => 0.2 + layers * (0.1 + 0.02 * sequences + 0.001 * sequences * position);
        const stand = standInContext(
            layerCount,
            (layers, position, step, sequences) =>
                (sequences > 1 && position === 1024 && layers === 4 && step % 2 === 0 ? 100 : 1) * steady(layers, position, sequences),
            2
        );
        const result = await calibrateSpeed({
            ...base,
            batch: 2,
            cache: new SkipAwareCache(stand.context as unknown as LayerSkipContext),
            cacheDirectory: path.join(scratch, "one-sequence-one-depth")
        });
        assert.match(result.attentionFromOneSequence?.reason ?? "", /^decode steps of 2 sequences at 4 layers and 1024 cached tokens stayed too spread/);
        const long = result.points.filter((point) => point.contextTokens === 1024);
        assert.deepEqual(
            long.map((point) => `${point.depth}${point.scaledFromOneSequence === true ? " scaled" : " own"}`),
            longDepths.map((depth) => `${depth} scaled`)
        );
    });

    test("that stays too spread for one sequence too says both, and is not cached", async () => {
        // every other long step takes 20 times as long; the short ones are steady. One sequence's long points are
        // timed beside its short ones (two sequences hold one and one), in turns that get more of the machine's
        // time than the batch's alone did, so the target is ±10% here, which such steps never meet
        const stand = standInContext(layerCount, (layers, position, step) => (position > 100 && step % 2 === 0 ? 20 : 1) * (0.2 + layers * 0.1), 2);
        const cache = new SkipAwareCache(stand.context as unknown as LayerSkipContext);
        const cacheDirectory = path.join(scratch, "one-sequence-spread");
        const result = await calibrateSpeed({...base, batch: 2, targetRelativeHalfWidth: 0.1, cache, cacheDirectory});
        assert.equal(result.attentionFromOneSequence, undefined);
        assert.match(
            result.notCachedReason ?? "",
            /^decode steps of 2 sequences at 8 layers and 1024 cached tokens stayed too spread to time: .* is needed \(and one sequence's: decode steps at 8 layers and 1024 cached tokens stayed too spread to time: .*\), so the attention's cost per cached token is not measured$/
        );
        assert.ok(result.points.every((point) => point.contextTokens === SHORT_CONTEXT_TOKENS));
        assert.equal(fs.existsSync(cacheDirectory) ? fs.readdirSync(cacheDirectory).length : 0, 0);
    });
});

describe("the speed calibration's turns and the engine's own step", () => {
    test("times the short depths in turns of at least 8 steps and 30 ms (at most 32), each after one untimed step that builds its graph", async () => {
        // steps of 0.3 to 2.2 ms: 8 steps never last 30 ms, so every turn runs on past 8, up to 32
        const stand = standInContext(layerCount, (layers) => 0.2 + layers * 0.1);
        const cache = new SkipAwareCache(stand.context as unknown as LayerSkipContext);
        await calibrateSpeed({...base, cache, steps: 16, longContextTokens: 0, cacheDirectory: path.join(scratch, "turns")});
        const shortSteps = stand.decoded.filter((entry) => entry.tokens === 1 && entry.firstPosition === SHORT_CONTEXT_TOKENS);
        // runs of steps under one mask, in the order they were decoded
        const runs: {mask: string; steps: number}[] = [];
        for (const {mask} of shortSteps) {
            if (runs.at(-1)?.mask === mask) runs.at(-1)!.steps++;
            else runs.push({mask, steps: 1});
        }
        const depths = new Set(shortSteps.map((entry) => entry.mask)).size;
        assert.ok(depths >= 3, `${depths} depths`);
        // every depth has its first turn (two untimed steps, then one more after each switch) before any has a second
        assert.equal(new Set(runs.slice(0, depths).map((run) => run.mask)).size, depths);
        const timedInFirstTurns = runs.slice(0, depths).map((run, index) => run.steps - (index === 0 ? 2 : 1));
        assert.ok(
            timedInFirstTurns.every((steps) => steps > 8 && steps <= 32),
            timedInFirstTurns.join(",")
        );
        // the shallowest depth's steps are the shortest: its turns run to 32 steps before 30 ms have passed
        const shallowest = shortSteps.reduce(
            (fewest, entry) => (entry.mask.split("1").length > fewest.split("1").length ? entry.mask : fewest),
            shortSteps[0]!.mask
        );
        const shallowestFirst = runs.findIndex((run) => run.mask === shallowest);
        assert.equal(timedInFirstTurns[shallowestFirst], 32);
        // a later turn after a switch times at least 8 steps too (a depth left alone goes on without the untimed step)
        assert.ok(
            runs.slice(depths).every((run) => run.steps - 1 >= 8),
            runs.map((run) => run.steps).join(",")
        );
    });

    test("leads in past the slow steps after a drop in depth, so each depth is timed at its steady pace", async () => {
        // after a step with more layers, the next 16 steps take 1.45 times as long (under the far-outlier
        // fences, so only the lead-in keeps them out); after a rise every step runs at its steady pace
        const steady = (layers: number) => 1 + layers * 0.5;
        let previousLayers = 0;
        let slowSteps = 0;
        const stand = standInContext(layerCount, (layers) => {
            if (layers < previousLayers) slowSteps = 16;
            previousLayers = layers;
            return steady(layers) * (slowSteps-- > 0 ? 1.45 : 1);
        });
        const cache = new SkipAwareCache(stand.context as unknown as LayerSkipContext);
        // 40 steps at each depth take several turns of 30 ms, so the fewest layers follow full depth again
        const result = await calibrateSpeed({
            ...base,
            cache,
            steps: 40,
            maxSecondsPerDepth: 5,
            longContextTokens: 0,
            cacheDirectory: path.join(scratch, "after-drop")
        });
        const timed = result.points.map((point) => ({layers: point.depth, milliseconds: point.stepSeconds.mean * 1e3}));
        assert.ok(timed.length >= 3);
        // within 8% (a pause of the machine's own can stretch a step; far ones are dropped as outliers): without
        // the lead-in, 6 layers came out 45% slow
        for (const point of timed) assert.ok(Math.abs(point.milliseconds / steady(point.layers) - 1) < 0.08, JSON.stringify(timed));
    });

    test("keeps every depth in its turns until the last is timed, so a change in the machine's pace lands on all", async () => {
        // steady steps of 1 ms and 0.5 ms a layer, but the fewest layers' alternate 15% either side, so they
        // need about 200 steps for ±2% where the others need 16; half a second in, every step slows by 30%
        const steady = (layers: number) => 1 + layers * 0.5;
        let started: bigint | undefined;
        const stand = standInContext(layerCount, (layers, _position, step) => {
            started ??= process.hrtime.bigint();
            const pace = Number(process.hrtime.bigint() - started) / 1e9 > 0.5 ? 1.3 : 1;
            const jitter = layers === schedule.minDepth ? (step % 2 === 0 ? 0.85 : 1.15) : 1;
            return steady(layers) * pace * jitter;
        });
        const cache = new SkipAwareCache(stand.context as unknown as LayerSkipContext);
        const result = await calibrateSpeed({
            ...base,
            cache,
            steps: 16,
            targetRelativeHalfWidth: 0.02,
            maxSecondsPerDepth: 5,
            longContextTokens: 0,
            cacheDirectory: path.join(scratch, "pace")
        });
        const milliseconds = (depth: number) => result.points.find((point) => point.depth === depth)!.stepSeconds.mean * 1e3;
        // the predictions are ratios of these points: each depth's over the fewest's stays the steady one. With
        // the depths that met ±2% leaving the turns, full depth came out at 0.805 of it
        for (const depth of result.points.map((point) => point.depth)) {
            const ratio = milliseconds(depth) / milliseconds(schedule.minDepth) / (steady(depth) / steady(schedule.minDepth));
            assert.ok(Math.abs(ratio - 1) < 0.05, `${depth} layers: ${ratio.toFixed(3)} of the steady ratio`);
        }
    });

    test("puts what the engine's step adds to a bare decode in the fixed cost", async () => {
        // bare steps of 0.2 ms fixed and 0.1 ms per layer; the engine's take 0.3 ms more
        const bareMilliseconds = (layers: number) => 0.2 + layers * 0.1;
        const stand = standInContext(layerCount, bareMilliseconds);
        const cache = new SkipAwareCache(stand.context as unknown as LayerSkipContext);
        const bursts: {layers: number; steps: number}[] = [];
        const engineBurst = async (mask: Uint8Array, steps: number) => {
            const layers = mask.filter((skip) => skip === 0).length;
            bursts.push({layers, steps});
            for (let step = 0; step < steps; step++) spin(bareMilliseconds(layers) + 0.3);
            return (steps * (bareMilliseconds(layers) + 0.3)) / 1000 / steps;
        };
        const cacheDirectory = path.join(scratch, "engine-step");
        const result = await calibrateSpeed({...base, cache, longContextTokens: 0, engineBurst, cacheDirectory});
        // beside the fewest layers, where a fixed cost weighs most
        assert.ok(bursts.length >= 4 && bursts.every((burst) => burst.layers === schedule.minDepth && burst.steps >= 16));
        const measured = result.engineStep?.extraSeconds.mean ?? NaN;
        assert.ok(Math.abs(measured - 0.3e-3) < 0.1e-3, `the engine's step measured ${measured * 1e3} ms beyond a bare one`);
        assert.equal(result.costModel.calibration?.engineStepSeconds, measured);
        // the fit of the bare steps put ~0.2 ms in the fixed cost; the engine's step adds its 0.3
        assert.ok(Math.abs(result.costModel.fixedSeconds - 0.5e-3) < 0.15e-3, `fixed ${result.costModel.fixedSeconds * 1e3} ms`);
        assert.equal(stand.cells.get(0), 0, "the bare bursts' positions are gone");
    });

    test("the engine's burst is the plain mean of its steps: a slow step of its own is part of what it costs", async () => {
        // 16 timed steps, 15 of 1 ms and one of 9: tokens/s pays 1.5 ms a step. Dropping far outliers, as a
        // bare step's timing does, gave 1.0 (1.006 measured), and the engine's slow steps went missing from
        // the predictions
        const stepMilliseconds = (index: number) => (index === 9 ? 9 : 1);
        const requests: {maxTokens: number; promptTokens: number}[] = [];
        const generator = {
            generate: async (request: {maxTokens: number; promptTokens: number[]; onToken?: (token: number) => void}) => {
                requests.push({maxTokens: request.maxTokens, promptTokens: request.promptTokens.length});
                for (let token = 0; token < request.maxTokens; token++) {
                    // the prompt's token and the first step's are not timed: they cost what they like
                    spin(token < 2 ? 5 : stepMilliseconds(token - 2));
                    request.onToken?.(7);
                }
            }
        } as unknown as Generator;
        const cleared: number[] = [];
        const cache = {context: {sequenceCount: 2}, clear: async (sequenceId: number) => void cleared.push(sequenceId)} as unknown as SkipAwareCache;
        const burst = generatorBurst(generator, cache, 2, 512);
        const seconds = await burst(new Uint8Array(layerCount), 16);
        assert.deepEqual(requests, [
            {maxTokens: 18, promptTokens: SHORT_CONTEXT_TOKENS},
            {maxTokens: 18, promptTokens: SHORT_CONTEXT_TOKENS}
        ]);
        // 1.5 ms, and never more than the machine's noise above it; a trimmed mean gives about 1.0
        assert.ok(seconds > 1.4e-3 && seconds < 2.2e-3, `${seconds * 1e3} ms a step`);
        assert.deepEqual(cleared, [0, 1], "every sequence is cleared after the burst");
    });

    test("too spread to pin down, the engine's step still counts at its mean and leaves the calibration uncached", async () => {
        const stand = standInContext(layerCount, (layers) => 0.2 + layers * 0.1);
        const cache = new SkipAwareCache(stand.context as unknown as LayerSkipContext);
        let burst = 0;
        // 0.1 and 1.3 ms more than a bare step in turn: a mean of 0.7 ms that four bursts cannot pin to 30%
        const engineBurst = async (mask: Uint8Array) => (0.2 + mask.filter((skip) => skip === 0).length * 0.1 + (burst++ % 2 === 0 ? 0.1 : 1.3)) / 1000;
        const cacheDirectory = path.join(scratch, "engine-spread");
        const result = await calibrateSpeed({...base, cache, engineBurst, maxSecondsPerDepth: 0.05, cacheDirectory});
        assert.equal(result.engineStep?.tight, false);
        // still in the predictions at its mean (0 would promise the engine costs nothing), but not cached
        const measured = result.engineStep?.extraSeconds.mean ?? NaN;
        assert.ok(measured > 0.6e-3 && measured < 0.8e-3, `the engine's step measured ${measured * 1e3} ms beyond a bare one`);
        assert.equal(result.costModel.calibration?.engineStepSeconds, measured);
        assert.match(
            result.notCachedReason ?? "",
            /^the engine's own cost per step stayed too spread to pin down: 0\.[67]\d\d ±[\d.]+ ms over \d+ bursts, .*; the predictions carry its mean$/
        );
        assert.equal(fs.existsSync(cacheDirectory) ? fs.readdirSync(cacheDirectory).length : 0, 0);
    });
});

describe("a spread the calibration refuses", () => {
    test("is written with the digits it takes to differ from the target it missed", () => {
        assert.equal(percentBeyond(0.0204, 0.02), "2.04%");
        assert.equal(percentBeyond(0.02001, 0.02), "2.001%");
        assert.equal(percentBeyond(0.031, 0.02), "3.1%");
        assert.equal(percentBeyond(0.085, 0.02), "8.5%");
    });
});
