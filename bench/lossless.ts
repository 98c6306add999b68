// layer-dial-bench lossless: decode speed at Quality and at Lossless (self-speculative decoding), the
// drafter's acceptance and choice, the cost model's prediction against the measurement, and a check that
// both levels wrote the same tokens. Two engines on the same file run the two levels interleaved, so a busy
// machine slows both alike; each pair swaps which engine runs which level and which runs first. Each engine
// evaluates its prompts itself (nothing reused from another level's cache).
import fs from "node:fs";
import path from "node:path";
import {DialEngine} from "../engine/dial-engine.js";
import {FixedDrafter} from "../engine/generation/drafter.js";
import {loadBenchLlama} from "./load-llama.js";
import {bestDraftLength, describeKeptLayers, fitVerifyCost, predictedLosslessSpeedup, verifySecondsOf} from "../engine/plan/index.js";
import {DEFAULT_HELDOUT_TEXT} from "./quality.js";

export type LosslessBenchOptions = {
    modelPath: string;
    /** the prompts are consecutive windows of this text. Defaults to bench/texts/heldout-python.txt. */
    textPath?: string;
    /** measured Quality/Lossless pairs, interleaved, after one warm-up pair. Defaults to 3. */
    runs?: number;
    /** tokens generated per run. Defaults to 128. */
    tokens?: number;
    /** prompt tokens per run. Defaults to 96. */
    promptTokens?: number;
    /** Defaults to the CPU's math cores. */
    threads?: number;
    /** tokens drafted per verify in the per-depth sweep. Defaults to 4. */
    sweepDraftLength?: number;
    /** false skips the per-depth sweep (the pairs alone: a quick look at the warm-up). Defaults to true. */
    sweep?: boolean;
    /** where the engines' drafters read and store what they learned (DialEngineOptions.drafterStateDirectory):
     *  a directory, or false for drafters that start from scratch. Defaults to the user's cache, as the
     *  extension does, so the warm-up pair starts from whatever an earlier load of this model stored. */
    drafterStateDirectory?: string | false;
    log?: (line: string) => void;
};

export type Spread = {median: number; min: number; max: number};

export type DepthMeasurement = {
    depth: number;
    acceptanceRate: number;
    meanTokensPerVerify: number;
    /** one draft decode, and one verify of k + 1 positions, in plain steps (seconds per token of the Quality
     *  runs interleaved with this depth's) */
    draftCost: number;
    verifyCost: number;
    /** the cost model's speedup from this acceptance and these costs, at the sweep's length */
    predictedSpeedup: number;
    /** the draft length the cost model would pick at this acceptance, and its prediction */
    bestLength: number;
    bestPredictedSpeedup: number;
    /** this depth's tokens/s ÷ those of a Quality run just before on the same prompt (median over the runs) */
    measuredSpeedup: number;
    identicalOutput: boolean;
};

export type LosslessBenchResult = {
    model: string;
    layerCount: number;
    compute: string;
    threads: number;
    tokens: number;
    promptTokens: number;
    runs: number;
    sweepDraftLength: number;
    qualityTokensPerSecond: number[];
    losslessTokensPerSecond: number[];
    /** Lossless ÷ Quality tokens/s of each interleaved pair */
    speedup: Spread;
    /** the first pair after the load (not in `speedup`): the Lossless engine's first answer, in which a drafter
     *  from scratch measures every depth and one restored from a stored state does not */
    warmup: {
        speedup: number;
        /** each engine's drafter started from a stored state */
        fromStore: boolean[];
        /** steps the first answer spent measuring depths it knew too little about */
        warmupSteps: number;
    };
    identicalOutput: boolean;
    /** Quality's decode seconds per token (median over the measured runs) */
    plainSeconds: number;
    /** the engine's self-tuning drafter over the measured runs */
    drafter: {
        mode: string;
        draftDepth: number | null;
        draftLength: number | null;
        acceptanceRate: number | null;
        meanTokensPerVerify: number | null;
        speculativeSteps: number;
        plainSteps: number;
        predictedSpeedup: number;
    };
    depths: DepthMeasurement[];
    seconds: number;
};

