// The engine host process over JSON-RPC: streaming, speed changes, errors for bad input, cancellation,
// and recovery from a native abort (the next request starts a fresh host).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import {EngineClient, EngineHostExitedError, EngineRequestError} from "../../extension/engine-client.js";
import {ErrorCodes} from "../../common/engine-protocol.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const storiesPath = path.resolve(root, "../shared/models/stories260K.gguf");

function newClient() {
    const logs: string[] = [];
    const client = new EngineClient({
        hostModule: path.join(root, "engine/host/main.ts"),
        execArgv: ["--import", "tsx"],
        env: {...process.env, LAYER_DIAL_TEST_HOOKS: "1"},
        log: (level, message) => logs.push(`${level}: ${message}`)
    });
    return {client, logs};
}

const calibrationCacheDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-host-calibration-"));

describe("engine host", () => {
    const {client, logs} = newClient();
    after(async () => await client.dispose());

    test("a request before any model is loaded says what to do", async () => {
        await assert.rejects(
            client.generate({prompt: "hi"}),
            (error: Error) => error instanceof EngineRequestError && error.code === ErrorCodes.noModel && /Select Model/.test(error.message)
        );
    });

    test("a missing model file is a clear error, and a good one loads afterwards", async () => {
        await assert.rejects(
            client.load({modelPath: path.join(root, "no-such-model.gguf")}),
            (error: Error) => error instanceof EngineRequestError && error.code === ErrorCodes.modelFile && /not found/.test(error.message)
        );
        const summary = await client.load({modelPath: storiesPath, contextSize: 256, sequences: 2, threads: 1, calibrationCacheDirectory});
        assert.equal(summary.layerCount, 5);
        assert.equal(summary.architecture, "llama");
        assert.equal(summary.stops[0].depth, 5);
        assert.equal(summary.plan.depth, 5);
    });

    test("streams tokens and reports kept layers and stats", async () => {
        const pieces: string[] = [];
        const result = await client.generate({prompt: "Once upon a time", maxTokens: 12}, {onText: (piece) => pieces.push(piece)});
        assert.ok(result.text.startsWith(", there was a little girl named Lily"), result.text);
        assert.equal(pieces.join(""), result.text);
        assert.deepEqual(result.keptLayers, [0, 1, 2, 3, 4]);
        assert.equal(result.stats.generatedTokens, 12);
        assert.ok(result.stats.decodeTokensPerSecond > 0);
    });

    test("a speed change applies to the next request; invalid ratios are refused and the host keeps working", async () => {
        const plan = await client.setSpeed({speed: "Faster"});
        assert.ok(plan.depth < 5);
        const result = await client.generate({prompt: "Once upon a time", maxTokens: 6});
        assert.equal(result.keptLayers.length, plan.depth);
        assert.deepEqual(result.skippedLayers, plan.skippedLayers);

        for (const speed of [0.5, Number.NaN])
            await assert.rejects(client.setSpeed({speed}), (error: Error) => error instanceof EngineRequestError && error.code === ErrorCodes.badInput);
        await assert.rejects(
            client.setSpeed({skipLayers: [0, 1, 2, 3, 4]}),
            (error: Error) => error instanceof EngineRequestError && error.code === ErrorCodes.badInput
        );
        const clamped = await client.setSpeed({speed: 100});
        assert.ok(clamped.message != null && clamped.predictedSpeedup === clamped.maxSpeedup);
        await client.setSpeed({speed: 1});
    });

    test("calibration finds a layer order, switches the dial to it, and is reused from the cache", async () => {
        const progress: string[] = [];
        const subscription = client.onProgress((report) => progress.push(report.message));
        const first = await client.calibrate();
        subscription.dispose();
        assert.deepEqual([...first.order].sort(), [1, 2, 3]);
        assert.equal(first.cached, false);
        assert.equal(first.plan.strategy, "calibrated");
        assert.ok(progress.length > 0, "calibration should report progress");
        assert.ok(fs.existsSync(first.cacheFile));
        const second = await client.calibrate();
        assert.equal(second.cached, true);
        assert.deepEqual(second.order, first.order);
        const plan = await client.setSpeed({speed: "Faster"});
        assert.equal(plan.strategy, "calibrated");
        await client.setSpeed({speed: 1});
    });

    test("cancelling returns the partial answer with stopReason 'aborted'", async () => {
        const controller = new AbortController();
        let pieces = 0;
        const result = await client.generate(
            {prompt: "Once upon a time", maxTokens: 200},
            {
                signal: controller.signal,
                onText: () => {
                    if (++pieces === 2) controller.abort();
                }
            }
        );
        assert.equal(result.stopReason, "aborted");
        assert.ok(result.tokens < 200);
    });

    test("completes at a cursor through the host at its own speed; an aborted completion has no text", async () => {
        const result = await client.complete({prefix: "Once upon a time", suffix: "\n", speed: {speed: "Quality"}, maxTokens: 16});
        assert.equal(result.style, "prefix");
        assert.ok(result.text.startsWith(", there was a little girl named Lily"), result.text);
        assert.ok(!result.text.includes("\n"));
        assert.equal(result.stats.keptLayers, 5);
        const fast = await client.complete({prefix: "Once upon a time", suffix: "\n", speed: {speed: "Max"}, maxTokens: 4});
        assert.ok(fast.stats.keptLayers < 5);
        assert.ok(fast.stats.reusedPromptTokens > 0, "the prompt's KV cache carried over");

        const controller = new AbortController();
        controller.abort();
        const aborted = await client.complete({prefix: "The dog", suffix: "", maxTokens: 200}, {signal: controller.signal});
        assert.equal(aborted.stopReason, "aborted");
        assert.equal(aborted.text, "");
    });

    test("a native abort in the host fails the request in flight; the next request gets a fresh host with the same model", async () => {
        const firstPid = (await client.info()).pid;
        const inFlight = client.generate({prompt: "Once upon a time", maxTokens: 200});
        const abort = client.sendRaw("layerDial/test/abort").catch(() => undefined);
        await assert.rejects(inFlight, EngineHostExitedError);
        await abort;
        const result = await client.generate({prompt: "Once upon a time", maxTokens: 8});
        assert.equal(result.stopReason, "maxTokens");
        const info = await client.info();
        assert.notEqual(info.pid, firstPid);
        assert.equal(info.model?.layerCount, 5);
        assert.ok(
            logs.some((line) => /exited unexpectedly/.test(line)),
            "the crash should be logged"
        );
    });
});
