// Runs generation requests that share one context, and so one layer mask: every decode step batches one
// token of each active request. Prompts are evaluated in their own steps, through every layer under the
// "full" prefill policy (as in the paper) or through the dial under "skip".
import type {LlamaModel} from "node-llama-cpp";
import {maskKey} from "../kv-ledger.js";
import {DecodeAbortedError} from "../native/skip-context.js";
import {SkipAwareCache} from "../skip-aware-cache.js";
import {buildPrompt, type PromptRequest} from "./prompt.js";
import {TokenSampler, type SamplingOptions} from "./sampler.js";
import {TextStream} from "./text-stream.js";

export type PrefillPolicy = "full" | "skip";

/** a prompt as text (through the chat template or as completion text), or as tokens built by the caller */
export type GeneratePrompt = PromptRequest | {promptTokens: readonly number[]};

export type GenerateRequest = GeneratePrompt &
    SamplingOptions & {
        /** Defaults to 256. */
        maxTokens?: number;
        /** this request's own layer mask (1 skips the layer); defaults to the dial's, read before every step */
        skipMask?: Uint8Array;
        /** Defaults to the generator's policy. */
        prefill?: PrefillPolicy;
        /** tokens that end generation like end-of-generation tokens (e.g. a fill-in-the-middle end marker) */
        stopTokens?: readonly number[];
        /** called with the text so far after each token; a number ends generation there, keeping that many characters */
        stopAt?: (text: string) => number | undefined;
        /** false keeps decoding past end-of-generation tokens (benchmarks). Defaults to true. */
        stopAtEndOfGeneration?: boolean;
        /** called with each new piece of text as soon as it is complete */
        onText?: (piece: string) => void;
        signal?: AbortSignal;
    };

export type StopReason = "endOfGeneration" | "maxTokens" | "stopString" | "boundary" | "aborted";

export type GenerationTimings = {
    promptTokens: number;
    /** prompt tokens already in the cache from an earlier request */
    reusedPromptTokens: number;
    generatedTokens: number;
    /** cached tokens evaluated again because the dial turned back towards quality */
    recomputedTokens: number;
    promptSeconds: number;
    decodeSeconds: number;
    /** from the request's arrival to its first generated token (queueing and prompt included); null when none came */
    firstTokenSeconds: number | null;
    /** from the request's arrival to its end */
    totalSeconds: number;
    promptTokensPerSecond: number;
    decodeTokensPerSecond: number;
    /** the most requests decoded side by side during this one */
    maxBatch: number;
};

export type GenerationOutput = {
    text: string;
    tokens: number[];
    stopReason: StopReason;
    timings: GenerationTimings;
};

export class PromptTooLongError extends Error {
    override name = "PromptTooLongError";
}

export class GenerationAbortedError extends Error {
    override name = "GenerationAbortedError";
}

type Active = {
    request: GenerateRequest;
    sequenceId: number;
    pending: number[];
    prefilled: boolean;
    sampler: TokenSampler;
    stream: TextStream;
    stopStrings: string[];
    generated: number[];
    /** characters of the text to keep when stopAt ended generation */
    keepCharacters?: number;
    arrived: number;
    timings: GenerationTimings;
    resolve: (output: GenerationOutput) => void;
    reject: (error: Error) => void;
};

export type GeneratorOptions = {
    model: LlamaModel;
    cache: SkipAwareCache;
    /** the dial's mask for decode steps, read before every step so a change applies at once */
    currentMask: () => Uint8Array;
    prefill: () => PrefillPolicy;
};

export class Generator {
    private readonly waiting: Active[] = [];
    private readonly active: Active[] = [];
    private readonly busySequences = new Set<number>();
    private running = false;
    /** which mask group decodes next when requests with different masks run side by side */
    private decodeTurn = 0;
    /** the requests in the native decode now running, and what stops it */
    private inDecode: readonly Active[] = [];
    private decodeAbort: AbortController | undefined;
    private abortedDecodeCount = 0;

