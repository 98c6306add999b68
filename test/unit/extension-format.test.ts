// The summary document's header and notes, and the prompts the extension sends.
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import {generatePrompt, stripCodeFence, summaryPrompt} from "../../extension/commands/prompts.js";
import {chunkedNotice, partHeading, stoppedNote, summaryHeader, summarySourceName, summaryTitle} from "../../extension/commands/summary-format.js";

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
            "**Layer Dial summary** · `qwen2.5-coder-1.5b-instruct-q4_k_m.gguf` · Fast 1.5x · 18/28 layers · achieved 1.46x"
        );
    });

    test("says n/a until the speedup is measured", () => {
        const header = summaryHeader({model: "stories260K.gguf", level: "Quality", targetSpeedup: 1, keptLayers: 5, layerCount: 5, achievedSpeedup: null});
        assert.equal(header, "**Layer Dial summary** · `stories260K.gguf` · Quality 1x · 5/5 layers · achieved n/a");
        assert.match(header, /^\*\*Layer Dial summary\*\* · `[^`]+` · \w+ [\d.]+x · \d+\/\d+ layers · achieved (n\/a|\d+\.\d\dx)$/);
    });

    test("a finished run without a measured speedup says — and why in a short clause, on the header's one line", () => {
        const header = summaryHeader({
            model: "stories260K.gguf",
            level: "Quality",
            targetSpeedup: 1,
            keptLayers: 5,
            layerCount: 5,
            achievedSpeedup: null,
            whyNoAchievedSpeedup: "no 1x speed measured on this model, backend and machine because the speed calibration failed: timings\nspread"
        });
        assert.equal(
            header,
            "**Layer Dial summary** · `stories260K.gguf` · Quality 1x · 5/5 layers · " + "achieved — (no 1x speed measured on this model, backend and machine)"
        );
        const batched = {model: "m.gguf", level: "Fast", targetSpeedup: 1.5, keptLayers: 3, layerCount: 5, achievedSpeedup: null} as const;
        assert.match(
            summaryHeader({...batched, whyNoAchievedSpeedup: "4 requests decoded side by side (batch 4), and the 1x speed is measured at batch 1"}),
            /achieved — \(4 requests decoded side by side \(batch 4\)\)$/
        );
    });

    test("a backtick in a file name cannot break the code span", () => {
        assert.match(summaryHeader({model: "a`b.gguf", level: "Max", targetSpeedup: 2.21, keptLayers: 2, layerCount: 5}), / `a'b\.gguf` /);
    });
});

describe("summary title", () => {
    test("is named after the source: a file's name, or an untitled document's own", () => {
        assert.equal(summarySourceName({path: "/home/me/stories/story.txt"}), "story.txt");
        assert.equal(summarySourceName({path: "Untitled-1"}), "Untitled-1");
        assert.equal(
            summaryTitle("story.txt", () => false),
            "Summary of story.txt"
        );
    });

    test("a second summary of the same source while the first is open gets its own document", () => {
        const open = new Set(["Summary of story.txt", "Summary of story.txt (2)"]);
        assert.equal(
            summaryTitle("story.txt", (title) => open.has(title)),
            "Summary of story.txt (3)"
        );
    });

    test("one short line: the header fits a narrow editor", () => {
        const header = summaryHeader({
            model: "/m/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            level: "Balanced",
            targetSpeedup: 1.25,
            keptLayers: 22,
            layerCount: 28
        });
        assert.ok(!header.includes("\n"));
        // the model's file name is as long as its publisher made it; everything around it stays short
        const around = header.length - "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf".length;
        assert.ok(around <= 75, `${around} characters around the model name: ${header}`);
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
