// What the extension tells the speed panel, checked with the panel's own validators: a message the
// panel would drop is a bug on this side.
import assert from "node:assert/strict";
import {describe, test} from "node:test";
import type {GenerateResult, ModelSummary, PlanInfo} from "../../common/engine-protocol.js";
import {panelContextPrediction, panelDepth, panelLossless, panelModelInfo, panelRunStats} from "../../extension/panel/panel-model.js";
import {buildPanelHtml, createNonce} from "../../extension/panel/panel-html.js";
import {parseToWebview} from "../../common/panel-messages.js";

function plan(keptLayers: number[], layerCount: number, overrides: Partial<PlanInfo> = {}): PlanInfo {
    return {
        layerCount,
        depth: keptLayers.length,
        keptLayers,
        skippedLayers: [],
        strategy: "even",
        requestedSpeedup: 1,
        targetSpeedup: 1,
        predictedSpeedup: 1,
        maxSpeedup: 2.21,
        message: null,
        ...overrides
    };
}

function summary(overrides: Partial<ModelSummary> = {}): ModelSummary {
    return {
        path: "/models/stories260K.gguf",
        name: "stories260K",
        architecture: "llama",
        layerCount: 5,
        layerSkipSupported: true,
        contextSize: 2048,
        sequences: 1,
        threads: 2,
        prefill: "full",
        costModelSource: "calibrated",
        fullSpeedTokensPerSecond: 130,
        maxSpeedup: 2.21,
        completionStyle: "prefix",
        stops: [
            {depth: 5, predictedSpeedup: 1, keptLayers: [0, 1, 2, 3, 4]},
            {depth: 4, predictedSpeedup: 1.22, keptLayers: [0, 1, 3, 4]},
            {depth: 3, predictedSpeedup: 1.58, keptLayers: [4, 0, 2]},
            {depth: 2, predictedSpeedup: 2.21, keptLayers: [0, 4]}
        ],
        plan: plan([0, 1, 3, 4], 5),
        build: {binsDirectory: "/ext/dist/native", buildType: "localBuild"},
        compute: {backend: "cpu", deviceNames: [], offloadedLayers: 0, offloadableLayers: 6},
        ...overrides
    };
}

const accept = (message: unknown) => parseToWebview(message, (problem) => assert.fail(problem));

