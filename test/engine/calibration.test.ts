// Calibration on real models: a greedy order measured on one text beats evenly spaced skipping on a text
// it never saw; the cache is reused, follows the model file's content, and a cancelled run leaves nothing.
// (The default order's shape — first and last kept, nested, balanced at every depth — is tested in
// test/unit/plan-even-order.test.ts; the full numbers are bench/quality.ts's job.)
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, before, describe, test} from "node:test";
import type {Llama} from "node-llama-cpp";
import {CalibrationCancelledError, DEFAULT_CALIBRATION_TEXT, calibrateLayerOrder, readCachedCalibration, textSha256} from "../../engine/calibration/index.js";
import {LayerSkipContext} from "../../engine/native/skip-context.js";
import {buildSchedule, keptLayersAtDepth, skipMaskKeeping, type StrategyName} from "../../engine/plan/index.js";
import {TeacherForcedScorer, prepareTeacherForcedText, tokenizerOfModel} from "../../engine/quality/index.js";
import {patchedLlama} from "../native/harness.js";

const modelsDirectory = new URL("../../../shared/models/", import.meta.url).pathname;
const pycodePath = path.join(modelsDirectory, "pycode-16L.gguf");
const storiesPath = path.join(modelsDirectory, "stories260K.gguf");
const heldOutPath = new URL("../../bench/texts/heldout-python.txt", import.meta.url).pathname;

describe("calibration on real models", () => {
    let llama: Llama;
    let root: string;

    before(async () => {
        llama = await patchedLlama();
        root = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-calibration-"));
    });
    after(() => fs.rmSync(root, {recursive: true, force: true}));

    test("on pycode-16L, the calibrated order beats evenly spaced top-1 agreement at every depth from 12 to 6 on held-out text", async () => {
        const heldOut = fs.readFileSync(heldOutPath, "utf8");
        assert.notEqual(textSha256(heldOut), textSha256(DEFAULT_CALIBRATION_TEXT));
        assert.ok(!DEFAULT_CALIBRATION_TEXT.includes(heldOut.slice(0, 200)), "the held-out text must not be part of the calibration text");

        const model = await llama.loadModel({modelPath: pycodePath});
        let context: LayerSkipContext | undefined;
        try {
            // a short calibration keeps the test quick; it already finds the order the full text finds
            const calibration = await calibrateLayerOrder({
                modelPath: pycodePath,
                llama,
                model,
                cacheDirectory: path.join(root, "pycode"),
                maxTokens: 512,
                threads: 1
            });
            assert.equal(calibration.cached, false);
            assert.equal(calibration.entry.levels.length, 14);

            context = await LayerSkipContext.create(model, {contextSize: 256, batchSize: 256, threads: 1});
            const scorer = await TeacherForcedScorer.create(context, prepareTeacherForcedText(tokenizerOfModel(model), heldOut, {maxTokens: 768}));
            const agreement = async (strategy: StrategyName, depth: number) => {
                const schedule = buildSchedule({layerCount: 16}, {strategy, calibratedOrder: calibration.order});
                return (await scorer.score(skipMaskKeeping(16, keptLayersAtDepth(schedule, depth)))).top1Agreement * 100;
            };
            const lines: string[] = [];
            for (let depth = 12; depth >= 6; depth--) {
                const even = await agreement("even", depth);
                const calibrated = await agreement("calibrated", depth);
                lines.push(`${depth} layers: calibrated ${calibrated.toFixed(1)}% vs even ${even.toFixed(1)}%`);
                assert.ok(calibrated > even, lines.join("\n"));
            }
        } finally {
            await context?.dispose();
            await model.dispose();
        }
    });

    test("reuses the cached order for the same model file and measures again once the file changes", async () => {
        const modelPath = path.join(root, "stories-copy.gguf");
        fs.copyFileSync(storiesPath, modelPath);
        const cacheDirectory = path.join(root, "stories-cache");
        const options = {modelPath, llama, cacheDirectory, maxTokens: 160, windowTokens: 64, threads: 1};

        const first = await calibrateLayerOrder(options);
        assert.equal(first.cached, false);
        assert.equal(first.order.length, 3);
        assert.ok(fs.existsSync(first.cacheFile));

        const second = await calibrateLayerOrder(options);
        assert.equal(second.cached, true);
        assert.deepEqual(second.order, first.order);
        assert.equal(second.cacheFile, first.cacheFile);
        // the same text, named explicitly, still matches; another text does not
        assert.equal((await calibrateLayerOrder({...options, text: DEFAULT_CALIBRATION_TEXT})).cached, true);

        // flip the lowest bit of one weight byte: still a loadable model, but not the same one
        const handle = fs.openSync(modelPath, "r+");
        const offset = fs.statSync(modelPath).size - 4;
        const byte = Buffer.alloc(1);
        fs.readSync(handle, byte, 0, 1, offset);
        fs.writeSync(handle, Buffer.from([byte[0] ^ 1]), 0, 1, offset);
        fs.closeSync(handle);
        assert.equal(await readCachedCalibration(cacheDirectory, modelPath), undefined);

        const third = await calibrateLayerOrder(options);
        assert.equal(third.cached, false);
        assert.notEqual(third.entry.fingerprint, first.entry.fingerprint);
        // the old version's entry can never match again, so it is gone
        assert.deepEqual(fs.readdirSync(cacheDirectory), [path.basename(third.cacheFile)]);
    });

    test("cancelling a calibration, during the reference pass or the search, leaves no cache behind", async () => {
        const cacheDirectory = path.join(root, "cancelled");
        for (const when of ["reference", "search"] as const) {
            const controller = new AbortController();
            const run = calibrateLayerOrder({
                modelPath: storiesPath,
                llama,
                cacheDirectory,
                maxTokens: 160,
                windowTokens: 64,
                threads: 1,
                force: true,
                signal: controller.signal,
                onProgress: (progress) => {
                    if (when === "reference" ? progress.phase === "reference" : progress.evaluationsDone === 2) controller.abort();
                }
            });
            await assert.rejects(run, CalibrationCancelledError);
            assert.deepEqual(fs.existsSync(cacheDirectory) ? fs.readdirSync(cacheDirectory) : [], [], `after cancelling in the ${when} phase`);
        }
        const aborted = new AbortController();
        aborted.abort();
        await assert.rejects(calibrateLayerOrder({modelPath: storiesPath, llama, cacheDirectory, signal: aborted.signal}), CalibrationCancelledError);
        assert.equal(fs.existsSync(cacheDirectory), false);
    });
});
