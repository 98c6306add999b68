// What the bench's measuring processes share: the engine they decode with, and the token ids they feed.
import type {Llama} from "node-llama-cpp";
import {DialEngine} from "../engine/dial-engine.js";
import {loadBenchLlama} from "./load-llama.js";

/** ordinary token ids past the special ones, at most this many of them */
const TOKEN_SPAN = 1000;
const FIRST_TOKEN = 100;

/**
 * The token a measurement feeds at `position` of `sequence`: the same in every process, so runs compare.
 * Inside the model's vocabulary (stories260K has 512 tokens; an id past the end fails the decode).
 */
export function benchTokenAt(sequence: number, position: number, vocabularySize: number): number {
    const span = Math.min(TOKEN_SPAN, vocabularySize - FIRST_TOKEN);
    if (span < 1) throw new Error(`a vocabulary of ${vocabularySize} tokens is too small for the benchmark's token ids (from ${FIRST_TOKEN})`);
    return FIRST_TOKEN + ((sequence * 31 + position * 7) % span);
}

/** the cells a context sized to one measured burst holds: its prompt, its tokens, and 32 to spare */
export function promptSizedCells(promptTokens: number, tokens: number): number {
    return promptTokens + tokens + 32;
}

export type MeasuringEngineOptions = {
    modelPath: string;
    sequences: number;
    threads?: number;
    contextSize?: number;
};

/**
 * The engine a measuring process decodes with: the patched build, the even layer order, no speed
 * calibration of its own (the prediction comes from the bench's), and no Lossless state kept.
 */
export async function loadMeasuringEngine(options: MeasuringEngineOptions): Promise<{llama: Llama; engine: DialEngine}> {
    const {llama, buildInfo, binsDirectory, backend} = await loadBenchLlama();
    const engine = await DialEngine.load({
        llama,
        backend,
        modelPath: options.modelPath,
        calibrate: false,
        threads: options.threads,
        sequences: options.sequences,
        contextSize: options.contextSize,
        buildId: buildInfo?.id ?? binsDirectory,
        strategy: "even",
        drafterStateDirectory: false
    });
    return {llama, engine};
}
