// Runs generation requests that share one context, and so one layer mask: every decode step batches one
// token of each active request. Prompts are evaluated in their own steps, through every layer under the
// "full" prefill policy (as in the paper) or through the dial under "skip". A request at the Lossless
// level decodes self-speculatively instead: a drafter's skip mask drafts a few tokens, every layer
// verifies them in one batch, and the output is the full model's (speculativeStep).
import type {LlamaModel} from "node-llama-cpp";
import {maskKey} from "../kv-ledger.js";
import {DecodeAbortedError, type Readout} from "../native/skip-context.js";
import {SkipAwareCache, type CacheEvaluation, type CacheEvaluationResult} from "../skip-aware-cache.js";
import type {Drafter} from "./drafter.js";
import {buildPrompt, type PromptRequest} from "./prompt.js";
import {TokenSampler, type SamplingOptions, type TokenDistribution} from "./sampler.js";
import {judgeDraftToken} from "./speculative-sampling.js";
import {modelDetokenize, TextStream} from "./text-stream.js";

export type PrefillPolicy = "full" | "skip";

/** a prompt as text (through the chat template or as completion text), or as tokens built by the caller */
export type GeneratePrompt = PromptRequest | {promptTokens: readonly number[]};

export type GenerateRequest = GeneratePrompt &
    SamplingOptions & {
        /** Defaults to 256. */
        maxTokens?: number;
        /** this request's own layer mask (1 skips the layer); defaults to the dial's, read before every step */
        skipMask?: Uint8Array;
        /** decode self-speculatively with this drafter (the output is the full model's), instead of under
         *  `skipMask`; defaults to the dial's drafter when the dial is at Lossless */
        drafter?: Drafter;
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
        /** called with each generated token as soon as it is chosen, before its text is made (the speed
         *  calibration times the engine's steps by it) */
        onToken?: (token: number) => void;
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
    /** from the first generated token to the last, by the clock: every step between them, as the user waits
     *  for it (the engine's own work between decodes, and other requests' prompts batched in, included) */
    decodeSeconds: number;
    /** from the request's arrival to its first generated token (queueing and prompt included); null when none came */
    firstTokenSeconds: number | null;
    /** from the request's arrival to its end */
    totalSeconds: number;
    promptTokensPerSecond: number;
    decodeTokensPerSecond: number;
    /** the most requests decoded side by side during this one */
    maxBatch: number;
    /** present when a drafter decoded any step of this request (the Lossless level) */
    speculation?: SpeculationTimings;
};

/** what self-speculative decoding did for one request */
export type SpeculationTimings = {
    /** steps that drafted and verified */
    speculativeSteps: number;
    /** steps the drafter decoded plainly, because drafting did not pay (or to measure the plain cost) */
    plainSteps: number;
    draftedTokens: number;
    /** drafts the full model judged: the accepted ones and the first rejected one of each step */
    judgedDrafts: number;
    acceptedDrafts: number;
    draftSeconds: number;
    verifySeconds: number;
    /** speculative steps per draft depth */
    stepsByDepth: Record<number, number>;
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
    /** generated tokens not yet turned into text: streamed while the next decode runs (see streamPending) */
    unstreamed: number[];
    /** resolved or rejected; a decode still running for it is ignored, or aborted when nobody else needs it */
    finished: boolean;
    /** characters of the text to keep when stopAt ended generation */
    keepCharacters?: number;
    arrived: number;
    /** performance.now() when the first and the latest generated token came (decodeSeconds spans them) */
    firstGeneratedAt?: number;
    lastGeneratedAt?: number;
    timings: GenerationTimings;
    resolve: (output: GenerationOutput) => void;
    reject: (error: Error) => void;
};

