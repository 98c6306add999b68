// The speed panel's message validators: what each side accepts, what it refuses, and that a refusal
// names the problem (it ends up in the log) instead of throwing.
import {test, describe} from "node:test";
import assert from "node:assert/strict";
import {parseFromWebview, parseToWebview, isOfferedDepth, type ModelInfo, type ToWebview} from "../../common/panel-messages.js";
import {fixtureModel, fixtureRun} from "../webview/panel-fixtures.js";

function problemOf(parse: (message: unknown, onInvalid: (problem: string) => void) => unknown, message: unknown): string {
    const problems: string[] = [];
    assert.equal(
        parse(message, (problem) => problems.push(problem)),
        undefined,
        `accepted ${JSON.stringify(message)}`
    );
    assert.equal(problems.length, 1);
    return problems[0];
}

const model: ModelInfo = fixtureModel({layerCount: 8, minDepth: 4});
const withModel = (overrides: Partial<ModelInfo>): ModelInfo => ({...model, ...overrides});

describe("parseToWebview", () => {
    test("accepts every message type and returns an equal, typed copy", () => {
        const messages: ToWebview[] = [
            {type: "state", model, depth: 6, activeRequestId: null},
            {type: "state", model, depth: 8, activeRequestId: "r1", history: [fixtureRun({depth: 6})]},
            {type: "state", model: null, depth: null, activeRequestId: null},
            {
                type: "state",
                model,
                depth: 8,
                activeRequestId: null,
                lossless: {mode: "draft", draftDepth: 6, draftLength: 3, acceptanceRate: 0.74, predictedSpeedup: 1.2}
            },
            {
                type: "state",
                model,
                depth: 8,
                activeRequestId: null,
                lossless: {mode: "learning", draftDepth: null, draftLength: null, acceptanceRate: null, predictedSpeedup: 1}
            },
            {type: "state", model, depth: 6, activeRequestId: null, atContext: {contextTokens: 1480, predictedSpeedup: 1.73}},
            {type: "level", depth: 5},
            {type: "runStats", run: fixtureRun()},
            {type: "runStats", run: fixtureRun({depth: 8, lossless: {acceptanceRate: 0.7, meanTokensPerVerify: 2.4, draftDepth: 6}})},
            {type: "runStats", run: {requestId: "r", depth: 8, targetSpeedup: 1, tokensPerSecond: 0, tokens: 0, finishedAt: 0}},
            {type: "requestStarted", requestId: "r1", title: ""},
            {type: "output", requestId: "r1", text: "token "},
            {type: "requestEnded", requestId: "r1", stopReason: "done"},
            {type: "requestEnded", requestId: "r1", stopReason: "error", error: "out of memory"}
        ];
        for (const message of messages) {
            const parsed = parseToWebview(structuredClone(message), (problem) => assert.fail(problem));
            assert.deepEqual(parsed, message);
            assert.notEqual(parsed, message);
        }
    });

    test("drops unknown fields instead of passing them on", () => {
        const parsed = parseToWebview(JSON.parse('{"type":"level","depth":5,"extra":"<script>","__proto__":{"polluted":true}}'));
        assert.deepEqual(parsed, {type: "level", depth: 5});
        assert.deepEqual(Object.keys(parsed ?? {}), ["type", "depth"]);
    });

    test("optional quality fields may be absent, partial or complete", () => {
        const steps = [
            {depth: 8, predictedSpeedup: 1, keptLayers: [0, 1, 2, 3, 4, 5, 6, 7]},
            {depth: 4, predictedSpeedup: 1.6, keptLayers: [0, 2, 5, 7], quality: {}},
            {depth: 5, predictedSpeedup: 1.4, keptLayers: [0, 2, 4, 5, 7], quality: {top1Agreement: 0.9, perplexityRatio: 1.2}}
        ];
        const parsed = parseToWebview({type: "state", model: withModel({steps}), depth: 4, activeRequestId: null});
        assert.equal(parsed?.type, "state");
    });

    const refusals: readonly (readonly [string, unknown, RegExp])[] = [
        ["not an object", "level", /expected an object with a "type"/],
        ["null", null, /got null/],
        ["an array", [{type: "level", depth: 1}], /got an array/],
        ["an unknown type", {type: "explode"}, /^type: expected one of state, level, runStats/],
        ["a type that is not a string", {type: 7}, /^type:/],
        ["a depth that is a string", {type: "level", depth: "4"}, /^depth: expected a whole number/],
        ["a fractional depth", {type: "level", depth: 4.5}, /^depth:/],
        ["a depth of zero", {type: "level", depth: 0}, /^depth:/],
        ["NaN tokens/s", {type: "runStats", run: {...fixtureRun(), tokensPerSecond: Number.NaN}}, /^run\.tokensPerSecond:/],
        ["Infinity speedup", {type: "runStats", run: {...fixtureRun(), achievedSpeedup: Infinity}}, /^run\.achievedSpeedup:/],
        ["an empty request id", {type: "output", requestId: "", text: "x"}, /^requestId:/],
        ["an oversized chunk", {type: "output", requestId: "r", text: "x".repeat(70_000)}, /^text:/],
        ["an unknown stop reason", {type: "requestEnded", requestId: "r", stopReason: "exploded"}, /^stopReason:/],
        ["a missing required field", {type: "state", model, depth: 8}, /^activeRequestId:/],
        ["a depth outside the steps", {type: "state", model, depth: 2, activeRequestId: null}, /depth 2 is not one of the model's steps/],
        ["a depth without a model", {type: "state", model: null, depth: 3, activeRequestId: null}, /depth must be null/],
        [
            "an unknown layer order",
            {type: "state", model: withModel({layerOrder: "random" as "even"}), depth: 8, activeRequestId: null},
            /^model\.layerOrder: expected "even" or "calibrated"/
        ],
        [
            "kept layers not matching the depth",
            {type: "state", model: withModel({steps: [{depth: 3, predictedSpeedup: 2, keptLayers: [0, 7]}]}), depth: 8, activeRequestId: null},
            /depth 3 lists 2 kept layers/
        ],
        [
            "kept layers out of order",
            {type: "state", model: withModel({steps: [{depth: 2, predictedSpeedup: 2, keptLayers: [7, 0]}]}), depth: 8, activeRequestId: null},
            /ascending/
        ],
        [
            "a kept layer beyond the model",
            {type: "state", model: withModel({steps: [{depth: 2, predictedSpeedup: 2, keptLayers: [0, 8]}]}), depth: 8, activeRequestId: null},
            /keeps a layer beyond/
        ],
        ["a depth listed twice", {type: "state", model: withModel({steps: [model.steps[1], model.steps[1]]}), depth: 8, activeRequestId: null}, /listed twice/],
        [
            "a speedup below 1",
            {type: "state", model: withModel({steps: [{depth: 2, predictedSpeedup: 0.5, keptLayers: [0, 7]}]}), depth: 8, activeRequestId: null},
            /predictedSpeedup/
        ],
        [
            "agreement above 100%",
            {type: "state", model: withModel({steps: [{...model.steps[1], quality: {top1Agreement: 1.5}}]}), depth: 8, activeRequestId: null},
            /quality\.top1Agreement/
        ],
        [
            "Lossless below the full model's depth",
            {
                type: "state",
                model,
                depth: 6,
                activeRequestId: null,
                lossless: {mode: "plain", draftDepth: null, draftLength: null, acceptanceRate: null, predictedSpeedup: 1}
            },
            /the depth is the full model's/
        ],
        [
            "Lossless without a model",
            {
                type: "state",
                model: null,
                depth: null,
                activeRequestId: null,
                lossless: {mode: "plain", draftDepth: null, draftLength: null, acceptanceRate: null, predictedSpeedup: 1}
            },
            /need a loaded model/
        ],
        [
            "a draft depth beyond the model",
            {
                type: "state",
                model,
                depth: 8,
                activeRequestId: null,
                lossless: {mode: "draft", draftDepth: 9, draftLength: 2, acceptanceRate: 0.5, predictedSpeedup: 1.1}
            },
            /draft depth exceeds/
        ],
        [
            "an acceptance rate above 1",
            {type: "runStats", run: fixtureRun({lossless: {acceptanceRate: 1.5, meanTokensPerVerify: 2, draftDepth: 6}})},
            /lossless\.acceptanceRate/
        ],
        [
            "too many history entries",
            {type: "state", model, depth: 8, activeRequestId: null, history: Array.from({length: 13}, () => fixtureRun())},
            /^history:/
        ]
    ];
    for (const [what, message, expected] of refusals) test(`refuses ${what}`, () => assert.match(problemOf(parseToWebview, message), expected));

    test("without a handler a refusal is silent and returns undefined", () => {
        assert.equal(parseToWebview({type: "level"}), undefined);
    });
});

describe("parseFromWebview", () => {
    test("accepts ready, setLevel, setLossless and stop", () => {
        for (const message of [{type: "ready"}, {type: "setLevel", depth: 18, speedup: 1.64}, {type: "setLossless"}, {type: "stop", requestId: "r1"}])
            assert.deepEqual(
                parseFromWebview(message, (problem) => assert.fail(problem)),
                message
            );
    });

    test("refuses what the panel never sends", () => {
        assert.match(problemOf(parseFromWebview, {type: "state"}), /^type: expected one of ready, setLevel, setLossless, stop/);
        assert.match(problemOf(parseFromWebview, {type: "setLevel", depth: 18}), /^speedup:/);
        assert.match(problemOf(parseFromWebview, {type: "setLevel", depth: 18, speedup: 0.9}), /^speedup:/);
        assert.match(problemOf(parseFromWebview, {type: "stop"}), /^requestId:/);
        assert.match(problemOf(parseFromWebview, undefined), /got undefined/);
    });
});

test("isOfferedDepth: listed steps and the full model, nothing else", () => {
    const partial = withModel({steps: model.steps.filter((step) => step.depth !== 8)});
    assert.equal(isOfferedDepth(partial, 8), true);
    assert.equal(isOfferedDepth(partial, 5), true);
    assert.equal(isOfferedDepth(partial, 3), false);
});
