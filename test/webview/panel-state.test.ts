// The panel's state reducer, saved-state restore and slider geometry, without a browser.
import {test, describe} from "node:test";
import assert from "node:assert/strict";
import {
    applyMessage,
    emptyPanelState,
    MAX_OUTPUT_CHARS,
    offeredSteps,
    restorePanelState,
    toSavedState,
    withDepth,
    type PanelState
} from "../../webview/panel-state.js";
import {MAX_HISTORY, type LosslessView} from "../../common/panel-messages.js";
import {nearestStepIndex, positionOf, stepIndexForKey} from "../../webview/slider-math.js";
import {fixtureModel, fixtureRun} from "./panel-fixtures.js";

const model = fixtureModel({layerCount: 8, minDepth: 4, includeFullModel: false});
const loaded: PanelState = {...emptyPanelState, model, depth: 6};
const drafting: LosslessView = {mode: "draft", draftDepth: 6, draftLength: 3, acceptanceRate: 0.74, predictedSpeedup: 1.21};

function collect(): {readonly warn: (problem: string) => void; readonly problems: string[]} {
    const problems: string[] = [];
    return {warn: (problem) => problems.push(problem), problems};
}

describe("offeredSteps", () => {
    test("adds the full model when the planner left it out, and sorts by speedup", () => {
        const steps = offeredSteps(model);
        assert.deepEqual(
            steps.map((step) => step.depth),
            [8, 7, 6, 5, 4]
        );
        assert.deepEqual(steps[0], {depth: 8, predictedSpeedup: 1, keptLayers: [0, 1, 2, 3, 4, 5, 6, 7]});
    });
});

describe("applyMessage", () => {
    test("level: applies offered depths, warns about others", () => {
        const {warn, problems} = collect();
        assert.equal(applyMessage(loaded, {type: "level", depth: 4}, warn).depth, 4);
        assert.equal(applyMessage(loaded, {type: "level", depth: 3}, warn), loaded);
        assert.equal(applyMessage(emptyPanelState, {type: "level", depth: 4}, warn), emptyPanelState);
        assert.equal(problems.length, 2);
    });

    test("runStats: newest last, one entry per request, at most MAX_HISTORY", () => {
        const {warn} = collect();
        let state = loaded;
        for (let i = 0; i < MAX_HISTORY + 3; i++) state = applyMessage(state, {type: "runStats", run: fixtureRun({requestId: `r${i}`})}, warn);
        state = applyMessage(state, {type: "runStats", run: fixtureRun({requestId: "r5", tokensPerSecond: 99})}, warn);
        assert.equal(state.history.length, MAX_HISTORY);
        assert.equal(state.history.at(-1)?.tokensPerSecond, 99);
        assert.equal(state.history.filter((run) => run.requestId === "r5").length, 1);
    });

    test("a request streams, ends, and ignores chunks for other requests", () => {
        const {warn, problems} = collect();
        let state = applyMessage(loaded, {type: "requestStarted", requestId: "a", title: "t"}, warn);
        state = applyMessage(state, {type: "output", requestId: "a", text: "hel"}, warn);
        state = applyMessage(state, {type: "output", requestId: "b", text: "XX"}, warn);
        state = applyMessage(state, {type: "output", requestId: "a", text: "lo"}, warn);
        state = applyMessage(state, {type: "requestEnded", requestId: "a", stopReason: "cancelled"}, warn);
        state = applyMessage(state, {type: "output", requestId: "a", text: "late"}, warn);
        assert.deepEqual(state.request, {requestId: "a", title: "t", text: "hello", status: "cancelled"});
        assert.equal(problems.length, 2);
    });

    test("output keeps the newest MAX_OUTPUT_CHARS characters", () => {
        const {warn} = collect();
        let state = applyMessage(loaded, {type: "requestStarted", requestId: "a", title: "t"}, warn);
        for (let i = 0; i < 4; i++) state = applyMessage(state, {type: "output", requestId: "a", text: String(i).repeat(60_000)}, warn);
        assert.equal(state.request?.text.length, MAX_OUTPUT_CHARS);
        assert.ok(state.request?.text.endsWith("3"));
    });

    test("state: a running request the extension no longer knows becomes lost", () => {
        const {warn} = collect();
        const running = applyMessage(loaded, {type: "requestStarted", requestId: "a", title: "t"}, warn);
        const still = applyMessage(running, {type: "state", model, depth: 6, activeRequestId: "a"}, warn);
        assert.equal(still.request?.status, "running");
        const lost = applyMessage(running, {type: "state", model, depth: 6, activeRequestId: null}, warn);
        assert.equal(lost.request?.status, "lost");
    });

    test("withDepth refuses depths the model does not offer", () => {
        assert.equal(withDepth(loaded, 5).depth, 5);
        assert.equal(withDepth(loaded, 2), loaded);
    });

    test("Lossless: a state names the drafter; a state without it, a level, or a slider move leaves Lossless", () => {
        const {warn, problems} = collect();
        const lossless = applyMessage(loaded, {type: "state", model, depth: 8, activeRequestId: null, lossless: drafting}, warn);
        assert.deepEqual([lossless.depth, lossless.lossless], [8, drafting]);
        assert.equal(applyMessage(lossless, {type: "state", model, depth: 8, activeRequestId: null}, warn).lossless, null);
        assert.equal(applyMessage(lossless, {type: "level", depth: 5}, warn).lossless, null);
        assert.deepEqual([withDepth(lossless, 8).depth, withDepth(lossless, 8).lossless], [8, null]);
        assert.equal(applyMessage(lossless, {type: "state", model: null, depth: null, activeRequestId: null}, warn).lossless, null);
        assert.deepEqual(problems, []);
    });

    test("the prediction at the last request's context comes with a state and goes with a level change", () => {
        const {warn, problems} = collect();
        const atContext = {contextTokens: 1480, predictedSpeedup: 1.73};
        const state = applyMessage(loaded, {type: "state", model, depth: 6, activeRequestId: null, atContext}, warn);
        assert.deepEqual(state.atContext, atContext);
        assert.equal(withDepth(state, 5).atContext, null);
        assert.equal(applyMessage(state, {type: "level", depth: 5}, warn).atContext, null);
        assert.equal(applyMessage(state, {type: "state", model, depth: 6, activeRequestId: null}, warn).atContext, null);
        assert.deepEqual(problems, []);
    });
});