export type GeneratorOptions = {
    model: LlamaModel;
    cache: SkipAwareCache;
    /** the dial's mask for decode steps, read before every step so a change applies at once */
    currentMask: () => Uint8Array;
    /** the dial's drafter while it is at Lossless, read before every step; undefined decodes under currentMask */
    currentDrafter?: () => Drafter | undefined;
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
    /** whether the abort of the running decode came from a cancellation (counted), not from its requests
     *  all having finished (a stop string found while it ran) */
    private decodeAbortCancelled = false;
    private abortedDecodeCount = 0;
    private fullLayerMask: Uint8Array | undefined;

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
                stream: new TextStream(modelDetokenize(this.options.model), continuesFrom),
                stopStrings: prompt.stopStrings,
                generated: [],
                unstreamed: [],
                finished: false,
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

    private drafterOf(entry: Active): Drafter | undefined {
        if (entry.request.drafter != null) return entry.request.drafter;
        if (entry.request.skipMask != null) return undefined;
        return this.options.currentDrafter?.();
    }

    /** a speculative request's output comes from every layer: its prompt and its cache are the full model's */
    private decodeMaskOf(entry: Active): Uint8Array {
        if (this.drafterOf(entry) != null) return this.fullMask();
        return entry.request.skipMask ?? this.options.currentMask();
    }

    /** one all-zeros mask for every full-layer step (nothing writes to a mask it is given) */
    private fullMask(): Uint8Array {
        this.fullLayerMask ??= new Uint8Array(this.options.cache.context.layerCount);
        return this.fullLayerMask;
    }

    private prefillMaskOf(entry: Active): Uint8Array {
        const policy = entry.request.prefill ?? this.options.prefill();
        return policy === "full" ? this.fullMask() : this.decodeMaskOf(entry);
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
                // most steps have nobody waiting: no await (and no promise hop) for them
                if (this.waiting.length > 0) await this.admitWaiting();
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
                    const groups = groupByDecoding(
                        this.active,
                        (entry) => this.decodeMaskOf(entry),
                        (entry) => this.drafterOf(entry)
                    );
                    const group = groups[this.decodeTurn++ % groups.length];
                    if (group.drafter != null) await this.speculativeStep(group.drafter, group.entries);
                    else await this.decodeStep(group.mask, group.entries);
                }
            } catch (error) {
                if (error instanceof DecodeAbortedError) {
                    if (this.decodeAbortCancelled) this.abortedDecodeCount++;
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
            entry.request.signal?.addEventListener("abort", () => this.abortDecodeIfUnneeded(), {once: true});
            entry.sequenceId = this.pickSequence(entry.pending);
            this.busySequences.add(entry.sequenceId);
            let reused: number;
            try {
                reused = await this.options.cache.reuse(entry.sequenceId, entry.pending, this.prefillMaskOf(entry));
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
        if (!this.active.some((entry) => entry.request.signal?.aborted)) return;
        for (const entry of [...this.active]) if (entry.request.signal?.aborted) this.finish(entry, "aborted");
    }

    /** stops the running decode when none of its requests still wants it: each was cancelled or has finished */
    private abortDecodeIfUnneeded() {
        if (this.inDecode.length === 0 || !this.inDecode.every((entry) => entry.finished || entry.request.signal?.aborted)) return;
        this.decodeAbortCancelled = this.inDecode.some((entry) => entry.request.signal?.aborted);
        this.decodeAbort?.abort();
    }

    /** one native decode of `entries` under `mask`: their pending tokens, or `items` (one per entry) */
    private async evaluate(mask: Uint8Array, entries: Active[], items?: CacheEvaluation[]) {
        this.inDecode = entries;
        // one controller serves step after step until a cancellation uses it, rather than a new one (and its
        // signal and listeners) for every token
        if (this.decodeAbort == null || this.decodeAbort.signal.aborted) this.decodeAbort = new AbortController();
        this.abortDecodeIfUnneeded();
        try {
            const evaluations =
                items?.map((item, index) => ({...item, readout: readoutOf(entries[index])})) ??
                entries.map((entry) => ({sequenceId: entry.sequenceId, tokens: entry.pending, readout: readoutOf(entry)}));
            return await this.options.cache.evaluate(mask, evaluations, {signal: this.decodeAbort.signal, whileDecoding: this.streamPending});
        } finally {
            this.inDecode = [];
        }
    }

    private async prefillStep(mask: Uint8Array, entries: Active[]) {
        const started = performance.now();
        const results = await this.evaluate(mask, entries);
        const seconds = (performance.now() - started) / 1000;
        entries.forEach((entry, index) => {
            if (entry.finished) return;
            entry.timings.promptSeconds += seconds;
            entry.timings.recomputedTokens += results[index].recomputed;
            entry.prefilled = true;
            entry.pending = [];
            this.accept(entry, results[index]);
        });
    }

    /** one plain decode step; returns its time and whether anything was recomputed in it */
    private async decodeStep(mask: Uint8Array, entries: Active[]): Promise<{seconds: number; recomputed: number}> {
        const started = performance.now();
        const results = await this.evaluate(mask, entries);
        const seconds = (performance.now() - started) / 1000;
        entries.forEach((entry, index) => {
            if (entry.finished) return;
            entry.timings.recomputedTokens += results[index].recomputed;
            entry.timings.maxBatch = Math.max(entry.timings.maxBatch, entries.length);
            entry.pending = [];
            this.accept(entry, results[index]);
        });
        return {seconds, recomputed: results.reduce((sum, result) => sum + result.recomputed, 0)};
    }

    /**
     * One self-speculative step for requests that share a drafter: draft k tokens under the drafter's
     * mask (written to the cache like any decode), evaluate the step's first token and the drafts again
     * through every layer in one batch, keep the longest prefix the full model agrees with plus the full
     * model's own next token, and remove the rejected positions. The step ends with every cached position
     * of these sequences computed through every layer; a cancellation or error rolls back to where it began.
     */
    private async speculativeStep(drafter: Drafter, entries: Active[]) {
        const choice = drafter.nextDraft();
        for (const entry of entries) entry.timings.speculation ??= emptySpeculation();
        if (choice == null) {
            const {seconds, recomputed} = await this.decodeStep(this.fullMask(), entries);
            for (const entry of entries) entry.timings.speculation!.plainSteps++;
            drafter.observe({kind: "plain", seconds, comparable: entries.length === 1 && recomputed === 0});
            return;
        }

        const stepStarted = performance.now();
        const cache = this.options.cache;
        const starts = new Map(entries.map((entry) => [entry, cache.ledger(entry.sequenceId).length]));
        const drafts = new Map(entries.map((entry) => [entry, {tokens: [] as number[], distributions: [] as TokenDistribution[]}]));
        const lastToken = (entry: Active) => drafts.get(entry)!.tokens.at(-1) ?? entry.pending[0];
        const room = (entry: Active) => Math.min(choice.length, this.draftRoom(entry, starts.get(entry)!));
        let draftSeconds = 0;
        let draftSteps = 0;
        let recomputed = 0;
        try {
            let drafting = entries.filter((entry) => room(entry) > 0);
            while (drafting.length > 0) {
                const started = performance.now();
                const results = await this.evaluate(
                    choice.mask,
                    drafting,
                    drafting.map((entry) => ({sequenceId: entry.sequenceId, tokens: [lastToken(entry)]}))
                );
                draftSeconds += (performance.now() - started) / 1000;
                draftSteps++;
                drafting.forEach((entry, index) => {
                    recomputed += results[index].recomputed;
                    entry.timings.recomputedTokens += results[index].recomputed;
                    const draft = drafts.get(entry)!;
                    if (entry.sampler.greedy) draft.tokens.push(results[index].greedyTokens[0]);
                    else {
                        const distribution = entry.sampler.distribution(results[index].candidates[0]);
                        draft.distributions.push(distribution);
                        draft.tokens.push(entry.sampler.draw(distribution));
                    }
                });
                // a draft that ends the answer needs no draft after it
                drafting = drafting.filter(
                    (entry) =>
                        !entry.finished &&
                        !entry.request.signal?.aborted &&
                        drafts.get(entry)!.tokens.length < room(entry) &&
                        !this.endsGeneration(entry, lastToken(entry))
                );
            }

            // a request cancelled, or finished by a stop string its earlier tokens held, drops its drafts
            for (const entry of entries.filter((candidate) => candidate.finished || candidate.request.signal?.aborted)) {
                await cache.truncate(entry.sequenceId, starts.get(entry)!);
                this.finish(entry, "aborted");
            }
            const verifying = entries.filter((entry) => !entry.finished);
            if (verifying.length === 0) return;

            // the draft's positions lack the skipped layers' KV: forget them and evaluate the step's first
            // token and every draft again, through every layer, in one batch
            for (const entry of verifying) await cache.truncate(entry.sequenceId, starts.get(entry)!);
            const started = performance.now();
            const results = await this.evaluate(
                this.fullMask(),
                verifying,
                verifying.map((entry) => {
                    const tokens = [entry.pending[0], ...drafts.get(entry)!.tokens];
                    return {sequenceId: entry.sequenceId, tokens, logitIndexes: tokens.map((_, index) => index)};
                })
            );
            const verifySeconds = (performance.now() - started) / 1000;

            for (const [index, entry] of verifying.entries()) {
                if (entry.finished) {
                    await cache.truncate(entry.sequenceId, starts.get(entry)!);
                    continue;
                }
                recomputed += results[index].recomputed;
                entry.timings.recomputedTokens += results[index].recomputed;
                const draft = drafts.get(entry)!;
                const {accepted, next} = judgeDrafts(entry.sampler, draft.tokens, draft.distributions, results[index]);
                // the rejected drafts' positions go; the step's first token and the accepted drafts stay
                await cache.truncate(entry.sequenceId, starts.get(entry)! + 1 + accepted);

                const speculation = entry.timings.speculation!;
                speculation.speculativeSteps++;
                speculation.draftedTokens += draft.tokens.length;
                speculation.judgedDrafts += accepted + (accepted < draft.tokens.length ? 1 : 0);
                speculation.acceptedDrafts += accepted;
                speculation.draftSeconds += draftSeconds;
                speculation.verifySeconds += verifySeconds;
                speculation.stepsByDepth[choice.depth] = (speculation.stepsByDepth[choice.depth] ?? 0) + 1;
                entry.timings.maxBatch = Math.max(entry.timings.maxBatch, verifying.length);
                drafter.observe({
                    kind: "speculative",
                    depth: choice.depth,
                    judged: accepted + (accepted < draft.tokens.length ? 1 : 0),
                    accepted,
                    draftSteps,
                    draftSeconds,
                    verifyPositions: draft.tokens.length + 1,
                    verifySeconds,
                    stepSeconds: (performance.now() - stepStarted) / 1000,
                    comparable: entries.length === 1 && recomputed === 0
                });

                entry.pending = [];
                for (const token of [...draft.tokens.slice(0, accepted), next]) if (!this.emit(entry, token)) break;
            }
        } catch (error) {
            // nothing drafted may stay: every sequence of the step goes back to where the step began, and a
            // request that is still running decodes the step again from there
            for (const entry of entries) await cache.truncate(entry.sequenceId, starts.get(entry)!).catch(() => undefined);
            throw error;
        }
    }

    /** drafts that fit: the step emits at most drafts + 1 tokens, and the verify writes drafts + 1 positions */
    private draftRoom(entry: Active, start: number): number {
        const remaining = (entry.request.maxTokens ?? 256) - entry.generated.length;
        return Math.min(remaining - 1, this.contextSize - start - 1);
    }

    private endsGeneration(entry: Active, token: number): boolean {
        const stopAtEog = entry.request.stopAtEndOfGeneration ?? true;
        return (
            stopAtEog &&
            (this.options.model.isEogToken(token as Parameters<LlamaModel["isEogToken"]>[0]) || (entry.request.stopTokens?.includes(token) ?? false))
        );
    }

    /** samples the next token from a step's output row, streams it, and either queues it for the next step or finishes */
    private accept(entry: Active, result: CacheEvaluationResult) {
        if (entry.request.signal?.aborted) return this.finish(entry, "aborted");
        this.emit(entry, entry.sampler.greedy ? result.greedyTokens[0] : entry.sampler.sample(result.candidates[0]));
    }

    /**
     * Queues `token` for the next step; false when it finished the request. Its text comes later, from
     * streamPending while the next decode runs: detokenizing, the onText callback and the stop checks then
     * cost the decode loop nothing. A stop string found there ends the request with the same tokens and
     * text as if it had been found here; the step decoded meanwhile is dropped (see abortDecodeIfUnneeded).
     */
    private emit(entry: Active, token: number): boolean {
        if (entry.request.signal?.aborted) {
            this.finish(entry, "aborted");
            return false;
        }
        entry.timings.firstTokenSeconds ??= (performance.now() - entry.arrived) / 1000;
        if (this.endsGeneration(entry, token)) {
            this.finish(entry, "endOfGeneration");
            return false;
        }

        entry.generated.push(token);
        entry.timings.generatedTokens++;
        entry.lastGeneratedAt = performance.now();
        entry.firstGeneratedAt ??= entry.lastGeneratedAt;
        safeCall(entry.request.onToken, token, "onToken");
        entry.unstreamed.push(token);
        if (entry.generated.length >= (entry.request.maxTokens ?? 256)) {
            this.finish(entry, "maxTokens");
            return false;
        }
        entry.pending = [token];
        return true;
    }

    /** streams every running request's unstreamed tokens; runs while a native decode computes (a bound
     *  function, so no closure is made for each decode) */
    private readonly streamPending = () => {
        for (const entry of [...this.active]) {
            if (entry.unstreamed.length === 0) continue;
            let stop: StopReason | undefined;
            try {
                stop = this.streamText(entry, true);
            } catch (error) {
                this.finish(entry, undefined, error as Error);
                continue;
            }
            if (stop != null) this.finish(entry, stop);
        }
        this.abortDecodeIfUnneeded();
    };

    /**
     * Turns the entry's unstreamed tokens into text, in order, announcing each piece when `announce`; at a
     * stop string or a stopAt boundary it stops, forgets the tokens after that one, and returns why.
     */
    private streamText(entry: Active, announce: boolean): StopReason | undefined {
        const tokens = entry.unstreamed;
        entry.unstreamed = [];
        for (const [index, token] of tokens.entries()) {
            const piece = entry.stream.push(token);
            if (!announce) continue;
            if (piece.length > 0) safeCall(entry.request.onText, piece);
            let stop: StopReason | undefined;
            if (entry.stopStrings.some((stopString) => entry.stream.text.includes(stopString))) stop = "stopString";
            else {
                const keep = entry.request.stopAt?.(entry.stream.text);
                if (keep != null) {
                    entry.keepCharacters = keep;
                    stop = "boundary";
                }
            }
            if (stop != null) {
                const dropped = tokens.length - index - 1;
                entry.generated.length -= dropped;
                entry.timings.generatedTokens -= dropped;
                return stop;
            }
        }
        return undefined;
    }

    private finish(entry: Active, stopReason: StopReason | undefined, error?: Error) {
        if (entry.finished) return;
        entry.finished = true;
        const index = this.active.indexOf(entry);
        if (index >= 0) this.active.splice(index, 1);
        this.busySequences.delete(entry.sequenceId);

        if (error == null && entry.unstreamed.length > 0) {
            try {
                // a cancelled request's text holds its tokens, but nothing more is announced or checked
                const stop = this.streamText(entry, stopReason !== "aborted");
                if (stop != null) stopReason = stop;
            } catch (streamError) {
                error = streamError as Error;
            }
        }
        if (error != null) return entry.reject(error);

        const tail = entry.stream.finish();
        if (tail.length > 0 && stopReason !== "aborted") safeCall(entry.request.onText, tail);
        let text = entry.stream.text;
        if (stopReason === "stopString") for (const stop of entry.stopStrings) if (text.includes(stop)) text = text.slice(0, text.indexOf(stop));
        if (stopReason === "boundary" && entry.keepCharacters != null) text = text.slice(0, entry.keepCharacters);

        const timings = entry.timings;
        timings.totalSeconds = (performance.now() - entry.arrived) / 1000;
        timings.decodeSeconds = ((entry.lastGeneratedAt ?? 0) - (entry.firstGeneratedAt ?? 0)) / 1000;
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
type DecodeGroup = MaskGroup & {drafter?: Drafter};

/** entries that decode alike: under one mask, or speculatively with one drafter; in order of first appearance */
function groupByDecoding(entries: readonly Active[], maskOf: (entry: Active) => Uint8Array, drafterOf: (entry: Active) => Drafter | undefined): DecodeGroup[] {
    // one request, the commonest case, is one group: no key to build between two of its decodes
    if (entries.length === 1) return [{mask: maskOf(entries[0]), drafter: drafterOf(entries[0]), entries: [entries[0]]}];
    const groups = new Map<unknown, DecodeGroup>();
    for (const entry of entries) {
        const drafter = drafterOf(entry);
        const mask = maskOf(entry);
        const key = drafter ?? maskKey(mask);
        const group = groups.get(key);
        if (group != null) group.entries.push(entry);
        else groups.set(key, {mask, drafter, entries: [entry]});
    }
    return [...groups.values()];
}

/**
 * How many drafts the full model keeps, and the token that follows them: at temperature 0 the drafts that
 * equal the full model's greedy choice, then that choice; else speculative sampling's accept/reject rule,
 * which makes every token a draw from the full model's distribution. `full` has one row per draft and one
 * more, after the last draft (greedy tokens at temperature 0, else sampling candidates: see readoutOf).
 */
function judgeDrafts(
    sampler: TokenSampler,
    drafts: readonly number[],
    draftDistributions: readonly TokenDistribution[],
    full: CacheEvaluationResult
): {accepted: number; next: number} {
    if (sampler.greedy) {
        for (let index = 0; index < drafts.length; index++)
            if (full.greedyTokens[index] !== drafts[index]) return {accepted: index, next: full.greedyTokens[index]};
        return {accepted: drafts.length, next: full.greedyTokens[drafts.length]};
    }
    for (let index = 0; index < drafts.length; index++) {
        const verdict = judgeDraftToken(sampler.distribution(full.candidates[index]), draftDistributions[index], drafts[index], sampler.randomSource);
        if (!verdict.accepted) return {accepted: index, next: verdict.replacement};
    }
    return {accepted: drafts.length, next: sampler.sample(full.candidates[drafts.length])};
}

/** a greedy request needs only each row's most likely token, a sampled one only the tokens its temperature
 *  can pick: the addon finds either without copying the row out */
function readoutOf(entry: Active): Readout {
    return entry.sampler.greedy ? "greedyToken" : {samplingTemperature: entry.sampler.temperature};
}

function emptySpeculation(): SpeculationTimings {
    return {speculativeSteps: 0, plainSteps: 0, draftedTokens: 0, judgedDrafts: 0, acceptedDrafts: 0, draftSeconds: 0, verifySeconds: 0, stepsByDepth: {}};
}

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
function safeCall<T>(callback: ((value: T) => void) | undefined, value: T, name: "onText" | "onToken" = "onText") {
    try {
        callback?.(value);
    } catch (error) {
        console.error(`Layer Dial: an ${name} callback threw`, error);
    }
}
