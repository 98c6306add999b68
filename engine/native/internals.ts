// The one adapter that reaches into node-llama-cpp's internals. Everything else in Layer Dial goes
// through the typed surface below. If node-llama-cpp changes these internals, only this file changes.
/* eslint-disable @typescript-eslint/no-explicit-any */
import {createRequire} from "node:module";
import {Llama, LlamaLogLevel, type LlamaContext} from "node-llama-cpp";

/** the methods of the native AddonContext that Layer Dial drives directly (ours are added by native/patches/addon) */
export type AddonContext = {
    initBatch(size: number): void;
    addToBatch(sequenceId: number, firstTokenPosition: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
    decodeBatch(): Promise<void>;
    disposeBatch(): void;
    removeTokenCellsFromSequence(sequenceId: number, start: number, end: number): boolean;
    disposeSequence(sequenceId: number): void;
    setLayerSkip(mask: Uint8Array): void;
    getLayerSkip(): Uint8Array;
    getLogits(batchLogitIndex: number): Float32Array;
    /** ours (native/patches/addon/07): the id of the row's largest logit, the lowest on a tie */
    getGreedyToken(batchLogitIndex: number): number;
    /** ours (native/patches/addon/08): the row's tokens with (logit - max) / temperature ≥ -25, in token order, and their logits */
    getSamplingCandidates(batchLogitIndex: number, temperature: number): {tokens: Uint32Array; logits: Float32Array};
    /** stops the decode in flight; decodeBatch then rejects with "Decoding was aborted" */
    abortDecode(): void;
    getThreads(): number;
    /** during a decode, ours (native/patches/addon/06) records the count and applies it once the decode settles */
    setThreads(threads: number): void;
};

export type NativeBinding = {
    AddonContext: {prototype: Record<string, unknown>};
    /** without a folder: initialise ggml's backend registry; with one: load every ggml backend library in it */
    loadBackends(folder?: string): void;
    /** "vulkan"/"metal" when such a backend is registered, "cuda" when a CUDA device exists, false for the CPU only */
    getGpuType(): string | false | undefined;
    getGpuDeviceInfo(): {deviceNames: string[]};
    /** ours (native/patches/addon/04): the general.architecture names the patched libllama can skip layers of */
    getLayerSkipArchitectures(): string[];
};

export type BuildMetadata = {
    buildOptions: {
        customCmakeOptions: Record<string, string>;
        llamaCpp: {repo: string; release: string};
    };
};

export const layerSkipMethods = ["setLayerSkip", "getLayerSkip", "getLogits", "getGreedyToken", "getSamplingCandidates", "abortDecode"] as const;
/** the module functions our patches add to the binding */
export const layerSkipBindingFunctions = ["getLayerSkipArchitectures"] as const;

/** the binding a Llama was created from (node-llama-cpp keeps it as `_bindings`) */
export function bindingOf(llama: Llama): Partial<NativeBinding> {
    return ((llama as any)._bindings ?? {}) as Partial<NativeBinding>;
}

/** load a llama-addon.node as node-llama-cpp's own loader does: a fresh module instance per Llama */
export function loadBindingModule(bindingPath: string): NativeBinding {
    const require = createRequire(import.meta.url);
    try {
        // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a fresh instance per Llama means forgetting the cached module by its path
        delete require.cache[require.resolve(bindingPath)];
    } catch {
        // not loaded before
    }
    return require(bindingPath) as NativeBinding;
}

export type CreateLlamaOptions = {
    binding: NativeBinding;
    bindingPath: string;
    buildMetadata: BuildMetadata;
    logLevel: LlamaLogLevel;
    maxThreads?: number;
};

/** wraps a loaded binding in node-llama-cpp's Llama class, as getLlama("lastBuild") does for a local build */
export async function createLlamaFromBinding(options: CreateLlamaOptions): Promise<Llama> {
    const llamaClass = Llama as any;
    return (await llamaClass._create({
        bindings: options.binding,
        bindingPath: options.bindingPath,
        extBackendsPath: undefined,
        buildType: "localBuild",
        buildMetadata: options.buildMetadata,
        logLevel: options.logLevel,
        logger: (level: LlamaLogLevel, message: string) => {
            if ((level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) && !isCancelledDecodeReport(message)) console.error(message);
        },
        maxThreads: options.maxThreads,
        vramPadding: (totalVram: number) => Math.floor(Math.min(totalVram * 0.08, 1.6 * 1024 ** 3)),
        ramPadding: (totalRam: number) => Math.floor(Math.min(totalRam * 0.25, 1024 ** 3)),
        debug: false,
        numa: undefined,
        tempDir: false,
        skipLlamaInit: false,
        experimentalOptions: undefined
    })) as Llama;
}

/** llama.cpp reports a decode stopped by the abort callback (GGML_STATUS_ABORTED = 1) as three errors; it is a cancellation */
export function isCancelledDecodeReport(message: string): boolean {
    return /graph_compute_async failed with error 1\b|failed to compute graph, compute status: 1\b|llama_decode: failed to decode, ret = 2\b/.test(message);
}

export function addonContextOf(context: LlamaContext): AddonContext {
    return (context as any)._ctx as AddonContext;
}
