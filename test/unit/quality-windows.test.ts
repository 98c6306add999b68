// Windowing a text to fit the context: every token scored once, with enough real context before it.
import assert from "node:assert/strict";
import {describe, it} from "node:test";
import {InvalidWindowingError, TextTooShortError, planWindows, prepareTeacherForcedText, type TextTokenizer} from "../../engine/quality/index.js";

const BOS = 9999;
const text = (count: number) => Array.from({length: count}, (_, i) => i);

describe("teacher-forcing windows", () => {
    for (const [count, windowTokens, contextTokens, prefix] of [
        [1000, 256, 64, [BOS]],
        [255, 256, 64, [BOS]],
        [256, 256, 64, [BOS]],
        [10, 256, 64, [BOS]],
        [1000, 128, 0, []],
        [777, 64, 62, []],
        [5000, 512, 100, [BOS]]
    ] as const) {
        it(`scores each of ${count} tokens once in windows of ${windowTokens} with ${contextTokens} tokens of context${prefix.length > 0 ? " after BOS" : ""}`, () => {
            const tokens = text(count);
            const {windows, firstScored} = planWindows(tokens, {windowTokens, contextTokens, prefix});
            assert.equal(firstScored, prefix.length > 0 ? 0 : 1);
            const scored: number[] = [];
            for (const [index, window] of windows.entries()) {
                assert.ok(window.tokens.length <= windowTokens);
                assert.deepEqual(window.tokens.slice(0, prefix.length), [...prefix]);
                assert.equal(window.rows.length, window.targets.length);
                for (const [i, row] of window.rows.entries()) {
                    // the logits of a row predict the token after it
                    assert.equal(window.tokens[row + 1], window.targets[i]);
                    const textIndex = window.start + row + 1 - prefix.length;
                    assert.equal(tokens[textIndex], window.targets[i]);
                    if (index > 0)
                        assert.ok(textIndex - window.start >= contextTokens, `token ${textIndex} sees only ${textIndex - window.start} tokens of context`);
                    scored.push(textIndex);
                }
            }
            assert.deepEqual(scored, tokens.slice(firstScored));
            // every window but a single short one is full, so they all take the same kernel path in llama.cpp
            if (count + prefix.length >= windowTokens) assert.ok(windows.every((window) => window.tokens.length === windowTokens));
        });
    }

    it("refuses windows that cannot hold text, context that fills the window, and texts with nothing to score", () => {
        assert.throws(() => planWindows(text(10), {windowTokens: 2, contextTokens: 0, prefix: [BOS]}), InvalidWindowingError);
        assert.throws(() => planWindows(text(10), {windowTokens: 64, contextTokens: 63, prefix: [BOS]}), InvalidWindowingError);
        assert.throws(() => planWindows(text(1), {windowTokens: 64, contextTokens: 8, prefix: []}), TextTooShortError);
        assert.throws(() => planWindows([], {windowTokens: 64, contextTokens: 8, prefix: [BOS]}), TextTooShortError);
    });

    it("counts the scored text's bytes for bits per byte and honours maxTokens", () => {
        // one token per UTF-8 character, so multi-byte characters show in the byte count
        const tokenizer: TextTokenizer = {
            tokenize: (value) => [...value].map((char) => char.codePointAt(0) ?? 0),
            detokenize: (tokens) => String.fromCodePoint(...tokens),
            bos: BOS
        };
        const prepared = prepareTeacherForcedText(tokenizer, "héllo wörld", {windowTokens: 8, contextTokens: 2});
        assert.equal(prepared.scoredTokens, 11);
        assert.equal(prepared.scoredBytes, 13);
        assert.equal(prepared.truncated, false);
        const cut = prepareTeacherForcedText(tokenizer, "héllo wörld", {windowTokens: 8, contextTokens: 2, maxTokens: 5});
        assert.equal(cut.scoredTokens, 5);
        assert.equal(cut.scoredBytes, 6);
        assert.equal(cut.truncated, true);
    });
});
