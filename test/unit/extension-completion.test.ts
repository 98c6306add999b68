// The extension's inline-completion pieces that need no editor: settings, the windows around the cursor,
// comment syntax, and what the status item says.
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import {
    contextExcerpt,
    CONTEXT_CHARACTERS,
    lineCommentFor,
    PREFIX_LINE_BLOCK,
    PREFIX_LINES,
    prefixFirstLine,
    suffixLastLine
} from "../../extension/completion/completion-query.js";
import {completionStatus} from "../../extension/completion/completion-status-text.js";
import {DEFAULT_COMPLETION_SETTINGS, readCompletionSettings} from "../../extension/settings.js";
import type {CompleteResult} from "../../common/engine-protocol.js";

const noCounts = {asked: 0, cached: 0, debounced: 0, requested: 0, superseded: 0, answered: 0};

describe("completion settings", () => {
    test("valid values are taken, bad ones fall back to the defaults with a warning", () => {
        const raw: Record<string, unknown> = {enabled: false, speedLevel: "Max", maxTokens: 0, debounceMs: "fast"};
        const {settings, warnings} = readCompletionSettings((key) => raw[key]);
        assert.deepEqual(settings, {
            enabled: false,
            speedLevel: "Max",
            maxTokens: DEFAULT_COMPLETION_SETTINGS.maxTokens,
            debounceMs: DEFAULT_COMPLETION_SETTINGS.debounceMs
        });
        assert.equal(warnings.length, 2);
        assert.match(warnings.join("\n"), /layerDial\.completion\.maxTokens = 0/);
    });
});

describe("the text sent around the cursor", () => {
    test("the prefix starts at a block boundary that holds still while the cursor moves down", () => {
        assert.equal(prefixFirstLine(10), 0);
        const start = prefixFirstLine(1000);
        assert.equal(start % PREFIX_LINE_BLOCK, 0);
        assert.ok(1000 - start >= PREFIX_LINES && 1000 - start < PREFIX_LINES + PREFIX_LINE_BLOCK);
        assert.equal(prefixFirstLine(1001), start, "Enter on line 1000 keeps the same start");
        assert.equal(suffixLastLine(5, 8), 7);
    });

    test("comments per language, and other files cut at a line end", () => {
        assert.equal(lineCommentFor("python"), "#");
        assert.equal(lineCommentFor("typescript"), "//");
        assert.equal(lineCommentFor("sql"), "--");
        const long = "x = 1\n".repeat(1000);
        const excerpt = contextExcerpt(long);
        assert.ok(excerpt.length <= CONTEXT_CHARACTERS && excerpt.endsWith("\n"));
        assert.equal(contextExcerpt("short"), "short");
    });
});

describe("completion status item", () => {
    const settings = DEFAULT_COMPLETION_SETTINGS;

    test("off, waiting for a model, working, and what the last suggestion cost", () => {
        assert.match(
            completionStatus({settings: {...settings, enabled: false}, modelName: "m", busy: false, last: undefined, counts: noCounts}).text,
            /circle-slash/
        );
        const waiting = completionStatus({settings, modelName: undefined, busy: false, last: undefined, counts: noCounts});
        assert.match(waiting.tooltip, /never loads one by itself/);
        assert.equal(completionStatus({settings, modelName: "m", busy: true, last: undefined, counts: noCounts}).text, "$(loading~spin) Balanced");
        const last: CompleteResult = {
            requestId: "c1",
            text: "x",
            stopReason: "boundary",
            style: "prefix",
            multiline: false,
            stats: {
                promptTokens: 300,
                reusedPromptTokens: 296,
                recomputedTokens: 0,
                generatedTokens: 7,
                firstTokenMs: 84.4,
                totalMs: 390.2,
                keptLayers: 11,
                layerCount: 24,
                predictedSpeedup: 2
            }
        };
        const idle = completionStatus({settings, modelName: "m", busy: false, last, counts: {...noCounts, asked: 40, requested: 3, superseded: 1, cached: 6}});
        assert.equal(idle.text, "$(sparkle) Balanced");
        assert.match(idle.tooltip, /7 tokens at 11\/24 layers; first token after 84 ms, done after 390 ms; 296 of 300 prompt tokens reused/);
        assert.match(idle.tooltip, /40 keystrokes asked: 3 model requests \(1 cancelled by typing\), 6 answered from the cache/);
    });
});
