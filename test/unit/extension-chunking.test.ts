// Splitting long selections by token counts, and summarizing parts and then the parts' summaries.
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import {ChunkBudgetError, packLines, splitByTokens, splitNearMiddle, type CountTokens} from "../../extension/commands/chunking.js";
import type {SummaryStep} from "../../extension/commands/prompts.js";
import {
    summarizeLongText,
    summaryBudget,
    SummaryNotShrinkingError,
    TEMPLATE_MARGIN_TOKENS,
    type SummaryEvent
} from "../../extension/commands/summarize-plan.js";

/** A stand-in tokenizer: one token per word or punctuation mark, and the number of calls made. */
function wordCounter(): {count: CountTokens; calls: () => number} {
    let calls = 0;
    return {
        count: async (text) => {
            calls++;
            return text.match(/\w+|[^\s\w]/g)?.length ?? 0;
        },
        calls: () => calls
    };
}

function lines(count: number, wordsPerLine = 8): string {
    return Array.from({length: count}, (_, line) => `${Array.from({length: wordsPerLine}, (_, word) => `w${line}x${word}`).join(" ")}\n`).join("");
}

describe("packLines", () => {
    test("packs whole lines up to the limit and cuts an overlong line at whitespace", () => {
        assert.deepEqual(packLines("aa\nbb\ncc\n", 6), ["aa\nbb\n", "cc\n"]);
        assert.deepEqual(packLines("one two three four", 8), ["one two ", "three ", "four"]);
        assert.deepEqual(packLines("abcdefghij", 4), ["abcd", "efgh", "ij"]);
    });

    test("the pieces always join back into the input", () => {
        const text = `${lines(30)}a very long line ${"word ".repeat(200)}\n\n\nend`;
        for (const limit of [1, 7, 50, 400, 10_000]) assert.equal(packLines(text, limit).join(""), text);
    });
});

describe("splitNearMiddle", () => {
    test("prefers the line break nearest the middle, then a space, then the middle itself", () => {
        assert.deepEqual(splitNearMiddle("aaaa\nbbbb\ncccc\ndddd"), ["aaaa\nbbbb\n", "cccc\ndddd"]);
        assert.deepEqual(splitNearMiddle("aaa bbb ccc"), ["aaa ", "bbb ccc"]);
        assert.deepEqual(splitNearMiddle("abcdef"), ["abc", "def"]);
        assert.deepEqual(splitNearMiddle("ab"), ["a", "b"]);
    });
});

describe("splitByTokens", () => {
    test("a text that fits is one part, with one count", async () => {
        const counter = wordCounter();
        const text = lines(3);
        assert.deepEqual(await splitByTokens(text, 100, counter.count), [{text, tokens: 24}]);
        assert.equal(counter.calls(), 1);
    });

    test("a long text: parts within the budget that join back into the text, in about one count per part", async () => {
        const counter = wordCounter();
        const text = lines(200);
        const chunks = await splitByTokens(text, 100, counter.count);
        assert.equal(chunks.map((chunk) => chunk.text).join(""), text);
        assert.ok(chunks.every((chunk) => chunk.tokens <= 100 && chunk.tokens > 0));
        assert.ok(chunks.length >= 16 && chunks.length <= 20, `${chunks.length} parts`);
        assert.ok(counter.calls() <= chunks.length * 2 + 1, `${counter.calls()} counts for ${chunks.length} parts`);
        // cut at line ends, never inside a line
        assert.ok(chunks.every((chunk) => chunk.text.endsWith("\n")));
    });

    test("text denser in tokens than the estimate is split again until every part fits", async () => {
        const counter = wordCounter();
        const text = `${"word ".repeat(400)}\n${"a,b;c.".repeat(200)}`;
        const chunks = await splitByTokens(text, 50, counter.count);
        assert.equal(chunks.map((chunk) => chunk.text).join(""), text);
        for (const chunk of chunks) assert.ok((await counter.count(chunk.text)) <= 50);
    });

    test("no room for text in the context is a named error that says what to change", async () => {
        await assert.rejects(
            splitByTokens("text", 0, wordCounter().count),
            (error: Error) => error instanceof ChunkBudgetError && /layerDial\.contextSize/.test(error.message)
        );
    });
});

describe("summarizeLongText", () => {
    /** A fake model whose summary of any text is its first `words` words. */
    function driver(textBudget: number, words: number, events: SummaryEvent[] = []) {
        const calls: {text: string; step: SummaryStep; round: number}[] = [];
        return {
            calls,
            events,
            driver: {
                countTokens: wordCounter().count,
                textBudget,
                onEvent: (event: SummaryEvent) => events.push(event),
                summarize: async (text: string, step: SummaryStep, round: number) => {
                    calls.push({text, step, round});
                    return text.split(/\s+/).filter(Boolean).slice(0, words).join(" ");
                }
            }
        };
    }

    test("a text that fits is summarized in one request", async () => {
        const fake = driver(100, 5);
        const outcome = await summarizeLongText(lines(4), fake.driver);
        assert.deepEqual(outcome, {parts: 1, rounds: 1, text: "w0x0 w0x1 w0x2 w0x3 w0x4"});
        assert.deepEqual(
            fake.calls.map((call) => call.step),
            [{kind: "whole"}]
        );
    });

    test("a long text: every part, then one summary of the parts, with events saying so", async () => {
        const fake = driver(100, 10);
        const text = lines(40);
        const outcome = await summarizeLongText(text, fake.driver);
        const parts = fake.calls.filter((call) => call.step.kind === "part");
        assert.equal(outcome.parts, parts.length);
        assert.equal(outcome.rounds, 2);
        assert.equal(parts.map((call) => call.text).join(""), text);
        const last = fake.calls.at(-1);
        assert.deepEqual(last?.step, {kind: "combine", parts: parts.length});
        assert.equal(fake.events[0].type, "chunked");
        assert.deepEqual(fake.events.filter((event) => event.type === "chunked").length, 1);
    });

    test("summaries still too long for one request are summarized again in another round", async () => {
        const fake = driver(40, 15);
        const outcome = await summarizeLongText(lines(60), fake.driver);
        assert.ok(outcome.rounds >= 3, `${outcome.rounds} rounds`);
        assert.equal(fake.calls.at(-1)?.step.kind, "combine");
        assert.ok(fake.calls.some((call) => call.round === 1 && call.step.kind === "part"));
    });

    test("summaries that do not shrink stop with a named error instead of looping", async () => {
        const fake = driver(20, 1000);
        await assert.rejects(summarizeLongText(lines(20), fake.driver), SummaryNotShrinkingError);
    });

    test("an aborted signal stops between requests", async () => {
        const controller = new AbortController();
        const fake = driver(100, 10);
        let calls = 0;
        const aborting = {
            ...fake.driver,
            signal: controller.signal,
            summarize: async (text: string, step: SummaryStep, round: number) => {
                if (++calls === 2) controller.abort();
                return await fake.driver.summarize(text, step, round);
            }
        };
        await assert.rejects(summarizeLongText(lines(40), aborting), {name: "AbortError"});
        assert.equal(calls, 2);
    });
});

describe("summaryBudget", () => {
    test("the answer takes at most a quarter of the context; the prompt and template take their share", () => {
        assert.deepEqual(summaryBudget(4096, 512, 60), {answerTokens: 512, textBudget: 4096 - 512 - 60 - TEMPLATE_MARGIN_TOKENS});
        assert.deepEqual(summaryBudget(512, 512, 60), {answerTokens: 128, textBudget: 512 - 128 - 60 - TEMPLATE_MARGIN_TOKENS});
    });
});
