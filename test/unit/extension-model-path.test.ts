// Where layerDial.model points, and the checks made before the engine is asked to load it.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import {
    ModelFileMissingError,
    ModelNotDownloadedError,
    NoModelConfiguredError,
    NotAGgufFileError,
    RelativeModelPathError,
    UnsupportedModelUriError
} from "../../extension/errors.js";
import {checkModelFile, downloadFileName, parseHfUri, readDownloadsIndex, recordDownload, resolveModelSetting} from "../../extension/models/model-path.js";
import {RECOMMENDED_MODEL_URI} from "../../extension/settings.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const storiesPath = path.resolve(root, "../shared/models/stories260K.gguf");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-model-path-"));
const modelsDirectory = path.join(scratch, "models");
after(() => fs.rmSync(scratch, {recursive: true, force: true}));

const options = {modelsDirectory, workspaceFolder: "/work/project", homeDirectory: "/home/me"};

describe("parseHfUri", () => {
    test("reads the file form and the quant form", () => {
        assert.deepEqual(parseHfUri(RECOMMENDED_MODEL_URI), {
            uri: RECOMMENDED_MODEL_URI,
            owner: "Qwen",
            repo: "Qwen2.5-Coder-1.5B-Instruct-GGUF",
            filePath: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            quant: undefined,
            branch: undefined
        });
        assert.deepEqual(parseHfUri("hf:user/model:Q4_K_M"), {
            uri: "hf:user/model:Q4_K_M",
            owner: "user",
            repo: "model",
            quant: "Q4_K_M",
            filePath: undefined,
            branch: undefined
        });
        assert.equal(parseHfUri("hf:user/model/sub/dir/m.gguf#dev")?.branch, "dev");
    });

    test("refuses what would escape the models folder or is not a model file", () => {
        assert.equal(parseHfUri("hf:user/model/../../etc/passwd.gguf"), undefined);
        assert.equal(parseHfUri("hf:user/model/readme.md"), undefined);
        assert.equal(parseHfUri("hf:user"), undefined);
        assert.equal(parseHfUri("https://example.com/m.gguf"), undefined);
    });

    test("downloads get one flat, safe file name per repository and file", () => {
        assert.equal(downloadFileName(parseHfUri("hf:a/b/dir/m.gguf")!), "a__b__dir_m.gguf");
        assert.equal(downloadFileName(parseHfUri("hf:a/b:Q8_0")!), undefined);
    });
});

describe("resolveModelSetting", () => {
    test("empty: no model configured, with the commands that fix it", () => {
        assert.throws(
            () => resolveModelSetting("  ", options),
            (error: Error) => error instanceof NoModelConfiguredError && /Select Model/.test(error.message) && /Download Recommended Model/.test(error.message)
        );
    });

    test("absolute, home-relative and workspace-relative paths", () => {
        assert.deepEqual(resolveModelSetting("/m/a.gguf", options), {kind: "file", path: "/m/a.gguf"});
        assert.deepEqual(resolveModelSetting("~/models/a.gguf", options), {kind: "file", path: "/home/me/models/a.gguf"});
        assert.deepEqual(resolveModelSetting("models/a.gguf", options), {kind: "file", path: "/work/project/models/a.gguf"});
        assert.deepEqual(resolveModelSetting("../shared/a.gguf", options), {kind: "file", path: "/work/shared/a.gguf"});
        assert.deepEqual(resolveModelSetting("file:///m/b.gguf", options), {kind: "file", path: "/m/b.gguf"});
        // spaces and non-ASCII names arrive percent-encoded in a file: URI
        assert.deepEqual(resolveModelSetting("file:///m/my%20models/m%C3%BCller-%E6%A8%A1%E5%9E%8B.gguf", options), {
            kind: "file",
            path: "/m/my models/müller-模型.gguf"
        });
    });

    test("a relative path without an open folder says how to fix it", () => {
        assert.throws(() => resolveModelSetting("models/a.gguf", {modelsDirectory}), RelativeModelPathError);
    });

    test("an unknown scheme is refused", () => {
        assert.throws(() => resolveModelSetting("s3://bucket/m.gguf", options), UnsupportedModelUriError);
        assert.throws(() => resolveModelSetting("hf:nope", options), UnsupportedModelUriError);
    });

    test("an hf: URI resolves to the models folder, downloaded or not, without any network", () => {
        const location = resolveModelSetting(RECOMMENDED_MODEL_URI, options);
        assert.equal(location.kind, "hf");
        assert.equal(location.path, path.join(modelsDirectory, "Qwen__Qwen2.5-Coder-1.5B-Instruct-GGUF__qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"));
        assert.equal(location.kind === "hf" && location.downloaded, false);
    });

    test("a quant-form URI is found through the downloads index once downloaded", () => {
        const uri = "hf:someone/tiny:Q8_0";
        assert.equal(resolveModelSetting(uri, options).kind === "hf" && resolveModelSetting(uri, options).path.includes("(not downloaded)"), true);
        fs.mkdirSync(modelsDirectory, {recursive: true});
        const file = path.join(modelsDirectory, "tiny-Q8_0.gguf");
        fs.copyFileSync(storiesPath, file);
        recordDownload(modelsDirectory, uri, file);
        assert.deepEqual(readDownloadsIndex(modelsDirectory), {[uri]: file});
        const location = resolveModelSetting(uri, options);
        assert.equal(location.path, file);
        assert.equal(location.kind === "hf" && location.downloaded, true);
    });

    test("a corrupt downloads index counts as empty", () => {
        const directory = path.join(scratch, "bad-index");
        fs.mkdirSync(directory);
        fs.writeFileSync(path.join(directory, "downloads.json"), "{not json");
        assert.deepEqual(readDownloadsIndex(directory), {});
    });
});

describe("checkModelFile", () => {
    test("a real GGUF passes", async () => {
        assert.equal(await checkModelFile({kind: "file", path: storiesPath}), storiesPath);
    });

    test("missing, a folder, empty and not-GGUF files each get their own message", async () => {
        await assert.rejects(
            checkModelFile({kind: "file", path: path.join(scratch, "nope.gguf")}),
            (error: Error) => error instanceof ModelFileMissingError && /not found/.test(error.message)
        );
        await assert.rejects(
            checkModelFile({kind: "file", path: scratch}),
            (error: Error) => error instanceof ModelFileMissingError && /not a file/.test(error.message)
        );
        const empty = path.join(scratch, "empty.gguf");
        fs.writeFileSync(empty, "");
        await assert.rejects(checkModelFile({kind: "file", path: empty}), (error: Error) => error instanceof NotAGgufFileError && /empty/.test(error.message));
        const text = path.join(scratch, "notes.gguf");
        fs.writeFileSync(text, "these are notes, not a model");
        await assert.rejects(
            checkModelFile({kind: "file", path: text}),
            (error: Error) => error instanceof NotAGgufFileError && /incomplete download/.test(error.message)
        );
    });

    test("an hf: model that is not downloaded asks for the download instead of starting one", async () => {
        const location = resolveModelSetting(RECOMMENDED_MODEL_URI, options);
        await assert.rejects(checkModelFile(location), (error: Error) => error instanceof ModelNotDownloadedError && error.uri === RECOMMENDED_MODEL_URI);
    });
});
