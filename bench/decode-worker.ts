// One decode-speed measurement in its own process: the patched and the stock binaries ship libraries of
// the same names, so they never share a process. Prints one JSON line: DecodeMeasurement.
//   tsx bench/decode-worker.ts '{"binary":"patched","modelPath":"...","mask":[0,1,...],"batch":1,"tokens":64}'
import {getLlama, LlamaLogLevel, type Llama} from "node-llama-cpp";
import {addonContextOf} from "../engine/native/internals.js";
import {loadBenchLlama} from "./load-llama.js";
import {readModelProfile} from "../engine/model-profile.js";
import {benchTokenAt} from "./measuring-engine.js";

export type DecodeRequest = {
    /** raw decode loops of the patched build or the stock binary, to compare the two binaries alone (the
     *  engine's own path is measured in dial-rounds-worker.ts and engine-overhead.ts) */
    binary: "patched" | "stock";
    modelPath: string;
    /** 1 skips the layer; omitted or empty runs all layers */
    mask?: number[];
    /** sequences decoded side by side, one token each per step */
    batch: number;
    /** decode steps measured (end of generation is not a concern: tokens are fed, not sampled) */
    tokens: number;
    promptTokens?: number;
    threads?: number;
    /** the context's shape; defaults to the engine's (DialEngine): 4096 tokens per sequence, 4 sequences */
    contextSize?: number;
    sequences?: number;
};

export type DecodeMeasurement = DecodeRequest & {
    buildType: string;
    seconds: number;
    /** generated tokens per second, summed over the batch */
    tokensPerSecond: number;
};

async function loadLlama(binary: "patched" | "stock"): Promise<Llama> {
    if (binary === "patched") return (await loadBenchLlama()).llama;
    // the stock prebuilt of the backend the patched build runs on (bench speed --gpu), so the ratio compares binaries, not devices
    const gpu = process.env.LAYER_DIAL_GPU;
    return await getLlama({
        gpu: gpu === "vulkan" || gpu === "cuda" || gpu === "metal" ? gpu : false,
        build: "never",
        usePrebuiltBinaries: true,
        logLevel: LlamaLogLevel.error
    });
}

async function measure(request: DecodeRequest): Promise<DecodeMeasurement> {
    const llama = await loadLlama(request.binary);
    const model = await llama.loadModel({modelPath: request.modelPath});
    const promptTokens = request.promptTokens ?? 16;
    const {vocabularySize} = await readModelProfile(request.modelPath);
    const context = await model.createContext({
        contextSize: request.contextSize ?? 4096,
        sequences: Math.max(request.batch, request.sequences ?? 4),
        batchSize: Math.max(promptTokens * request.batch, 64),
        // node-llama-cpp's default (hardware threads) oversubscribes small machines; both binaries get the same count
        threads: request.threads ?? llama.cpuMathCores
    });
    const addon = addonContextOf(context);
    if (request.mask != null && request.mask.length > 0) addon.setLayerSkip(Uint8Array.from(request.mask));

    addon.initBatch(promptTokens * request.batch);
    for (let sequence = 0; sequence < request.batch; sequence++)
        addon.addToBatch(
            sequence,
            0,
            Uint32Array.from({length: promptTokens}, (_, i) => benchTokenAt(sequence, i, vocabularySize)),
            Uint32Array.of(promptTokens - 1)
        );
    await addon.decodeBatch();

    const decodeStep = async (position: number) => {
        addon.initBatch(request.batch);
        for (let sequence = 0; sequence < request.batch; sequence++)
            addon.addToBatch(sequence, position, Uint32Array.of(benchTokenAt(sequence, position, vocabularySize)), Uint32Array.of(0));
        await addon.decodeBatch();
    };
    await decodeStep(promptTokens); // warm-up: the first step builds the decode graph

    const started = process.hrtime.bigint();
    for (let step = 1; step <= request.tokens; step++) await decodeStep(promptTokens + step);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;

    const buildType = llama.buildType;
    await context.dispose();
    await model.dispose();
    await llama.dispose();
    return {...request, buildType, seconds, tokensPerSecond: (request.tokens * request.batch) / seconds};
}

const request = JSON.parse(process.argv[2] ?? "{}") as DecodeRequest;
console.log(JSON.stringify(await measure(request)));