describe("saved state", () => {
    test("round-trips through JSON", () => {
        const state: PanelState = {
            model,
            configured: null,
            depth: 8,
            lossless: drafting,
            atContext: null,
            history: [
                fixtureRun({depth: 5}),
                fixtureRun({requestId: "req-2", depth: 8, lossless: {acceptanceRate: 0.7, meanTokensPerVerify: 2.4, draftDepth: 6}})
            ],
            request: {requestId: "a", title: "t", text: "x", status: "done"}
        };
        const {warn, problems} = collect();
        assert.deepEqual(restorePanelState(JSON.parse(JSON.stringify(toSavedState(state))), warn), state);
        assert.deepEqual(problems, []);
    });

    test("missing, foreign or damaged state restores as empty, with a warning when it was not just missing", () => {
        const {warn, problems} = collect();
        assert.equal(restorePanelState(undefined, warn), emptyPanelState);
        assert.equal(restorePanelState({version: 0}, warn), emptyPanelState);
        assert.equal(restorePanelState({...toSavedState(loaded), depth: 2}, warn), emptyPanelState);
        assert.equal(problems.length, 2);
    });

    test("a state saved before the Lossless level existed restores at its level", () => {
        const {warn, problems} = collect();
        const {lossless: _lossless, atContext: _atContext, ...older} = toSavedState(loaded);
        assert.deepEqual(restorePanelState(JSON.parse(JSON.stringify(older)), warn), loaded);
        assert.deepEqual(problems, []);
    });
});

describe("slider geometry", () => {
    const steps = offeredSteps(model);

    test("positions are proportional to the speedup ratio", () => {
        assert.equal(positionOf(steps[0], steps), 0);
        assert.equal(positionOf(steps[steps.length - 1], steps), 1);
        const middle = steps[2];
        const max = steps[steps.length - 1].predictedSpeedup;
        assert.ok(Math.abs(positionOf(middle, steps) - (middle.predictedSpeedup - 1) / (max - 1)) < 1e-12);
    });

    test("any position snaps to the nearest step, clamped to the track", () => {
        assert.equal(nearestStepIndex(steps, -3), 0);
        assert.equal(nearestStepIndex(steps, 7), steps.length - 1);
        for (const [index, step] of steps.entries()) assert.equal(nearestStepIndex(steps, positionOf(step, steps) + 0.01), index);
    });

    test("keys: arrows, Page keys, Home and End; others are not handled", () => {
        assert.equal(stepIndexForKey("ArrowRight", 2, 5), 3);
        assert.equal(stepIndexForKey("ArrowUp", 4, 5), 4);
        assert.equal(stepIndexForKey("ArrowLeft", 0, 5), 0);
        assert.equal(stepIndexForKey("ArrowDown", 3, 5), 2);
        assert.equal(stepIndexForKey("PageUp", 0, 40), 4);
        assert.equal(stepIndexForKey("PageDown", 2, 5), 1);
        assert.equal(stepIndexForKey("Home", 3, 5), 0);
        assert.equal(stepIndexForKey("End", 0, 5), 4);
        assert.equal(stepIndexForKey("a", 0, 5), undefined);
    });
});
