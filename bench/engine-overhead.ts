// layer-dial-bench engine-overhead: what the engine's own path costs at 1x against a raw patched decode
// loop, in one process on the same weights, alternating short bursts of each so that a busy machine's
// drift falls on both alike. The engine burst is DialEngine.generate (sampling, the KV ledger, the logits
// copy, the event-loop hops); the raw burst feeds tokens to the addon and reads nothing back. Both are
// timed by the clock from the first decoded token to the last.
import {addonContextOf} from "../engine/native/internals.js";
import {readModelProfile} from "../engine/model-profile.js";
import {pairedRatioInterval, type MeanInterval} from "../engine/timing-statistics.js";
import {loadMeasuringEngine} from "./measuring-engine.js";

export type EngineOverheadOptions = {
    modelPath: string;
    /** alternating pairs of bursts. Defaults to 12. */
    runs?: number;
    /** tokens per burst. Defaults to 32. */
    tokens?: number;
    /** prompt tokens before each burst (the context it decodes at). Defaults to 16. */
    promptTokens?: number;
    /** Defaults to the CPU's math cores (the engine's default). */
    threads?: number;
    log?: (line: string) => void;
};

export type EngineOverheadResult = {
    model: string;
    runs: number;
    tokens: number;
    threads: number;
    engineTokensPerSecond: number[];
    rawTokensPerSecond: number[];
    /** engine ÷ raw within each pair, mean with its 95% interval */
    engineOverRaw: MeanInterval;
};

export async function runEngineOverhead(options: EngineOverheadOptions): Promise<EngineOverheadResult> {
    const runs = options.runs ?? 12;
    const tokens = options.tokens ?? 32;
    const promptTokens = options.promptTokens ?? 16;
    const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
    // ordinary token ids inside the vocabulary (pycode-16L has 260)
    const {vocabularySize} = await readModelProfile(options.modelPath);
    const tokenAt = (salt: number, position: number) => 1 + ((salt * 31 + position * 7) % (vocabularySize - 1));
    const contextSize = promptTokens + tokens + 32;
    const {llama, engine} = await loadMeasuringEngine({modelPath: options.modelPath, sequences: 1, threads: options.threads, contextSize});
    const threads = options.threads ?? llama.cpuMathCores;
    // the raw loop's own context on the engine's weights, shaped like the engine's
    const rawContext = await engine.model.createContext({contextSize, sequences: 1, batchSize: Math.min(contextSize, 512), threads, swaFullCache: true});
    const addon = addonContextOf(rawContext);

    const engineBurst = async (salt: number, burstTokens: number): Promise<number> => {
        const {timings} = await engine.generate({
            promptTokens: Array.from({length: promptTokens}, (_, i) => tokenAt(salt, i)),
            maxTokens: burstTokens + 1,
            temperature: 0,
            stopAtEndOfGeneration: false
        });
        return (timings.generatedTokens - 1) / (timings.totalSeconds - (timings.firstTokenSeconds ?? 0));
    };
    const rawBurst = async (salt: number, burstTokens: number): Promise<number> => {
        addon.removeTokenCellsFromSequence(0, 0, -1);
        addon.initBatch(promptTokens);
        addon.addToBatch(
            0,
            0,
            Uint32Array.from({length: promptTokens}, (_, i) => tokenAt(salt, i)),
            Uint32Array.of(promptTokens - 1)
        );
        await addon.decodeBatch();
        const started = process.hrtime.bigint();
        for (let step = 0; step < burstTokens; step++) {
            addon.initBatch(1);
            addon.addToBatch(0, promptTokens + step, Uint32Array.of(tokenAt(salt, promptTokens + step)), Uint32Array.of(0));
            await addon.decodeBatch();
        }
        return burstTokens / (Number(process.hrtime.bigint() - started) / 1e9);
    };

    await engineBurst(1000, tokens); // warm-up: both build their decode graphs
    await rawBurst(1000, tokens);
    // without a lead-in, a burst's place in its pair moved its rate by ~40% (the second of each pair ran
    // faster, whichever it was; why is not established); an untimed burst just before each timed one, on
    // the same context, removed that pattern
    const engineTimed = async (salt: number) => {
        await engineBurst(salt + 5000, 4);
        return await engineBurst(salt, tokens);
    };
    const rawTimed = async (salt: number) => {
        await rawBurst(salt + 5000, 4);
        return await rawBurst(salt, tokens);
    };
    const engineRates: number[] = [];
    const rawRates: number[] = [];
    for (let run = 0; run < runs; run++) {
        // each pair in the other order from the last, so neither always runs on a warmer machine
        if (run % 2 === 0) {
            engineRates.push(await engineTimed(run));
            rawRates.push(await rawTimed(run));
        } else {
            rawRates.push(await rawTimed(run));
            engineRates.push(await engineTimed(run));
        }
        log(`pair ${run + 1}/${runs}: engine ${engineRates.at(-1)!.toFixed(2)} tok/s, raw ${rawRates.at(-1)!.toFixed(2)} tok/s`);
    }
    await rawContext.dispose();
    await engine.dispose();
    return {
        model: options.modelPath.split("/").at(-1)!,
        runs,
        tokens,
        threads,
        engineTokensPerSecond: engineRates,
        rawTokensPerSecond: rawRates,
        engineOverRaw: pairedRatioInterval(engineRates, rawRates)
    };
}

export function formatEngineOverhead(result: EngineOverheadResult): string {
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    return (
        `${result.model}, ${result.threads} threads: ${result.runs} alternating pairs of ${result.tokens}-token bursts in one process\n` +
        `engine ${mean(result.engineTokensPerSecond).toFixed(2)} tok/s, raw ${mean(result.rawTokensPerSecond).toFixed(2)} tok/s; ` +
        `engine/raw ${result.engineOverRaw.mean.toFixed(3)} ±${result.engineOverRaw.halfWidth.toFixed(3)} (95%)`
    );
}
