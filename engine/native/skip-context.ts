// A llama.cpp context driven batch by batch: Layer Dial decides which tokens go in each batch, which
// layers run, and reads raw logits. Mask changes and decodes are serialised, since the native mask must
// never change while a decode runs on the worker thread.
import type {LlamaContext, LlamaModel} from "node-llama-cpp";
import {addonContextOf, type AddonContext} from "./internals.js";

export class LayerSkipMaskError extends Error {
    override name = "LayerSkipMaskError";
}

/** a decode stopped by abortDecode(); llama.cpp has dropped the batch's positions from the KV cache */
export class DecodeAbortedError extends Error {
    override name = "DecodeAbortedError";
}

export class LayerSkipUnsupportedError extends Error {
    override name = "LayerSkipUnsupportedError";
}

export type DecodeItem = {
    sequenceId: number;
    /** position of tokens[0] in the sequence */
    firstPosition: number;
    tokens: readonly number[];
    /** which tokens' logits to return (indexes into `tokens`); defaults to the last token only */
    logitIndexes?: readonly number[];
};

/** what to read of each output row: its raw logits; only its most likely token (a greedy decode's
 *  choice, found natively: no copy of the row to JS); or only the tokens sampling at that temperature can
 *  pick (SamplingCandidates, found natively) */
export type Readout = "logits" | "greedyToken" | {samplingTemperature: number};

/** the tokens of a row with (logit - max) / temperature ≥ -25, in token order, and their logits: every
 *  token a temperature sampler gives a weight of at least e^-25 of the best one's (sampler.ts) */
export type SamplingCandidates = {tokens: Uint32Array; logits: Float32Array};

export type ReadoutItem = DecodeItem & {
    /** Defaults to "logits". */
    readout?: Readout;
};

/** one item's output rows, in `logitIndexes` order: `logits` under the "logits" readout, `greedyTokens`
 *  under "greedyToken", `candidates` under a sampling temperature */
export type ItemOutput = {logits: Float32Array[]; greedyTokens: number[]; candidates: SamplingCandidates[]};

export type DecodeOptions = {
    /** aborting it stops the decode, on the worker thread too (DecodeAbortedError) */
    signal?: AbortSignal;
    /** runs once, as soon as the first native batch is queued: work that needs no result of this decode
     *  overlaps it instead of delaying the next one. It must not throw; if it does, the error is raised
     *  after the decode has settled, so no decode is left running behind the queue. */
    whileDecoding?: () => void;
};

export type LayerSkipContextOptions = {
    contextSize: number;
    /** how many sequences the context holds. Defaults to 1. */
    sequences?: number;
    /** the most tokens decoded in one native batch. Defaults to min(contextSize, 512). */
    batchSize?: number;
    /** Defaults to the CPU's math cores (not hardware threads). */
    threads?: number;
};

export class LayerSkipContext {
    readonly layerCount: number;
    readonly batchSize: number;
    readonly contextSize: number;
    readonly sequenceCount: number;
    readonly skipSupported: boolean;
    private readonly addon: AddonContext;
    private queue: Promise<unknown> = Promise.resolve();
    private disposed = false;
    /** the signal of the decode now on the worker thread: its abort stops that decode */
    private decodingSignal: AbortSignal | undefined;
    /** signals that already carry this context's abort listener: one listener per signal, rather than
     *  adding and removing one around every decode (EventTarget's bookkeeping cost tens of µs a token) */
    private readonly listenedSignals = new WeakSet<AbortSignal>();

    private constructor(
        private readonly context: LlamaContext,
        options: Required<Omit<LayerSkipContextOptions, "threads">>
    ) {
        this.addon = addonContextOf(context);
        this.layerCount = this.addon.getLayerSkip().length;
        this.batchSize = options.batchSize;
        this.contextSize = options.contextSize;
        this.sequenceCount = options.sequences;
        this.skipSupported = probeSkipSupport(this.addon);
    }

    static async create(model: LlamaModel, options: LayerSkipContextOptions): Promise<LayerSkipContext> {
        const sequences = options.sequences ?? 1;
        const batchSize = options.batchSize ?? Math.min(options.contextSize, 512);
        const context = await model.createContext({
            contextSize: options.contextSize,
            sequences,
            batchSize,
            // node-llama-cpp's default counts hardware threads; with more threads than cores its spinning
            // thread pool decoded 30x slower on a 2-core machine, so default to the math cores
            threads: options.threads ?? model.llama.cpuMathCores,
            // a sliding-window cache drops old cells, but the KV ledger must be able to remove and
            // recompute any position when the dial turns back, so keep every cell
            swaFullCache: true
        });
        return new LayerSkipContext(context, {contextSize: options.contextSize, sequences, batchSize});
    }

    /** mask[i] = 1 skips layer i from the next decode on; all zeros runs every layer */
    setLayerSkip(mask: Uint8Array | readonly number[]): Promise<void> {
        return this.serialised(async () => {
            const bytes = mask instanceof Uint8Array ? mask : Uint8Array.from(mask);
            if (!this.skipSupported) {
                if (bytes.some((value) => value !== 0))
                    throw new LayerSkipUnsupportedError(
                        "This model's architecture has no layer-skip support in Layer Dial's llama.cpp patch; only the full model (1x) can run"
                    );
                return;
            }
            try {
                this.addon.setLayerSkip(bytes);
            } catch (error) {
                throw new LayerSkipMaskError(`${(error as Error).message} (mask of ${bytes.length} for a ${this.layerCount}-layer model)`);
            }
        });
    }

