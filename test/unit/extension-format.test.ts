// The summary document's header and notes, and the prompts the extension sends.
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import {generatePrompt, stripCodeFence, summaryPrompt} from "../../extension/commands/prompts.js";
import {chunkedNotice, partHeading, stoppedNote, summaryHeader} from "../../extension/commands/summary-format.js";

describe("summary header", () => {
    test("has the fixed form end-to-end tests read", () => {
        assert.equal(
            summaryHeader({
                model: "/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                level: "Fast",
                targetSpeedup: 1.5,
                keptLayers: 18,
                layerCount: 28,
                achievedSpeedup: 1.4632
            }),
            "**Layer Dial summary** · model `qwen2.5-coder-1.5b-instruct-q4_k_m.gguf` · speed **Fast** (1.5x) · layers 18/28 kept · achieved 1.46x"
        );
    });

    test("says n/a until the speedup is measured", () => {
        const header = summaryHeader({model: "stories260K.gguf", level: "Quality", targetSpeedup: 1, keptLayers: 5, layerCount: 5, achievedSpeedup: null});
        assert.equal(header, "**Layer Dial summary** · model `stories260K.gguf` · speed **Quality** (1x) · layers 5/5 kept · achieved n/a");
        assert.match(
            header,
            /^\*\*Layer Dial summary\*\* · model `[^`]+` · speed \*\*\w+\*\* \([\d.]+x\) · layers \d+\/\d+ kept · achieved (n\/a|\d+\.\d\dx)$/
        );
    });

    test("a backtick in a file name cannot break the code span", () => {
        assert.match(summaryHeader({model: "a`b.gguf", level: "Max", targetSpeedup: 2.21, keptLayers: 2, layerCount: 5}), /model `a'b\.gguf`/);
    });
});

describe("notes", () => {
    test("a chunked summary says it was split and then combined", () => {
        const notice = chunkedNotice(3, 9000, 3500);
        assert.match(notice, /9000 tokens/);
        assert.match(notice, /3 parts/);
        assert.match(notice, /summaries of the parts were summarized/);
        assert.equal(partHeading(2, 3), "### Part 2 of 3");
        assert.equal(partHeading(1, 2, 1), "### Round 2: part 1 of 2");
    });

    test("stop notes: cancellation is a plain statement, not an error", () => {
        assert.doesNotMatch(stoppedNote("cancelled"), /error/i);
        assert.match(stoppedNote("maxTokens"), /layerDial\.maxTokens/);
        assert.match(stoppedNote("error", "the engine host exited"), /the engine host exited/);
    });
});

describe("prompts", () => {
    test("the selection goes in a fence longer than any backtick run inside it", () => {
        const text = "const s = ```not the end```;";
        const {prompt} = summaryPrompt(text, {kind: "whole"}, "typescript");
        assert.ok(prompt.includes("````typescript\nconst s = ```not the end```;\n````"));
    });

    test("parts and combine steps say where the text comes from", () => {
        assert.match(summaryPrompt("x", {kind: "part", part: 2, parts: 5}, "plaintext").prompt, /^This is part 2 of 5 of a longer text\./);
        assert.match(summaryPrompt("a\n\nb", {kind: "combine", parts: 2}, "python").prompt, /summaries of the 2 consecutive parts of one longer python code/);
    });

    test("models without a chat template continue the text instead", () => {
        assert.equal(summaryPrompt("Once upon a time.\n", {kind: "whole"}, "plaintext").completionPrompt, "Once upon a time.\n\nSummary:");
        assert.equal(generatePrompt("write a haiku", undefined, "markdown").completionPrompt, "write a haiku");
        assert.equal(generatePrompt("continue", "def f(x):\n", "python").completionPrompt, "def f(x):\n");
    });

    test("generation carries the selection as context when there is one", () => {
        assert.match(
            generatePrompt("add a docstring", "def f(): pass", "python").prompt,
            /The selected python code \(context\):\n\n```python\ndef f\(\): pass\n```/
        );
        assert.doesNotMatch(generatePrompt("add a docstring", undefined, "python").prompt, /context/);
    });

    test("one code fence around the whole answer is removed; anything else is kept as written", () => {
        assert.equal(stripCodeFence("```ts\nconst a = 1;\n```"), "const a = 1;");
        assert.equal(stripCodeFence("\n```\nx\ny\n```\n"), "x\ny");
        assert.equal(stripCodeFence("text ```x``` more"), "text ```x``` more");
        assert.equal(stripCodeFence("```a\n1\n```\nand\n```b\n2\n```"), "```a\n1\n```\nand\n```b\n2\n```");
    });
});