export async function runLosslessBench(options: LosslessBenchOptions): Promise<LosslessBenchResult> {
    const started = performance.now();
    const log = options.log ?? (() => undefined);
    const runs = options.runs ?? 3;
    const tokens = options.tokens ?? 128;
    const promptLength = options.promptTokens ?? 96;
    const sweepLength = options.sweepDraftLength ?? 4;
    // the backend comes from --gpu (through $LAYER_DIAL_GPU), as in the other benchmarks
    const {llama, backend} = await loadBenchLlama();
    const engineOptions = {
        llama,
        backend,
        modelPath: options.modelPath,
        contextSize: promptLength + tokens + 16,
        sequences: 1,
        threads: options.threads,
        calibrate: false,
        ...(options.drafterStateDirectory !== undefined ? {drafterStateDirectory: options.drafterStateDirectory} : {})
    };
    // two engines swap levels every pair: with Quality on both, the engine loaded second measured 0.45-1.17x
    // of the first on the 24-layer model, so a fixed assignment would charge that to a level
    const engines = [await DialEngine.load(engineOptions), await DialEngine.load(engineOptions)];
    const fromStore = engines.map((engine) => engine.drafterState.restored);
    log(`drafters start ${fromStore.map((restored) => (restored ? "from a stored state" : "from scratch")).join(" and ")}`);
    const levelsFor = (pair: number) => {
        const lossless = engines[pair % 2];
        const quality = engines[(pair + 1) % 2];
        lossless.setSpeed({speed: "Lossless"});
        quality.setSpeed({speed: "Quality"});
        return {quality, lossless};
    };
    try {
        const text = fs.readFileSync(options.textPath ?? DEFAULT_HELDOUT_TEXT, "utf8");
        const all = engines[0].model.tokenize(text, false) as number[];
        // prompts[runs + 1] only warms the second engine up: a prompt an engine has seen is reused from its cache,
        // and llama.cpp evaluates a reused prompt's last token through another kernel path than a whole prompt
        // of 64 tokens or more, whose near-ties can then fall the other way (at either level)
        const prompts = Array.from({length: runs + 2}, (_, i) => {
            const start = (i * promptLength * 2) % Math.max(1, all.length - promptLength);
            return all.slice(start, start + promptLength);
        });
        if (prompts[0].length < promptLength) throw new Error(`The text has only ${all.length} tokens; give a longer --text`);
        const request = (promptTokens: number[]) => ({promptTokens, maxTokens: tokens, stopAtEndOfGeneration: false});

        const qualityRates: number[] = [];
        const losslessRates: number[] = [];
        let identical = true;
        const totals = {speculativeSteps: 0, plainSteps: 0, accepted: 0, judged: 0};
        const depthCounts = new Map<number, number>();
        let warmup = {speedup: 0, fromStore, warmupSteps: 0};
        // pairs 0 and 1 warm both engines up, each drafter measuring every depth once; they are not counted
        for (let pair = -1; pair <= runs; pair++) {
            const {quality, lossless} = levelsFor(pair + 2);
            if (pair === -1) {
                await lossless.generate(request(prompts[runs + 1]));
                continue;
            }
            // which level runs first alternates: the second run of a pair was measured up to 20% faster
            const [expected, result] = await inTurn(
                pair,
                () => quality.generate(request(prompts[pair])),
                () => lossless.generate(request(prompts[pair]))
            );
            identical &&= sameTokens(expected.tokens, result.tokens);
            const speculation = result.timings.speculation;
            log(
                `pair ${pair}${pair === 0 ? " (warm-up)" : ""}: Quality ${expected.timings.decodeTokensPerSecond.toFixed(1)} tok/s, ` +
                    `Lossless ${result.timings.decodeTokensPerSecond.toFixed(1)} tok/s, ` +
                    `${speculation?.speculativeSteps ?? 0} verifies, ${speculation?.plainSteps ?? 0} plain steps, identical ${sameTokens(expected.tokens, result.tokens)}`
            );
            if (pair === 0) {
                const warmupSteps = lossless.drafterState.warmupSteps;
                warmup = {speedup: result.timings.decodeTokensPerSecond / expected.timings.decodeTokensPerSecond, fromStore, warmupSteps};
                log(`warm-up pair: Lossless ÷ Quality ${warmup.speedup.toFixed(3)}x, ${warmupSteps} steps measuring depths`);
                continue;
            }
            qualityRates.push(expected.timings.decodeTokensPerSecond);
            losslessRates.push(result.timings.decodeTokensPerSecond);
            if (speculation != null) {
                totals.speculativeSteps += speculation.speculativeSteps;
                totals.plainSteps += speculation.plainSteps;
                totals.accepted += speculation.acceptedDrafts;
                totals.judged += speculation.judgedDrafts;
                for (const [depth, steps] of Object.entries(speculation.stepsByDepth))
                    depthCounts.set(Number(depth), (depthCounts.get(Number(depth)) ?? 0) + steps);
            }
        }
        const state = engines[0].losslessInfo;

        // each candidate depth with a fixed draft length: its acceptance and step costs, and the cost model's
        // prediction from them against the clock
        const plainSeconds = 1 / spread(qualityRates).median;
        const layerCount = engines[0].profile.shape.layerCount;
        const stops = engines[0].summary({binsDirectory: "", buildType: ""}).stops;
        const depths: DepthMeasurement[] = [];
        for (const candidate of options.sweep === false ? [] : state.depths) {
            const kept = stops.find((stop) => stop.depth === candidate.depth)?.keptLayers;
            if (kept == null) continue;
            const drafter = new FixedDrafter({
                depth: candidate.depth,
                mask: describeKeptLayers(layerCount, kept).skipMask,
                length: sweepLength,
                predictedSpeedup: 1
            });
            let accepted = 0;
            let judged = 0;
            let steps = 0;
            let yielded = 0;
            const ratios: number[] = [];
            const qualitySecondsPerToken: number[] = [];
            let same = true;
            let draftSeconds = 0;
            let drafted = 0;
            let verifySeconds = 0;
            // each run right after a Quality run on the same prompt: the ratio of the two is what a busy machine spoils least
            for (let pair = 1; pair <= runs; pair++) {
                const {quality, lossless} = levelsFor(pair);
                const [plain, result] = await inTurn(
                    pair,
                    () => quality.generate(request(prompts[pair])),
                    () => lossless.generate({...request(prompts[pair]), drafter})
                );
                ratios.push(result.timings.decodeTokensPerSecond / plain.timings.decodeTokensPerSecond);
                qualitySecondsPerToken.push(1 / plain.timings.decodeTokensPerSecond);
                const speculation = result.timings.speculation!;
                accepted += speculation.acceptedDrafts;
                judged += speculation.judgedDrafts;
                steps += speculation.speculativeSteps;
                yielded += speculation.acceptedDrafts + speculation.speculativeSteps;
                draftSeconds += speculation.draftSeconds;
                drafted += speculation.draftedTokens;
                verifySeconds += speculation.verifySeconds;
                // against this pair's own Quality run: both engines have seen this prompt in the pairs above, so
                // each reuses it and evaluates its last token alone, through another kernel than the whole
                // prompt's batch there; a near-tie may fall the other way at either level
                same &&= sameTokens(result.tokens, plain.tokens);
            }
            const acceptanceRate = judged > 0 ? accepted / judged : 0;
            const depthPlainSeconds = spread(qualitySecondsPerToken).median;
            // the verify line through a plain step (one position) and this sweep's verifies (k + 1 positions)
            const verifyLine = fitVerifyCost(
                [
                    {positions: 1, seconds: depthPlainSeconds},
                    {positions: sweepLength + 1, seconds: verifySeconds / steps}
                ],
                0
            )!;
            const costs = {
                plainSeconds: depthPlainSeconds,
                draftSeconds: draftSeconds / drafted,
                verifySeconds: (positions: number) => verifySecondsOf(verifyLine, positions)
            };
            const best = bestDraftLength(acceptanceRate, costs, 8);
            const measurement: DepthMeasurement = {
                depth: candidate.depth,
                acceptanceRate,
                meanTokensPerVerify: steps > 0 ? yielded / steps : 0,
                draftCost: costs.draftSeconds / depthPlainSeconds,
                verifyCost: costs.verifySeconds(sweepLength + 1) / depthPlainSeconds,
                predictedSpeedup: predictedLosslessSpeedup(acceptanceRate, sweepLength, costs),
                bestLength: best.length,
                bestPredictedSpeedup: best.predictedSpeedup,
                measuredSpeedup: spread(ratios).median,
                identicalOutput: same
            };
            identical &&= same;
            depths.push(measurement);
            log(
                `depth ${candidate.depth}/${layerCount}, k=${sweepLength}: acceptance ${acceptanceRate.toFixed(2)}, ${measurement.meanTokensPerVerify.toFixed(2)} tokens/verify, ` +
                    `predicted ${measurement.predictedSpeedup.toFixed(2)}x, measured ${measurement.measuredSpeedup.toFixed(2)}x`
            );
        }

        const mostUsed = [...depthCounts].sort((a, b) => b[1] - a[1])[0];
        return {
            model: path.basename(options.modelPath),
            layerCount,
            compute: engines[0].summary({binsDirectory: "", buildType: ""}).compute.backend,
            threads: engines[0].threads,
            tokens,
            promptTokens: promptLength,
            runs,
            sweepDraftLength: sweepLength,
            qualityTokensPerSecond: qualityRates,
            losslessTokensPerSecond: losslessRates,
            speedup: spread(losslessRates.map((rate, i) => rate / qualityRates[i])),
            warmup,
            identicalOutput: identical,
            drafter: {
                mode: state.mode,
                draftDepth: mostUsed?.[0] ?? null,
                draftLength: state.draftLength,
                acceptanceRate: totals.judged > 0 ? totals.accepted / totals.judged : null,
                meanTokensPerVerify: totals.speculativeSteps > 0 ? (totals.accepted + totals.speculativeSteps) / totals.speculativeSteps : null,
                speculativeSteps: totals.speculativeSteps,
                plainSteps: totals.plainSteps,
                predictedSpeedup: state.predictedSpeedup
            },
            plainSeconds,
            depths,
            seconds: (performance.now() - started) / 1000
        };
    } finally {
        for (const engine of engines) await engine.dispose();
    }
}

