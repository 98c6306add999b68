// layer-dial-bench engine-overhead: what the engine's own path costs at 1x (and, given one, at a dial level's
// mask) against a raw patched decode loop, in one process on the same weights, alternating short bursts of
// each so that a busy machine's drift falls on both alike. The engine burst is DialEngine.generate
// (sampling, the KV ledger, the logits copy, the event-loop hops); the raw burst feeds tokens to the addon
// and reads nothing back. Both are timed by the clock from the first decoded token to the last.
import {addonContextOf} from "../engine/native/internals.js";
import {readModelProfile} from "../engine/model-profile.js";
import {pairedRatioInterval, type MeanInterval} from "../engine/timing-statistics.js";
import {loadMeasuringEngine, promptSizedCells} from "./measuring-engine.js";

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
    /** the cells of the engine's context and of the raw loop's. Defaults to promptSizedCells. */
    contextSize?: number;
    /** the sequences of the engine's context and of the raw loop's (both decode on the first). Defaults to 1. */
    sequences?: number;
    /** the layers a dial level skips: each pair then also times the engine at that level against the raw loop
     *  under the same mask (the prompt through every layer in both, as the engine's "full" prefill). The
     *  engine's own cost per token weighs most where a step is shortest, at the fastest level */
    skipLayers?: number[];
    log?: (line: string) => void;
};

export type EngineOverRaw = {
    engineTokensPerSecond: number[];
    rawTokensPerSecond: number[];
    /** engine ÷ raw within each pair, mean with its 95% interval */
    engineOverRaw: MeanInterval;
};

export type EngineOverheadResult = {
    model: string;
    runs: number;
    tokens: number;
    threads: number;
    contextSize: number;
    engineTokensPerSecond: number[];
    rawTokensPerSecond: number[];
    /** engine ÷ raw within each pair, mean with its 95% interval */
    engineOverRaw: MeanInterval;
    /** the same at the level that skips `skipLayers` (present when they were given) */
    skipping?: EngineOverRaw & {skipLayers: number[]};
};