    constructor(private readonly options: GeneratorOptions) {}

    get contextSize(): number {
        return this.options.cache.context.contextSize;
    }

    async generate(request: GenerateRequest): Promise<GenerationOutput> {
        const prompt = "promptTokens" in request ? {tokens: [...request.promptTokens], stopStrings: [] as string[]} : buildPrompt(this.options.model, request);
        const maxTokens = request.maxTokens ?? 256;
        if (prompt.tokens.length + 1 > this.contextSize)
            throw new PromptTooLongError(
                `The prompt is ${prompt.tokens.length} tokens; the context holds ${this.contextSize}. Shorten it, or raise the context size.`
            );
        if (request.signal?.aborted) return abortedOutput();

        // caller-built tokens (an inline completion) are text the output continues: detokenized after the
        // prompt's last tokens, a first token "▁there" keeps its space (alone, SentencePiece drops it)
        const continuesFrom = "promptTokens" in request ? prompt.tokens : undefined;
        return await new Promise<GenerationOutput>((resolve, reject) => {
            const entry: Active = {
                request: {...request, maxTokens: Math.min(maxTokens, this.contextSize - prompt.tokens.length)},
                sequenceId: -1,
                pending: prompt.tokens,
                prefilled: false,
                sampler: new TokenSampler(request),
                stream: new TextStream((tokens) =>
                    this.options.model.detokenize(
                        tokens as Parameters<LlamaModel["detokenize"]>[0],
                        false,
                        continuesFrom as Parameters<LlamaModel["detokenize"]>[2]
                    )
                ),
                stopStrings: prompt.stopStrings,
                generated: [],
                arrived: performance.now(),
                timings: emptyTimings(prompt.tokens.length),
                resolve,
                reject
            };
            this.waiting.push(entry);
            this.ensureRunning();
        });
    }

    /** the number of requests running or queued */
    get load(): number {
        return this.waiting.length + this.active.length;
    }

    /** sequences held by running requests (a finished or aborted request frees its own) */
    get busySequenceCount(): number {
        return this.busySequences.size;
    }

    /** native decodes stopped part-way because every request in them was cancelled */
    get abortedDecodes(): number {
        return this.abortedDecodeCount;
    }

    private decodeMaskOf(entry: Active): Uint8Array {
        return entry.request.skipMask ?? this.options.currentMask();
    }

    private prefillMaskOf(entry: Active): Uint8Array {
        const policy = entry.request.prefill ?? this.options.prefill();
        return policy === "full" ? new Uint8Array(this.options.cache.context.layerCount) : this.decodeMaskOf(entry);
    }

    private ensureRunning() {
        if (this.running) return;
        this.running = true;
        void this.run().finally(() => {
            this.running = false;
            // a request may have arrived after the loop saw no work but before it ended
            if (this.waiting.length > 0 || this.active.length > 0) this.ensureRunning();
        });
    }

    private async run(): Promise<void> {
        while (this.waiting.length > 0 || this.active.length > 0) {
            let prefilling: Active[] = [];
            try {
                await this.admitWaiting();
                this.dropAborted();
                // one native batch runs one mask: requests with different masks take turns
                const unprefilled = groupByMask(
                    this.active.filter((entry) => !entry.prefilled),
                    (entry) => this.prefillMaskOf(entry)
                );
                if (unprefilled.length > 0) {
                    prefilling = unprefilled[0].entries;
                    await this.prefillStep(unprefilled[0].mask, prefilling);
                } else if (this.active.length > 0) {
                    const groups = groupByMask(this.active, (entry) => this.decodeMaskOf(entry));
                    const group = groups[this.decodeTurn++ % groups.length];
                    await this.decodeStep(group.mask, group.entries);
                }
            } catch (error) {
                if (error instanceof DecodeAbortedError) {
                    this.abortedDecodeCount++;
                    // only decodes whose every request was cancelled are aborted; anyone else retries the step
                    this.dropAborted();
                    continue;
                }
                const failed = prefilling.length > 0 ? prefilling : [...this.active];
                for (const entry of failed) this.finish(entry, undefined, error as Error);
            }
        }
    }

