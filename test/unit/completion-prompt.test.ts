// Completion prompts on a character-level vocabulary: budgets, the layout of each kind of prompt, and the
// stable start that lets consecutive keystrokes share the KV cache. (Real vocabularies: test/engine/completion.test.ts.)
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import {boundaryOf, finishSuggestion, suggestionShape} from "../../engine/completion/boundary.js";
import {budgetWithin, buildCompletionPrompt, DEFAULT_PROMPT_BUDGET, PREFIX_LINE_STEP} from "../../engine/completion/completion-prompt.js";
import {detectFimStyle, FIM_STYLES, type CompletionVocabulary} from "../../engine/completion/fim-styles.js";

const BOS = 1;

/** one token per character (id = code point + 1000) plus the given special tokens (ids 10, 11, ...) */
function characterVocabulary(specials: readonly string[]): CompletionVocabulary & {text(tokens: readonly number[]): string} {
    const ids = new Map(specials.map((text, index) => [text, 10 + index]));
    return {
        specialToken: (text) => ids.get(text),
        tokenize: (text) => [...text].map((character) => character.codePointAt(0)! + 1000),
        bos: BOS,
        text: (tokens) =>
            tokens
                .map((token) => (token === BOS ? "<s>" : token >= 1000 ? String.fromCodePoint(token - 1000) : [...ids].find(([, id]) => id === token)![0]))
                .join("")
    };
}

const qwen = FIM_STYLES.find((style) => style.name === "qwen2.5-coder")!;
const codellama = FIM_STYLES.find((style) => style.name === "codellama")!;
const qwenVocabulary = characterVocabulary([qwen.prefix, qwen.suffix, qwen.middle, ...qwen.endTokens, qwen.fileSeparator!]);

function numberedLines(count: number): string {
    return Array.from({length: count}, (_, index) => `line ${index}\n`).join("");
}

describe("fill-in-the-middle detection", () => {
    test("finds a style only when all three of its markers are special tokens", () => {
        assert.equal(detectFimStyle(qwenVocabulary)?.style.name, "qwen2.5-coder");
        assert.equal(detectFimStyle(characterVocabulary([qwen.prefix, qwen.suffix])), undefined);
        assert.equal(detectFimStyle(characterVocabulary([])), undefined);
        const resolved = detectFimStyle(characterVocabulary([codellama.prefix, codellama.suffix, codellama.middle, ...codellama.endTokens]));
        assert.equal(resolved?.style.name, "codellama");
        assert.deepEqual(resolved?.endTokens, [13]);
        assert.equal(resolved?.fileSeparator, undefined);
    });
});

