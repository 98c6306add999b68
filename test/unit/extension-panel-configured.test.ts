// The speed panel before any load: the configured model as read from the disk (no engine, no network),
// and with the engine's preview of its levels; every message passes the panel's own validator.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import type {ModelPreview} from "../../common/engine-protocol.js";
import {parseToWebview, type ConfiguredModel} from "../../common/panel-messages.js";
import {describeConfiguredModel, FIRST_RUN_WALKTHROUGH, withPreview, withPreviewError} from "../../extension/panel/panel-model.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const storiesPath = path.resolve(root, "../shared/models/stories260K.gguf");
const modelsDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-panel-models-"));

function accepted(configured: ConfiguredModel | null): void {
    const problems: string[] = [];
    const message = {type: "state", model: null, depth: null, activeRequestId: null, configured};
    assert.deepEqual(
        parseToWebview(message, (problem) => problems.push(problem)),
        message,
        problems.join("; ")
    );
}

describe("speed panel: the configured model before any load", () => {
    test("a local file: its name and size from the disk, ready to load and to preview", () => {
        const view = describeConfiguredModel(storiesPath, {modelsDirectory});
        assert.equal(view?.info.name, "stories260K.gguf");
        assert.equal(view?.info.status, "ready");
        assert.equal(view?.info.sizeBytes, fs.statSync(storiesPath).size);
        assert.equal(view?.previewPath, storiesPath);
        accepted(view!.info);
    });

    test("nothing configured is null (the panel links to the walkthrough); a missing file and a bad URI say why", () => {
        assert.equal(describeConfiguredModel("  ", {modelsDirectory}), null);
        const missing = describeConfiguredModel(path.join(modelsDirectory, "gone.gguf"), {modelsDirectory});
        assert.equal(missing?.info.status, "missing");
        assert.match(missing?.info.note ?? "", /not found/);
        assert.equal(missing?.previewPath, undefined);
        const bad = describeConfiguredModel("ftp://host/model.gguf", {modelsDirectory});
        assert.equal(bad?.info.status, "missing");
        assert.match(bad?.info.note ?? "", /not a file path or a supported hf: URI/);
        accepted(missing!.info);
        accepted(bad!.info);
    });

    test("an hf: model not downloaded yet: its file name, and the URI the Download button passes", () => {
        const uri = "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";
        const view = describeConfiguredModel(uri, {modelsDirectory});
        assert.deepEqual(
            {name: view?.info.name, status: view?.info.status, uri: view?.uri, previewPath: view?.previewPath},
            {name: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", status: "notDownloaded", uri, previewPath: undefined}
        );
        accepted(view!.info);
    });

    test("with the engine's preview: every level it sent, in its order, with the layer count", () => {
        const view = describeConfiguredModel(storiesPath, {modelsDirectory})!;
        const preview: ModelPreview = {
            path: storiesPath,
            name: "stories260K",
            architecture: "llama",
            fileBytes: view.info.sizeBytes!,
            layerCount: 5,
            layerSkipSupported: true,
            strategy: "even",
            levels: [
                {level: "Quality", keptLayers: [0, 1, 2, 3, 4], predictedSpeedup: 1},
                {level: "Balanced", keptLayers: [0, 1, 2, 4], predictedSpeedup: 1.2},
                {level: "Max", keptLayers: [0, 4], predictedSpeedup: 2.1}
            ]
        };
        const info = withPreview(view.info, preview);
        assert.equal(info.layerCount, 5);
        assert.deepEqual(
            info.levels.map((level) => [level.level, level.keptLayers.length, level.predictedSpeedup]),
            [
                ["Quality", 5, 1],
                ["Balanced", 4, 1.2],
                ["Max", 2, 2.1]
            ]
        );
        assert.match(info.note ?? "", /predicted from the file/);
        accepted(info);
        const unsupported = withPreview(view.info, {...preview, layerSkipSupported: false});
        assert.match(unsupported.note ?? "", /cannot skip layers/);
        const failed = withPreviewError(view.info, "GgufReadError: bad header");
        assert.equal(failed.sizeBytes, view.info.sizeBytes);
        assert.match(failed.note ?? "", /No preview: GgufReadError/);
        accepted(failed);
    });

    test("the walkthrough the panel opens is the one package.json contributes", () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
            publisher: string;
            name: string;
            contributes: {walkthroughs?: {id: string}[]};
        };
        const ids = (manifest.contributes.walkthroughs ?? []).map((walkthrough) => `${manifest.publisher}.${manifest.name}#${walkthrough.id}`);
        assert.ok(ids.includes(FIRST_RUN_WALKTHROUGH), `${FIRST_RUN_WALKTHROUGH} is not one of ${ids.join(", ")}`);
    });
});
