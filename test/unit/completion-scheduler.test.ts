// The inline-completion scheduler and its cache, with a scripted model: which keystrokes reach the model,
// that only one request is ever in flight, and that a superseded request gives no suggestion.
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import {setTimeout as sleep} from "node:timers/promises";
import {CompletionScheduler, type CompletionQuery} from "../../extension/completion/scheduler.js";
import {SuggestionCache} from "../../extension/completion/suggestion-cache.js";

/** a model that answers `answer(query)` after `delayMs`, or undefined as soon as it is aborted */
function scriptedBackend(delayMs: number, answer: (query: CompletionQuery) => string) {
    const state = {calls: [] as CompletionQuery[], inFlight: 0, maxInFlight: 0, aborted: 0};
    const backend = async (query: CompletionQuery, signal: AbortSignal): Promise<string | undefined> => {
        state.calls.push(query);
        state.inFlight++;
        state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
        try {
            await sleep(delayMs, undefined, {signal});
            return answer(query);
        } catch {
            state.aborted++;
            return undefined;
        } finally {
            state.inFlight--;
        }
    };
    return {backend, state};
}

/** an editor that, like VS Code, cancels the previous request's token on every keystroke */
function editor(scheduler: CompletionScheduler<CompletionQuery>) {
    let previous: AbortController | undefined;
    return (prefix: string, suffix = "") => {
        previous?.abort();
        const controller = new AbortController();
        previous = controller;
        return scheduler.suggest({documentKey: "file:///a.py", prefix, suffix}, controller.signal);
    };
}

describe("suggestion cache", () => {
    test("serves what is left of a suggestion while the user types into it, and nothing once they leave it", () => {
        const cache = new SuggestionCache();
        cache.put("doc", "x = ", "\n", "compute(1)");
        assert.equal(cache.lookup("doc", "x = ", "\n"), "compute(1)");
        assert.equal(cache.lookup("doc", "x = comp", "\n"), "ute(1)");
        assert.equal(cache.lookup("doc", "x = compute(1)", "\n"), undefined, "fully typed: nothing left to suggest");
        assert.equal(cache.lookup("doc", "x = cop", "\n"), undefined, "typed something else");
        assert.equal(cache.lookup("doc", "x = comp", "\nmore"), undefined, "the text after the cursor changed");
        assert.equal(cache.lookup("other", "x = comp", "\n"), undefined, "another document");
    });

    test("evicts the least recently stored entries beyond its capacity", () => {
        const cache = new SuggestionCache(2);
        cache.put("doc", "a", "", "1");
        cache.put("doc", "b", "", "2");
        cache.put("doc", "c", "", "3");
        assert.equal(cache.count, 2);
        assert.equal(cache.lookup("doc", "a", ""), undefined);
        assert.equal(cache.lookup("doc", "c", ""), "3");
    });
});

describe("completion scheduler", () => {
    test("a burst of keystrokes within the debounce sends one request, for the last one", async () => {
        const {backend, state} = scriptedBackend(5, (query) => `<${query.prefix}>`);
        const scheduler = new CompletionScheduler({backend, debounceMs: 40});
        const type = editor(scheduler);
        const results = [type("a"), type("ab"), type("abc")];
        await sleep(10);
        results.push(type("abcd"));
        assert.deepEqual(await Promise.all(results), [undefined, undefined, undefined, "<abcd>"]);
        assert.deepEqual(
            state.calls.map((call) => call.prefix),
            ["abcd"]
        );
        assert.deepEqual(scheduler.counts, {asked: 4, cached: 0, debounced: 3, requested: 1, superseded: 0, answered: 1});
    });

    test("a keystroke while a request runs aborts it: it gives no suggestion, and requests never overlap", async () => {
        const {backend, state} = scriptedBackend(60, (query) => `<${query.prefix}>`);
        const scheduler = new CompletionScheduler({backend, debounceMs: 5});
        const type = editor(scheduler);
        const first = type("a");
        await sleep(25);
        assert.equal(scheduler.busy, true);
        const second = type("ab");
        assert.equal(await first, undefined);
        assert.equal(await second, "<ab>");
        assert.equal(state.aborted, 1);
        assert.equal(state.maxInFlight, 1);
        assert.equal(scheduler.busy, false);
        assert.equal(scheduler.counts.superseded, 1);
    });

    test("typing into a suggestion is answered from the cache without a request", async () => {
        const {backend, state} = scriptedBackend(1, () => "compute(1)");
        const scheduler = new CompletionScheduler({backend, debounceMs: 1});
        const type = editor(scheduler);
        assert.equal(await type("x = "), "compute(1)");
        assert.equal(await type("x = c"), "ompute(1)");
        assert.equal(await type("x = co"), "mpute(1)");
        assert.equal(state.calls.length, 1);
        assert.equal(scheduler.counts.cached, 2);
    });

    test("an empty answer is no suggestion, and cancel() aborts the request in flight", async () => {
        const {backend, state} = scriptedBackend(50, () => "");
        const scheduler = new CompletionScheduler({backend, debounceMs: 1});
        const type = editor(scheduler);
        assert.equal(await type("x"), undefined);
        const pending = type("y");
        await sleep(10);
        scheduler.cancel();
        assert.equal(await pending, undefined);
        assert.equal(state.aborted, 1);
    });
});