/** both results, with the first run first in even pairs and second in odd ones */
async function inTurn<A, B>(pair: number, first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
    if (pair % 2 === 0) {
        const a = await first();
        return [a, await second()];
    }
    const b = await second();
    return [await first(), b];
}

function sameTokens(a: readonly number[], b: readonly number[]): boolean {
    return a.length === b.length && a.every((token, i) => token === b[i]);
}

function spread(values: readonly number[]): Spread {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length / 2;
    const median = sorted.length % 2 === 1 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
    return {median, min: sorted[0], max: sorted[sorted.length - 1]};
}

export function formatLosslessBench(result: LosslessBenchResult): string {
    const d = result.drafter;
    const ms = (seconds: number) => `${(seconds * 1000).toFixed(2)} ms`;
    const lines = [
        `${result.model} (${result.layerCount} layers, ${result.compute}, ${result.threads} threads): ${result.runs} interleaved pairs of ${result.tokens} tokens after a ${result.promptTokens}-token prompt`,
        `Quality  ${result.qualityTokensPerSecond.map((rate) => rate.toFixed(1)).join(", ")} tok/s`,
        `Lossless ${result.losslessTokensPerSecond.map((rate) => rate.toFixed(1)).join(", ")} tok/s`,
        `Lossless ÷ Quality: ${result.speedup.median.toFixed(3)}x (${result.speedup.min.toFixed(3)}-${result.speedup.max.toFixed(3)}); identical output: ${result.identicalOutput ? "yes" : "NO"}`,
        `warm-up pair (first answer after the load, not counted above): ${result.warmup.speedup.toFixed(3)}x, ${result.warmup.warmupSteps} steps measuring depths; ` +
            `drafters started ${result.warmup.fromStore.map((restored) => (restored ? "from a stored state" : "from scratch")).join(" and ")}`,
        `drafter: ${d.mode}, depth ${d.draftDepth ?? "-"}, length ${d.draftLength ?? "-"}, acceptance ${d.acceptanceRate?.toFixed(2) ?? "-"}, ` +
            `${d.meanTokensPerVerify?.toFixed(2) ?? "-"} tokens/verify, ${d.speculativeSteps} verifies + ${d.plainSteps} plain steps, predicted ${d.predictedSpeedup.toFixed(2)}x`
    ];
    if (result.depths.length === 0) return lines.join("\n");
    lines.push(`per-depth sweep, k = ${result.sweepDraftLength}; costs in plain steps (${ms(result.plainSeconds)} each)`);
    lines.push("depth  acceptance  tokens/verify  draft  verify(k+1)  predicted(k)  best k  predicted(best)  measured  identical");
    for (const depth of result.depths)
        lines.push(
            `${String(depth.depth).padStart(5)}  ${depth.acceptanceRate.toFixed(2).padStart(10)}  ${depth.meanTokensPerVerify.toFixed(2).padStart(13)}  ` +
                `${depth.draftCost.toFixed(2).padStart(5)}  ${depth.verifyCost.toFixed(2).padStart(11)}  ` +
                `${depth.predictedSpeedup.toFixed(2).padStart(11)}x  ${String(depth.bestLength).padStart(6)}  ${depth.bestPredictedSpeedup.toFixed(2).padStart(14)}x  ` +
                `${depth.measuredSpeedup.toFixed(2).padStart(7)}x  ${depth.identicalOutput ? "yes" : "NO"}`
        );
    return lines.join("\n");
}
