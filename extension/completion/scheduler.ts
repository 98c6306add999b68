// When inline completions reach the model. An editor asks on every keystroke; this answers from the cache
// when the user is typing into a suggestion, otherwise waits out a debounce (a newer keystroke cancels the
// wait) and keeps at most one request in flight: a newer request aborts the one before and waits until the
// engine has let go of it, so the engine's sequence, and its KV cache, pass from one request to the next.
import {SuggestionCache} from "./suggestion-cache.js";

export type CompletionQuery = {
    /** identifies the document (its URI) */
    documentKey: string;
    prefix: string;
    suffix: string;
};

/** asks the model; resolves with the suggestion ("" for none), or undefined when aborted */
export type CompletionBackend<Q extends CompletionQuery> = (query: Q, signal: AbortSignal) => Promise<string | undefined>;

export type SchedulerCounts = {
    /** times the editor asked (about one per keystroke) */
    asked: number;
    /** answered from the cache, no request */
    cached: number;
    /** a newer keystroke came within the debounce, no request */
    debounced: number;
    /** requests sent to the model */
    requested: number;
    /** requests aborted by a newer keystroke (their text is dropped) */
    superseded: number;
    /** requests that answered */
    answered: number;
};

export type CompletionSchedulerOptions<Q extends CompletionQuery> = {
    backend: CompletionBackend<Q>;
    /** quiet time after a keystroke before a request is sent */
    debounceMs: number;
    cache?: SuggestionCache;
};

function emptyCounts(): SchedulerCounts {
    return {asked: 0, cached: 0, debounced: 0, requested: 0, superseded: 0, answered: 0};
}

/** resolves true after `ms`, or false as soon as `signal` aborts */
function quietFor(ms: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
        const onAbort = () => {
            clearTimeout(timer);
            resolve(false);
        };
        const timer = setTimeout(() => {
            signal.removeEventListener("abort", onAbort);
            resolve(true);
        }, ms);
        signal.addEventListener("abort", onAbort, {once: true});
    });
}

export class CompletionScheduler<Q extends CompletionQuery> {
    readonly cache: SuggestionCache;
    /** quiet time after a keystroke before a request is sent (settings may change it) */
    debounceMs: number;
    private countsValue = emptyCounts();
    private newest = 0;
    private inFlight: AbortController | undefined;
    private settled: Promise<void> = Promise.resolve();

    constructor(private readonly options: CompletionSchedulerOptions<Q>) {
        this.cache = options.cache ?? new SuggestionCache();
        this.debounceMs = options.debounceMs;
    }

    get counts(): SchedulerCounts {
        return {...this.countsValue};
    }

    resetCounts(): void {
        this.countsValue = emptyCounts();
    }

    /** true while a request is with the model */
    get busy(): boolean {
        return this.inFlight !== undefined;
    }

    /** the suggestion for this cursor, or undefined (none, or `signal` aborted because the user went on typing) */
    async suggest(query: Q, signal: AbortSignal): Promise<string | undefined> {
        const counts = this.countsValue;
        counts.asked++;
        const cached = this.cache.lookup(query.documentKey, query.prefix, query.suffix);
        if (cached !== undefined) {
            counts.cached++;
            return cached;
        }
        if (!(await quietFor(this.debounceMs, signal))) {
            counts.debounced++;
            return undefined;
        }

        const ticket = ++this.newest;
        this.inFlight?.abort();
        await this.settled;
        if (ticket !== this.newest || signal.aborted) {
            counts.debounced++;
            return undefined;
        }

        const controller = new AbortController();
        const onAbort = () => controller.abort();
        signal.addEventListener("abort", onAbort, {once: true});
        this.inFlight = controller;
        counts.requested++;
        const request = this.options.backend(query, controller.signal);
        this.settled = request.then(
            () => undefined,
            () => undefined
        );
        try {
            const text = await request;
            if (controller.signal.aborted || text === undefined) {
                counts.superseded++;
                return undefined;
            }
            counts.answered++;
            this.cache.put(query.documentKey, query.prefix, query.suffix, text);
            return text.length > 0 ? text : undefined;
        } finally {
            signal.removeEventListener("abort", onAbort);
            if (this.inFlight === controller) this.inFlight = undefined;
        }
    }

    /** aborts the request in flight (completions turned off, the model changed) */
    cancel(): void {
        this.newest++;
        this.inFlight?.abort();
    }
}