    private async admitWaiting() {
        const sequenceCount = this.options.cache.context.sequenceCount;
        while (this.waiting.length > 0 && this.busySequences.size < sequenceCount) {
            const entry = this.waiting.shift()!;
            if (entry.request.signal?.aborted) {
                entry.resolve(abortedOutput());
                continue;
            }
            // a request whose every neighbour in the running decode was cancelled stops that decode at once,
            // so a newer keystroke waits for no prompt it no longer needs
            entry.request.signal?.addEventListener("abort", () => this.abortDecodeIfAllCancelled(), {once: true});
            entry.sequenceId = this.pickSequence(entry.pending);
            this.busySequences.add(entry.sequenceId);
            let reused: number;
            try {
                reused = await this.options.cache.reuse(entry.sequenceId, entry.pending);
            } catch (error) {
                // the request is in neither queue yet: without this it would stay pending and hold its sequence for good
                this.finish(entry, undefined, error as Error);
                continue;
            }
            entry.timings.reusedPromptTokens = reused;
            entry.pending = entry.pending.slice(reused);
            this.active.push(entry);
        }
    }

    /** the free sequence whose cache shares the longest prefix with the prompt */
    private pickSequence(prompt: readonly number[]): number {
        let best = -1;
        let bestShared = -1;
        for (let sequenceId = 0; sequenceId < this.options.cache.context.sequenceCount; sequenceId++) {
            if (this.busySequences.has(sequenceId)) continue;
            const shared = this.options.cache.ledger(sequenceId).commonPrefixLength(prompt);
            if (shared > bestShared) {
                best = sequenceId;
                bestShared = shared;
            }
        }
        return best;
    }

    private dropAborted() {
        for (const entry of [...this.active]) if (entry.request.signal?.aborted) this.finish(entry, "aborted");
    }

    private abortDecodeIfAllCancelled() {
        if (this.inDecode.length > 0 && this.inDecode.every((entry) => entry.request.signal?.aborted)) this.decodeAbort?.abort();
    }

    /** one native decode of `entries` under `mask` */
    private async evaluate(mask: Uint8Array, entries: Active[]) {
        this.inDecode = entries;
        this.decodeAbort = new AbortController();
        this.abortDecodeIfAllCancelled();
        try {
            return await this.options.cache.evaluate(
                mask,
                entries.map((entry) => ({sequenceId: entry.sequenceId, tokens: entry.pending})),
                {signal: this.decodeAbort.signal}
            );
        } finally {
            this.inDecode = [];
            this.decodeAbort = undefined;
        }
    }

    private async prefillStep(mask: Uint8Array, entries: Active[]) {
        const started = performance.now();
        const results = await this.evaluate(mask, entries);
        const seconds = (performance.now() - started) / 1000;
        entries.forEach((entry, index) => {
            entry.timings.promptSeconds += seconds;
            entry.timings.recomputedTokens += results[index].recomputed;
            entry.prefilled = true;
            entry.pending = [];
            this.accept(entry, results[index].logits[0]);
        });
    }

    private async decodeStep(mask: Uint8Array, entries: Active[]) {
        const started = performance.now();
        const results = await this.evaluate(mask, entries);
        const seconds = (performance.now() - started) / 1000;
        entries.forEach((entry, index) => {
            entry.timings.decodeSeconds += seconds;
            entry.timings.recomputedTokens += results[index].recomputed;
            entry.timings.maxBatch = Math.max(entry.timings.maxBatch, entries.length);
            entry.pending = [];
            this.accept(entry, results[index].logits[0]);
        });
    }

