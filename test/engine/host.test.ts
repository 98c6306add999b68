// The engine host process over JSON-RPC: streaming, speed changes, errors for bad input, cancellation,
// and recovery from a native abort (the next request starts a fresh host).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import v8 from "node:v8";
import {runInNewContext} from "node:vm";
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
        // the plan after the run predicts at the context it left, and the client's copy (which the status bar
        // and the panel read) is refreshed from it
        const atContext = result.plan?.atContext;
        assert.equal(atContext?.contextTokens, result.stats.promptTokens + result.stats.generatedTokens);
        assert.deepEqual(client.loadedModel?.plan.atContext, atContext);
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
        // the prompt cached at Quality runs again at Max (a fresh run's answer), and is reused at Max after that
        assert.equal(fast.stats.reusedPromptTokens, 0, "a prompt computed at another level was reused");
        const again = await client.complete({prefix: "Once upon a time", suffix: "\n", speed: {speed: "Max"}, maxTokens: 4});
        assert.ok(again.stats.reusedPromptTokens > 0, "the prompt's KV cache carried over at the same level");
        assert.equal(again.text, fast.text);

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

describe("engine host: loads, unloads and calibration take turns", () => {
    const tinyStoriesPath = path.resolve(root, "../shared/models/tinystories-656k-q8_0.gguf");
    const {client} = newClient();
    let crashes = 0;
    const crashListener = client.onDidCrash(() => crashes++);
    after(async () => {
        crashListener.dispose();
        await client.dispose();
    });

    test("two overlapping loads leave exactly one model open: the one asked for last", async () => {
        const [first, second] = await Promise.all([
            client.load({modelPath: storiesPath, contextSize: 256, threads: 1, calibrationCacheDirectory}),
            client.load({modelPath: tinyStoriesPath, contextSize: 256, threads: 1, calibrationCacheDirectory})
        ]);
        assert.equal(first.layerCount, 5);
        assert.equal(second.layerCount, 2);
        const info = await client.info();
        assert.equal(info.openModels, 1, "the first load's model was never disposed");
        assert.equal(info.model?.path, tinyStoriesPath);
    });

    test("an unload during Calibrate Model cancels it and waits for it: the host lives on and loads again", async () => {
        const cacheDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-host-unload-calibration-"));
        await client.load({modelPath: storiesPath, contextSize: 256, threads: 1, calibrationCacheDirectory: cacheDirectory});
        // the unload is sent once calibration reports progress, i.e. while its decodes run
        const started = new Promise<void>((resolve) => {
            const listener = client.onProgress(() => {
                listener.dispose();
                resolve();
            });
        });
        const calibrating = client.calibrate({force: true});
        const settled = calibrating.then(
            () => "completed",
            (error: unknown) => error
        );
        await started;
        await client.unload();
        const outcome = await settled;
        // it either finished in the moment before the unload took its turn, or was cancelled by it
        assert.ok(
            outcome === "completed" || (outcome instanceof EngineRequestError && outcome.code === ErrorCodes.aborted),
            `calibration ended with ${String(outcome)}`
        );
        const info = await client.info();
        assert.equal(info.model, null);
        assert.equal(info.openModels, 0);
        await client.load({modelPath: storiesPath, contextSize: 256, threads: 1, calibrationCacheDirectory: cacheDirectory});
        const result = await client.generate({prompt: "Once upon a time", maxTokens: 8});
        assert.equal(result.stopReason, "maxTokens");
        assert.equal(crashes, 0, "the host crashed");
    });
});

describe("engine client: a settled request's result is released", () => {
    const {client} = newClient();
    after(async () => await client.dispose());

    test("once the caller drops a result it can be garbage-collected, while the same host keeps running", async () => {
        v8.setFlagsFromString("--expose-gc");
        const gc = runInNewContext("gc") as () => void;
        const pid = (await client.info()).pid;
        const results: WeakRef<object>[] = [];
        for (let i = 0; i < 20; i++) results.push(new WeakRef(await client.info()));
        // a WeakRef keeps its target until the job that made it ends
        await new Promise((resolve) => setImmediate(resolve));
        gc();
        const kept = results.filter((result) => result.deref() !== undefined).length;
        assert.equal(kept, 0, `${kept} of 20 settled results are still reachable from the client`);
        assert.equal((await client.info()).pid, pid);
    });
});
