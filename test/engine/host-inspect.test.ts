// layerDial/inspect: the machine and a model file's dial, read by the real host from real GGUF files,
// without loading a model (the speed panel shows it before any run; the download command sizes the
// recommended model from the machine).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import {EngineClient, EngineRequestError} from "../../extension/engine-client.js";
import {SPEED_LEVELS} from "../../common/speed-levels.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const pycodePath = path.resolve(root, "../shared/models/pycode-16L.gguf");
const storiesPath = path.resolve(root, "../shared/models/stories260K.gguf");
const calibrationCacheDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-inspect-calibration-"));

describe("engine host: inspect", () => {
    const client = new EngineClient({hostModule: path.join(root, "engine/host/main.ts"), execArgv: ["--import", "tsx"]});
    after(async () => {
        await client.dispose();
        fs.rmSync(calibrationCacheDirectory, {recursive: true, force: true});
    });

    test("describes the machine: this machine's memory, a backend, and no negative VRAM", async () => {
        const {machine, model} = await client.inspect({});
        assert.equal(model, null);
        assert.equal(machine.totalMemoryBytes, os.totalmem());
        assert.ok(machine.freeMemoryBytes > 0 && machine.freeMemoryBytes <= machine.totalMemoryBytes);
        assert.match(machine.backend, /^(cpu|vulkan|cuda|metal)$/);
        assert.ok(machine.vramTotalBytes >= machine.vramFreeBytes && machine.vramFreeBytes >= 0, JSON.stringify(machine));
        if (machine.backend === "cpu") assert.equal(machine.vramTotalBytes, 0);
        else assert.ok(machine.deviceNames.length > 0, JSON.stringify(machine));
    });

    test("previews every level of the table from the file, and loads no model", async () => {
        const {model} = await client.inspect({modelPath: pycodePath, calibrationCacheDirectory});
        assert.ok(model !== null);
        assert.equal(model.path, pycodePath);
        assert.equal(model.fileBytes, fs.statSync(pycodePath).size);
        assert.equal(model.layerCount, 16);
        assert.equal(model.architecture, "llama");
        assert.equal(model.layerSkipSupported, true);
        assert.equal(model.strategy, "even");
        assert.deepEqual(
            model.levels.map((level) => level.level),
            SPEED_LEVELS.map((level) => level.name)
        );
        const quality = model.levels[0];
        assert.deepEqual(
            quality.keptLayers,
            Array.from({length: 16}, (_, layer) => layer)
        );
        assert.equal(quality.predictedSpeedup, 1);
        for (const level of model.levels) {
            assert.ok(level.keptLayers.length >= 2 && level.keptLayers.length <= 16, `${level.level}: ${level.keptLayers.join(",")}`);
            assert.ok(level.keptLayers.includes(0) && level.keptLayers.includes(15), `${level.level} drops the first or last layer`);
            assert.ok(level.predictedSpeedup >= 1);
        }
        const fewest = Math.min(...model.levels.map((level) => level.keptLayers.length));
        assert.equal(model.levels.find((level) => level.level === "Max")?.keptLayers.length, fewest, "Max keeps the fewest layers");
        assert.ok(fewest < 16, "no level skips a layer of a 16-layer model");

        const info = await client.info();
        assert.equal(info.model, null);
        assert.equal(info.openModels, 0);
    });

    test("a second file previews on its own terms (stories260K: 5 layers)", async () => {
        const {model} = await client.inspect({modelPath: storiesPath, calibrationCacheDirectory});
        assert.equal(model?.layerCount, 5);
        assert.equal(model?.levels.length, SPEED_LEVELS.length);
    });

    test("a file that is not a model is a clear error, and the host keeps answering", async () => {
        const notAModel = path.join(calibrationCacheDirectory, "not-a-model.gguf");
        fs.writeFileSync(notAModel, "plain text, not GGUF");
        await assert.rejects(client.inspect({modelPath: notAModel}), (error: Error) => error instanceof EngineRequestError && /GGUF/.test(error.message));
        assert.equal((await client.inspect({})).model, null);
    });
});