    /** samples the next token from `logits`, streams it, and either queues it for the next step or finishes */
    private accept(entry: Active, logits: Float32Array) {
        if (entry.request.signal?.aborted) return this.finish(entry, "aborted");

        const token = entry.sampler.sample(logits);
        entry.timings.firstTokenSeconds ??= (performance.now() - entry.arrived) / 1000;
        const stopAtEog = entry.request.stopAtEndOfGeneration ?? true;
        if (stopAtEog && (this.options.model.isEogToken(token as Parameters<LlamaModel["isEogToken"]>[0]) || entry.request.stopTokens?.includes(token)))
            return this.finish(entry, "endOfGeneration");

        entry.generated.push(token);
        entry.timings.generatedTokens++;
        const piece = entry.stream.push(token);
        if (piece.length > 0) safeCall(entry.request.onText, piece);

        if (entry.stopStrings.some((stop) => entry.stream.text.includes(stop))) return this.finish(entry, "stopString");
        const keep = entry.request.stopAt?.(entry.stream.text);
        if (keep != null) {
            entry.keepCharacters = keep;
            return this.finish(entry, "boundary");
        }
        if (entry.generated.length >= (entry.request.maxTokens ?? 256)) return this.finish(entry, "maxTokens");
        entry.pending = [token];
    }

    private finish(entry: Active, stopReason: StopReason | undefined, error?: Error) {
        const index = this.active.indexOf(entry);
        if (index >= 0) this.active.splice(index, 1);
        this.busySequences.delete(entry.sequenceId);

        if (error != null) return entry.reject(error);

        const tail = entry.stream.finish();
        if (tail.length > 0 && stopReason !== "aborted") safeCall(entry.request.onText, tail);
        let text = entry.stream.text;
        if (stopReason === "stopString") for (const stop of entry.stopStrings) if (text.includes(stop)) text = text.slice(0, text.indexOf(stop));
        if (stopReason === "boundary" && entry.keepCharacters != null) text = text.slice(0, entry.keepCharacters);

        const timings = entry.timings;
        timings.totalSeconds = (performance.now() - entry.arrived) / 1000;
        timings.promptTokensPerSecond = timings.promptSeconds > 0 ? (timings.promptTokens - timings.reusedPromptTokens) / timings.promptSeconds : 0;
        // the first generated token comes from the prompt's logits; the others each cost one decode step
        timings.decodeTokensPerSecond = timings.decodeSeconds > 0 ? Math.max(0, timings.generatedTokens - 1) / timings.decodeSeconds : 0;
        entry.resolve({text, tokens: entry.generated, stopReason: stopReason ?? "maxTokens", timings});
    }
}

function emptyTimings(promptTokens: number): GenerationTimings {
    return {
        promptTokens,
        reusedPromptTokens: 0,
        generatedTokens: 0,
        recomputedTokens: 0,
        promptSeconds: 0,
        decodeSeconds: 0,
        firstTokenSeconds: null,
        totalSeconds: 0,
        promptTokensPerSecond: 0,
        decodeTokensPerSecond: 0,
        maxBatch: 1
    };
}

function abortedOutput(): GenerationOutput {
    return {text: "", tokens: [], stopReason: "aborted", timings: emptyTimings(0)};
}

type MaskGroup = {mask: Uint8Array; entries: Active[]};

/** entries that share a layer mask, in order of first appearance */
function groupByMask(entries: readonly Active[], maskOf: (entry: Active) => Uint8Array): MaskGroup[] {
    const groups = new Map<string, MaskGroup>();
    for (const entry of entries) {
        const mask = maskOf(entry);
        const key = maskKey(mask);
        const group = groups.get(key);
        if (group != null) group.entries.push(entry);
        else groups.set(key, {mask, entries: [entry]});
    }
    return [...groups.values()];
}

/** a throwing user callback must not break the loop that serves every request */
function safeCall(callback: ((piece: string) => void) | undefined, piece: string) {
    try {
        callback?.(piece);
    } catch (error) {
        console.error("Layer Dial: an onText callback threw", error);
    }
}