describe("completion prompt layout", () => {
    test("fill-in-the-middle with files: other files after separators, then prefix, suffix, middle", () => {
        const prompt = buildCompletionPrompt(qwenVocabulary, {
            prefix: "def add(a, b):\n    return ",
            suffix: "\n\nprint(add(1, 2))\n",
            path: "src/math.py",
            context: [{path: "src/util.py", text: "def sub(a, b):\n    return a - b"}]
        });
        assert.equal(prompt.style, "qwen2.5-coder");
        assert.equal(
            qwenVocabulary.text(prompt.tokens),
            "<s><|file_sep|>src/util.py\ndef sub(a, b):\n    return a - b\n<|file_sep|>src/math.py\n" +
                "<|fim_prefix|>def add(a, b):\n    return <|fim_suffix|>\n\nprint(add(1, 2))\n<|fim_middle|>"
        );
        assert.deepEqual(prompt.stopTokens, detectFimStyle(qwenVocabulary)!.endTokens);
    });

    test("fill-in-the-middle without file separators puts other files in comments after the prefix marker", () => {
        const vocabulary = characterVocabulary([codellama.prefix, codellama.suffix, codellama.middle]);
        const prompt = buildCompletionPrompt(vocabulary, {
            prefix: "x = ",
            suffix: "\n",
            lineComment: "#",
            context: [{path: "a.py", text: "y = 1"}]
        });
        assert.equal(vocabulary.text(prompt.tokens), "<s>\u2581<PRE># a.py\ny = 1\n\nx = \u2581<SUF>\n\u2581<MID>");
    });

    test("plain prefix completion without markers ignores the suffix", () => {
        const vocabulary = characterVocabulary([]);
        const prompt = buildCompletionPrompt(vocabulary, {prefix: "Once upon", suffix: " a time"});
        assert.equal(prompt.style, "prefix");
        assert.equal(vocabulary.text(prompt.tokens), "<s>Once upon");
        assert.equal(prompt.suffixTokens, 0);
    });

    test("the prefix keeps its tail within budget, starting at a line block, and holds still while typing", () => {
        const prefix = numberedLines(200);
        const budget = {prefixTokens: 400, suffixTokens: 50, contextTokens: 0};
        const first = buildCompletionPrompt(qwenVocabulary, {prefix, suffix: ""}, budget);
        assert.ok(first.prefixTokens <= 400, `${first.prefixTokens}`);
        assert.ok(first.prefixTokens > 400 - PREFIX_LINE_STEP * 9, "the block snap keeps most of the budget");
        assert.equal(first.prefixFirstLine % PREFIX_LINE_STEP, 0);
        assert.ok(qwenVocabulary.text(first.tokens).includes("line 199\n"));
        // typing at the cursor: every later prompt starts with the same tokens up to the cursor
        for (const typed of ["d", "de", "def f", "def f():\n"]) {
            const next = buildCompletionPrompt(qwenVocabulary, {prefix: prefix + typed, suffix: ""}, budget);
            assert.equal(next.prefixFirstLine, first.prefixFirstLine, typed);
            assert.deepEqual(next.tokens.slice(0, 2 + first.prefixTokens), first.tokens.slice(0, 2 + first.prefixTokens));
        }
    });

    test("the suffix is cut at whole lines within its budget", () => {
        const prompt = buildCompletionPrompt(qwenVocabulary, {prefix: "a", suffix: numberedLines(20)}, {prefixTokens: 10, suffixTokens: 30, contextTokens: 0});
        const text = qwenVocabulary.text(prompt.tokens);
        const suffix = text.slice(text.indexOf("<|fim_suffix|>") + "<|fim_suffix|>".length, text.indexOf("<|fim_middle|>"));
        assert.equal(suffix, "line 0\nline 1\nline 2\nline 3\n");
    });

    test("a small context shrinks every part of the budget in proportion", () => {
        assert.equal(budgetWithin(DEFAULT_PROMPT_BUDGET, 4000), DEFAULT_PROMPT_BUDGET);
        const small = budgetWithin(DEFAULT_PROMPT_BUDGET, 176);
        assert.ok(small.prefixTokens + small.suffixTokens + small.contextTokens <= 176);
        assert.deepEqual(small, {prefixTokens: 108, suffixTokens: 13, contextTokens: 54});
        assert.deepEqual(budgetWithin(DEFAULT_PROMPT_BUDGET, -5), {prefixTokens: 0, suffixTokens: 0, contextTokens: 0});
    });

    test("context beyond its budget is cut at a line, and whole files that do not fit are left out", () => {
        const prompt = buildCompletionPrompt(
            qwenVocabulary,
            {
                prefix: "a",
                suffix: "",
                path: "b.py",
                context: [
                    {path: "c.py", text: numberedLines(10)},
                    {path: "d.py", text: "never"}
                ]
            },
            {prefixTokens: 10, suffixTokens: 10, contextTokens: 30}
        );
        const text = qwenVocabulary.text(prompt.tokens);
        assert.ok(text.startsWith("<s><|file_sep|>c.py\nline 0\nline 1\nline 2\n<|file_sep|>b.py\n"), text);
        assert.ok(!text.includes("never"));
    });
});

describe("suggestion boundaries", () => {
    test("a cursor on a line with text completes that line only", () => {
        const shape = suggestionShape("x = compute(", ")\nnext()\n");
        assert.equal(shape.multiline, false);
        assert.equal(boundaryOf(shape, "a, b"), undefined);
        assert.equal(boundaryOf(shape, "a, b)\n    y"), 5);
        assert.equal(finishSuggestion(shape, "a, b)"), "a, b", "the closing parenthesis is already there");
    });

    test("on an empty line a block ends at a blank line or where the indentation drops below the cursor's", () => {
        const shape = suggestionShape("def f():\n    ", "\n");
        assert.equal(shape.multiline, true);
        assert.equal(boundaryOf(shape, "x = 1\n    return x"), undefined, "the last line may still grow");
        const dedent = "x = 1\n    return x\ndef g():\n";
        assert.equal(dedent.slice(0, boundaryOf(shape, dedent)), "x = 1\n    return x");
        const blank = "x = 1\n\n    y = 2\n";
        assert.equal(blank.slice(0, boundaryOf(shape, blank)), "x = 1");
        assert.equal(boundaryOf(shape, "\n    x = 1\n"), undefined, "a leading blank line is not the end");
    });

    test("a block stops at its line limit", () => {
        const shape = suggestionShape("", "", 3);
        const text = "a\nb\nc\nd\n";
        assert.equal(text.slice(0, boundaryOf(shape, text)), "a\nb\nc");
    });
});
