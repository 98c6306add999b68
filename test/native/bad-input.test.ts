// Bad model files and unsupported architectures give errors that say what to do; nothing aborts the process.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {test} from "node:test";
import {inspectModelFile, ModelFileCorruptError, ModelFileNotFoundError, ModelLoadError, openModel} from "../../engine/native/model-file.js";
import {testFixtureFor} from "../fixtures/fixture-models.js";
import {patchedBuild, patchedLlama} from "./harness.js";

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-bad-input-"));

test("a missing model file names the path and the next step", async () => {
    const missing = path.join(scratch, "nope.gguf");
    await assert.rejects(
        openModel(await patchedLlama(), missing),
        (error: Error) => error instanceof ModelFileNotFoundError && error.message.includes(missing) && /Select Model/.test(error.message)
    );
});

test("a file that is not GGUF is reported as such", async () => {
    const notGguf = path.join(scratch, "notes.gguf");
    fs.writeFileSync(notGguf, "this is not a model\n".repeat(100));
    const {layerSkipArchitectures} = await patchedBuild();
    await assert.rejects(
        inspectModelFile(notGguf, {layerSkipArchitectures}),
        (error: Error) => error instanceof ModelFileCorruptError && /not a readable GGUF/.test(error.message)
    );
});

test("a truncated GGUF fails to load with a clear error and the process carries on", async () => {
    const source = testFixtureFor("llama").path;
    const truncated = path.join(scratch, "truncated.gguf");
    const bytes = fs.readFileSync(source);
    fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const llama = await patchedLlama();
    await assert.rejects(
        openModel(llama, truncated),
        (error: Error) => (error instanceof ModelLoadError || error instanceof ModelFileCorruptError) && error.message.includes(truncated)
    );

    const {model, info} = await openModel(llama, source);
    assert.equal(info.layerSkipSupported, true);
    assert.equal(info.layerCount, testFixtureFor("llama").layerCount);
    await model.dispose();
});
