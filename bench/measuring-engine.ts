// What the bench's measuring processes share: the engine they decode with, and the token ids they feed.
import type {Llama} from "node-llama-cpp";
import {DialEngine} from "../engine/dial-engine.js";
import {loadBenchLlama} from "./load-llama.js";

const vocabulary = 1000; // ordinary token ids every test vocabulary has

/** the token a measurement feeds at `position` of `sequence`: the same in every process, so runs compare */
export function benchTokenAt(sequence: number, position: number): number {
    return 100 + ((sequence * 31 + position * 7) % vocabulary);
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
