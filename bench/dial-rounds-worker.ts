// Every speed setting of one batch and context, in one process, through the engine's own generation path:
// the settings take turns in rounds, each burst after a short untimed lead-in, so that a setting's rate is
// compared with the 1x rate of the same process. Each process lands on its own memory and cores and runs a
// few percent faster or slower throughout; dividing rates measured in different processes carried that
// into every ratio (10-40% wide intervals on a 2-core machine). Prints one JSON line: DialRoundsMeasurement.
//   tsx bench/dial-rounds-worker.ts '{"modelPath":"...","masks":[[],[0,1,0,...]],"batch":1,"promptTokens":84,"tokens":32,"rounds":3}'
import {readModelProfile} from "../engine/model-profile.js";
import {benchTokenAt, loadMeasuringEngine} from "./measuring-engine.js";

export type DialRoundsRequest = {
    modelPath: string;
    /** one skip mask per setting (1 skips the layer; empty runs every layer) */
    masks: number[][];
    /** sequences decoded side by side, one token each per step */
    batch: number;
    /** prompt tokens per sequence: the same prompts every burst, so the engine reuses their cache */
    promptTokens: number;
    /** tokens each timed burst decodes */
    tokens: number;
    /** how many times every setting is timed */
    rounds: number;
    threads?: number;
    contextSize?: number;
    /** sequences the context holds (at least `batch`). Defaults to `batch`. */
    sequences?: number;
};

export type DialRoundsMeasurement = {
    /** tokens/s per setting (in `masks` order) per round, summed over the batch */
    tokensPerSecond: number[][];
};

const LEAD_IN_TOKENS = 4;

async function measureRounds(request: DialRoundsRequest): Promise<DialRoundsMeasurement> {
    const {llama, engine} = await loadMeasuringEngine({
        modelPath: request.modelPath,
        sequences: Math.max(request.batch, request.sequences ?? request.batch),
        threads: request.threads,
        contextSize: request.contextSize
    });
    const {vocabularySize} = await readModelProfile(request.modelPath);
    const prompts = Array.from({length: request.batch}, (_, sequence) =>
        Array.from({length: request.promptTokens}, (_, i) => benchTokenAt(sequence, i, vocabularySize))
    );
    /** tokens/s of one burst of `batch` concurrent greedy requests, end of generation ignored */
    const burst = async (mask: number[], tokens: number): Promise<number> => {
        const skipLayers = mask.flatMap((skip, layer) => (skip ? [layer] : []));
        engine.setSpeed(skipLayers.length > 0 ? {skipLayers} : {speed: 1});
        const results = await Promise.all(
            prompts.map((promptTokens) => engine.generate({promptTokens, maxTokens: tokens + 1, temperature: 0, stopAtEndOfGeneration: false}))
        );
        // every request decodes in each shared step, so one request's rate is the step rate; timed by the
        // clock from its first token to its last, as the user sees it: sampling and the loop's JS included
        const {totalSeconds, firstTokenSeconds, generatedTokens} = results[0].timings;
        return ((generatedTokens - 1) / (totalSeconds - (firstTokenSeconds ?? 0))) * request.batch;
    };

    // warm-up: the prompts' cache, and every setting's decode graph
    for (const mask of request.masks) await burst(mask, LEAD_IN_TOKENS);
    const tokensPerSecond = request.masks.map((): number[] => []);
    const order = request.masks.map((_, index) => index);
    for (let round = 0; round < request.rounds; round++) {
        // every other round backwards, so no setting always follows the same one
        for (const index of round % 2 === 0 ? order : [...order].reverse()) {
            // a setting's first steps after a change ran at another pace (engine-overhead.ts saw the same): untimed
            await burst(request.masks[index], LEAD_IN_TOKENS);
            tokensPerSecond[index].push(await burst(request.masks[index], request.tokens));
        }
    }
    await engine.dispose();
    await llama.dispose();
    return {tokensPerSecond};
}

const request = JSON.parse(process.argv[2] ?? "{}") as DialRoundsRequest;
console.log(JSON.stringify(await measureRounds(request)));