    /** the threads the next decode uses */
    get threads(): number {
        this.assertUsable();
        return this.addon.getThreads();
    }

    /** changes the decode threads after the decodes already queued, so no threadpool is swapped under a running graph */
    setThreads(threads: number): Promise<void> {
        if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
        return this.serialised(async () => {
            this.addon.setThreads(threads);
        });
    }

    getLayerSkip(): Uint8Array {
        this.assertUsable();
        return this.addon.getLayerSkip();
    }

    /** decodes the items (several sequences may share one batch) and returns, per item, the requested logits rows */
    async decode(items: readonly DecodeItem[], options: DecodeOptions = {}): Promise<Float32Array[][]> {
        const outputs = await this.decodeReadouts(items, options);
        return outputs.map((output) => output.logits);
    }

    /** decode(), reading each item's rows as its `readout` asks */
    decodeReadouts(items: readonly ReadoutItem[], options: DecodeOptions = {}): Promise<ItemOutput[]> {
        return this.serialised(async () => {
            const {signal} = options;
            let whileDecoding = options.whileDecoding;
            const results = items.map((): ItemOutput => ({logits: [], greedyTokens: [], candidates: []}));
            const wanted = items.map((item) => new Set(item.logitIndexes ?? [item.tokens.length - 1]));
            const offsets = items.map(() => 0);

            for (;;) {
                let room = this.batchSize;
                const parts: {item: number; start: number; end: number}[] = [];
                for (let i = 0; i < items.length && room > 0; i++) {
                    const remaining = items[i].tokens.length - offsets[i];
                    if (remaining <= 0) continue;
                    const count = Math.min(remaining, room);
                    parts.push({item: i, start: offsets[i], end: offsets[i] + count});
                    offsets[i] += count;
                    room -= count;
                }
                if (parts.length === 0) break;

                this.addon.initBatch(this.batchSize - room);
                const rows: {item: number; row: number}[] = [];
                for (const part of parts) {
                    const item = items[part.item];
                    const logitIndexes: number[] = [];
                    for (let t = part.start; t < part.end; t++) if (wanted[part.item].has(t)) logitIndexes.push(t - part.start);
                    const batchRows = this.addon.addToBatch(
                        item.sequenceId,
                        item.firstPosition + part.start,
                        Uint32Array.from(item.tokens.slice(part.start, part.end)),
                        Uint32Array.from(logitIndexes)
                    );
                    for (const row of batchRows) rows.push({item: part.item, row});
                }
                if (signal?.aborted) throw new DecodeAbortedError("The decode was aborted before it started");
                if (signal != null) this.listenForAbort(signal);
                // the native flag is cleared when the decode is queued, so an abort from here on reaches it
                const decoding = this.addon.decodeBatch();
                this.decodingSignal = signal;
                let hookError: {error: unknown} | undefined;
                try {
                    whileDecoding?.();
                } catch (error) {
                    hookError = {error};
                }
                whileDecoding = undefined;
                try {
                    await decoding;
                } catch (error) {
                    if ((error as Error).message === "Decoding was aborted") throw new DecodeAbortedError("The decode was aborted");
                    throw error;
                } finally {
                    this.decodingSignal = undefined;
                }
                if (hookError != null) throw hookError.error;
                for (const {item, row} of rows) {
                    const readout = items[item].readout ?? "logits";
                    if (readout === "logits") results[item].logits.push(this.addon.getLogits(row));
                    else if (readout === "greedyToken") results[item].greedyTokens.push(this.addon.getGreedyToken(row));
                    else results[item].candidates.push(this.addon.getSamplingCandidates(row, readout.samplingTemperature));
                }
            }
            return results;
        });
    }

    /** forgets positions [start, end) of a sequence (end -1: to the end) */
    removeTokens(sequenceId: number, start: number, end = -1): Promise<void> {
        return this.serialised(async () => {
            if (!this.addon.removeTokenCellsFromSequence(sequenceId, start, end))
                throw new Error(`llama.cpp refused to remove positions ${start}..${end} of sequence ${sequenceId}`);
        });
    }

    async dispose(): Promise<void> {
        if (this.disposed) return;
        this.disposed = true;
        await this.queue.catch(() => undefined);
        await this.context.dispose();
    }

    private listenForAbort(signal: AbortSignal) {
        if (this.listenedSignals.has(signal)) return;
        this.listenedSignals.add(signal);
        signal.addEventListener(
            "abort",
            () => {
                if (this.decodingSignal === signal) this.addon.abortDecode();
            },
            {once: true}
        );
    }

    private serialised<T>(work: () => Promise<T>): Promise<T> {
        this.assertUsable();
        const result = this.queue.then(work, work);
        this.queue = result.catch(() => undefined);
        return result;
    }

    private assertUsable() {
        if (this.disposed) throw new Error("This LayerSkipContext is disposed");
    }
}

function probeSkipSupport(addon: AddonContext): boolean {
    try {
        addon.setLayerSkip(new Uint8Array(0));
        return true;
    } catch {
        return false;
    }
}