export async function runEngineOverhead(options: EngineOverheadOptions): Promise<EngineOverheadResult> {
    const runs = options.runs ?? 12;
    const tokens = options.tokens ?? 32;
    const promptTokens = options.promptTokens ?? 16;
    const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
    // ordinary token ids inside the vocabulary (pycode-16L has 260)
    const {vocabularySize} = await readModelProfile(options.modelPath);
    const tokenAt = (salt: number, position: number) => 1 + ((salt * 31 + position * 7) % (vocabularySize - 1));
    const contextSize = options.contextSize ?? promptSizedCells(promptTokens, tokens);
    if (contextSize < promptTokens + tokens + 1)
        throw new RangeError(`a context of ${contextSize} cells cannot hold a prompt of ${promptTokens} tokens and a burst of ${tokens}`);
    const sequences = options.sequences ?? 1;
    const {llama, engine} = await loadMeasuringEngine({modelPath: options.modelPath, sequences, threads: options.threads, contextSize});
    const threads = options.threads ?? llama.cpuMathCores;
    // the raw loop's own context on the engine's weights, shaped like the engine's
    const batchSize = Math.min(contextSize, 512);
    const rawContext = await engine.model.createContext({contextSize, sequences, batchSize, threads, swaFullCache: true});
    const addon = addonContextOf(rawContext);
    const fullMask = new Uint8Array(addon.getLayerSkip().length);
    const skipMask = options.skipLayers !== undefined ? Uint8Array.from(fullMask, (_, layer) => (options.skipLayers!.includes(layer) ? 1 : 0)) : undefined;

    // one prompt for every burst, as the dial's rounds keep theirs: the engine reuses its cache and the raw loop
    // prefills it once, so a long prompt (1,468 tokens took ~11 s through every layer of 36x1024) is not paid
    // again for each burst. Before, each burst had a prompt of its own
    const prompt = Array.from({length: promptTokens}, (_, i) => tokenAt(0, i));
    const engineBurst = async (burstTokens: number, skipping = false): Promise<number> => {
        engine.setSpeed(skipping ? {skipLayers: options.skipLayers!} : {speed: 1});
        const {timings} = await engine.generate({
            promptTokens: prompt,
            maxTokens: burstTokens + 1,
            temperature: 0,
            stopAtEndOfGeneration: false
        });
        return (timings.generatedTokens - 1) / (timings.totalSeconds - (timings.firstTokenSeconds ?? 0));
    };
    let rawPrefilled = false;
    const rawBurst = async (burstTokens: number, skipping = false): Promise<number> => {
        addon.removeTokenCellsFromSequence(0, rawPrefilled ? promptTokens : 0, -1);
        if (!rawPrefilled) {
            addon.setLayerSkip(fullMask);
            // a prompt longer than a batch goes in as several, as the engine's prefill does
            for (let start = 0; start < promptTokens; start += batchSize) {
                const length = Math.min(batchSize, promptTokens - start);
                addon.initBatch(length);
                addon.addToBatch(
                    0,
                    start,
                    Uint32Array.from({length}, (_, i) => prompt[start + i]),
                    Uint32Array.of(length - 1)
                );
                await addon.decodeBatch();
            }
            rawPrefilled = true;
        }
        // the prompt went through every layer, as the engine's "full" prefill
        addon.setLayerSkip(skipping ? skipMask! : fullMask);
        const started = process.hrtime.bigint();
        for (let step = 0; step < burstTokens; step++) {
            addon.initBatch(1);
            addon.addToBatch(0, promptTokens + step, Uint32Array.of(tokenAt(0, promptTokens + step)), Uint32Array.of(0));
            await addon.decodeBatch();
        }
        return burstTokens / (Number(process.hrtime.bigint() - started) / 1e9);
    };

    // warm-up: both build their decode graphs, at each mask
    for (const skipping of skipMask !== undefined ? [false, true] : [false]) {
        await engineBurst(tokens, skipping);
        await rawBurst(tokens, skipping);
    }
    // without a lead-in, a burst's place in its pair moved its rate by ~40% (the second of each pair ran
    // faster, whichever it was; why is not established); an untimed burst just before each timed one, on
    // the same context, removed that pattern
    const engineTimed = async (skipping: boolean) => {
        await engineBurst(4, skipping);
        return await engineBurst(tokens, skipping);
    };
    const rawTimed = async (skipping: boolean) => {
        await rawBurst(4, skipping);
        return await rawBurst(tokens, skipping);
    };
    const levels = (skipMask !== undefined ? [false, true] : [false]).map((skipping) => ({skipping, engine: [] as number[], raw: [] as number[]}));
    for (let run = 0; run < runs; run++) {
        // each pair in the other order from the last, so neither always runs on a warmer machine
        for (const level of run % 2 === 0 ? levels : [...levels].reverse()) {
            if (run % 2 === 0) {
                level.engine.push(await engineTimed(level.skipping));
                level.raw.push(await rawTimed(level.skipping));
            } else {
                level.raw.push(await rawTimed(level.skipping));
                level.engine.push(await engineTimed(level.skipping));
            }
            log(
                `pair ${run + 1}/${runs}${level.skipping ? ` skipping ${options.skipLayers!.length} layers` : ""}: engine ${level.engine.at(-1)!.toFixed(2)} tok/s, raw ${level.raw.at(-1)!.toFixed(2)} tok/s`
            );
        }
    }
    await rawContext.dispose();
    await engine.dispose();
    const overRaw = (level: (typeof levels)[number]): EngineOverRaw => ({
        engineTokensPerSecond: level.engine,
        rawTokensPerSecond: level.raw,
        engineOverRaw: pairedRatioInterval(level.engine, level.raw)
    });
    return {
        model: options.modelPath.split("/").at(-1)!,
        runs,
        tokens,
        threads,
        contextSize,
        ...overRaw(levels[0]),
        ...(levels[1] !== undefined ? {skipping: {skipLayers: options.skipLayers!, ...overRaw(levels[1])}} : {})
    };
}

export function formatEngineOverhead(result: EngineOverheadResult): string {
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    const line = (part: EngineOverRaw) =>
        `engine ${mean(part.engineTokensPerSecond).toFixed(2)} tok/s, raw ${mean(part.rawTokensPerSecond).toFixed(2)} tok/s; ` +
        `engine/raw ${part.engineOverRaw.mean.toFixed(3)} ±${part.engineOverRaw.halfWidth.toFixed(3)} (95%)`;
    return (
        `${result.model}, ${result.threads} threads, ${result.contextSize} cells: ${result.runs} alternating pairs of ${result.tokens}-token bursts in one process\n` +
        `1x: ${line(result)}` +
        (result.skipping !== undefined ? `\nskipping ${result.skipping.skipLayers.length} layers: ${line(result.skipping)}` : "")
    );
}