describe("panel model", () => {
    test("a loaded model becomes a state message the panel accepts", () => {
        const model = panelModelInfo(summary());
        assert.equal(model.name, "stories260K.gguf");
        assert.equal(model.gpu, "CPU · 2 threads");
        assert.deepEqual(model.steps[2].keptLayers, [0, 2, 4]);
        const depth = panelDepth(model, summary().plan);
        assert.equal(depth, 4);
        assert.ok(accept({type: "state", model, depth, activeRequestId: null, history: []}));
    });

    test("the header names the GPU backend, its device and the offloaded layers", () => {
        const model = panelModelInfo(
            summary({compute: {backend: "vulkan", deviceNames: ["llvmpipe (LLVM 15.0.6, 256 bits)"], offloadedLayers: 6, offloadableLayers: 6}})
        );
        assert.equal(model.gpu, "Vulkan · llvmpipe (LLVM 15.0.6, 256 bits) · 6/6 layers offloaded");
        assert.ok(accept({type: "state", model, depth: 5, activeRequestId: null, history: []}));
    });

    test("a plan depth the panel does not offer (an explicit mask) shows as the full model", () => {
        const model = panelModelInfo(summary());
        assert.equal(panelDepth(model, plan([0, 2, 3, 4], 5, {depth: 4, strategy: "explicit"})), 4);
        const odd = panelModelInfo(summary({stops: [{depth: 5, predictedSpeedup: 1, keptLayers: [0, 1, 2, 3, 4]}]}));
        assert.equal(panelDepth(odd, plan([0, 4], 5)), 5);
    });

    test("a model that cannot skip layers still has its full depth to show", () => {
        const model = panelModelInfo(summary({layerSkipSupported: false, stops: []}));
        assert.deepEqual(model.steps, [{depth: 5, predictedSpeedup: 1, keptLayers: [0, 1, 2, 3, 4]}]);
        assert.ok(accept({type: "state", model, depth: 5, activeRequestId: null}));
    });

    test("a finished run becomes run stats the panel accepts, with or without a measured speedup", () => {
        const stats = {
            promptTokens: 5,
            reusedPromptTokens: 0,
            generatedTokens: 40,
            recomputedTokens: 0,
            promptTokensPerSecond: 400,
            decodeTokensPerSecond: 130.5,
            keptLayers: 3,
            layerCount: 5,
            targetSpeedup: 1.5,
            predictedSpeedup: 1.58,
            achievedSpeedup: 1.49,
            batch: 1,
            compute: "cpu"
        };
        const result: GenerateResult = {requestId: "r1", text: "…", tokens: 40, stopReason: "maxTokens", keptLayers: [0, 2, 4], skippedLayers: [1, 3], stats};
        const run = panelRunStats("ext-1", result, 1_700_000_000_000.7);
        assert.deepEqual(run, {
            requestId: "ext-1",
            depth: 3,
            targetSpeedup: 1.58,
            tokensPerSecond: 130.5,
            achievedSpeedup: 1.49,
            tokens: 40,
            finishedAt: 1_700_000_000_000
        });
        assert.ok(accept({type: "runStats", run}));
        const unmeasured = panelRunStats("ext-2", {...result, stats: {...stats, achievedSpeedup: null}}, 0);
        assert.equal("achievedSpeedup" in unmeasured, false);
        assert.ok(accept({type: "runStats", run: unmeasured}));

        const speculation = {
            draftDepth: 3,
            speculativeSteps: 10,
            plainSteps: 2,
            draftedTokens: 30,
            acceptedDrafts: 21,
            acceptanceRate: 0.7,
            meanTokensPerVerify: 3.1,
            predictedSpeedup: 1.2
        };
        const lossless = panelRunStats("ext-3", {...result, stats: {...stats, keptLayers: 5, speculation}}, 0);
        assert.deepEqual(lossless.lossless, {acceptanceRate: 0.7, meanTokensPerVerify: 3.1, draftDepth: 3});
        assert.ok(accept({type: "runStats", run: lossless}));
    });

    test("a plan's prediction at the last request's context becomes one the panel accepts", () => {
        const atContext = panelContextPrediction({contextTokens: 1480.4, predictedSpeedup: 1.73});
        assert.deepEqual(atContext, {contextTokens: 1480, predictedSpeedup: 1.73});
        const model = panelModelInfo(summary());
        assert.ok(accept({type: "state", model, depth: 4, activeRequestId: null, atContext}));
    });

    test("at the Lossless level the panel shows the full model's depth and the drafter", () => {
        const info = {
            mode: "draft" as const,
            draftDepth: 3,
            draftLength: 2,
            acceptanceRate: 0.74,
            predictedSpeedup: 1.18,
            depths: [{depth: 3, acceptanceRate: 0.74, judged: 50}]
        };
        const losslessPlan = plan([0, 1, 2, 3, 4], 5, {lossless: info});
        const model = panelModelInfo(summary({plan: losslessPlan}));
        const depth = panelDepth(model, losslessPlan);
        const lossless = panelLossless(losslessPlan);
        assert.equal(depth, 5);
        assert.deepEqual(lossless, {mode: "draft", draftDepth: 3, draftLength: 2, acceptanceRate: 0.74, predictedSpeedup: 1.18});
        assert.ok(accept({type: "state", model, depth, activeRequestId: null, lossless}));
        assert.equal(panelLossless(summary().plan), undefined);
        const learning = panelLossless(
            plan([0, 1, 2, 3, 4], 5, {lossless: {...info, mode: "learning", draftDepth: null, draftLength: null, acceptanceRate: null}})
        );
        assert.ok(accept({type: "state", model, depth, activeRequestId: null, lossless: learning}));
    });
});

describe("webview CSP source", () => {
    test("VS Code's source list goes into the panel's policy as it is", () => {
        const html = buildPanelHtml({
            cspSource: "'self' https://*.vscode-cdn.net",
            nonce: createNonce(),
            scriptUri: "https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/panel.js",
            styleUris: ["https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/panel.css"],
            codiconUri: "https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/codicons/codicon.css"
        });
        assert.match(html, /style-src 'self' https:\/\/\*\.vscode-cdn\.net;/);
        assert.throws(() =>
            buildPanelHtml({
                cspSource: "'self' 'unsafe-inline'",
                nonce: createNonce(),
                scriptUri: "https://x/panel.js",
                styleUris: [],
                codiconUri: "https://x/c.css"
            })
        );
    });
});
