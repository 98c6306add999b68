// `--json [FILE]`, shared by every layer-dial and layer-dial-bench command: which word is the file, and what
// is left for the command's own parser.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {test} from "node:test";
import {emitJson, extractJsonOption} from "../../engine/cli/json-option.js";
import {CliUsageError} from "../../engine/cli/usage-error.js";

test("no --json: nothing printed as JSON, no file, argv unchanged", () => {
    assert.deepEqual(extractJsonOption(["info", "--model", "m.gguf"]), {args: ["info", "--model", "m.gguf"], json: {stdout: false}});
    assert.deepEqual(extractJsonOption([]), {args: [], json: {stdout: false}});
});

test("--json alone prints, wherever it stands", () => {
    assert.deepEqual(extractJsonOption(["info", "--json", "--model", "m.gguf"]), {args: ["info", "--model", "m.gguf"], json: {stdout: true}});
    assert.deepEqual(extractJsonOption(["plan", "--layers", "8", "--json"]), {args: ["plan", "--layers", "8"], json: {stdout: true}});
});

test("--json FILE: the next word is the file only when it ends in .json", () => {
    assert.deepEqual(extractJsonOption(["info", "--json", "out/info.json", "--model", "m.gguf"]), {
        args: ["info", "--model", "m.gguf"],
        json: {stdout: false, file: "out/info.json"}
    });
    assert.deepEqual(extractJsonOption(["speed", "--json", "RESULT.JSON"]), {args: ["speed"], json: {stdout: false, file: "RESULT.JSON"}});
    // the user's input file is never taken as the output
    assert.deepEqual(extractJsonOption(["summarize", "--json", "notes.txt"]), {args: ["summarize", "notes.txt"], json: {stdout: true}});
    assert.deepEqual(extractJsonOption(["summarize", "--json", "-"]), {args: ["summarize", "-"], json: {stdout: true}});
    assert.deepEqual(extractJsonOption(["gpu", "install", "--json", "cuda"]), {args: ["gpu", "install", "cuda"], json: {stdout: true}});
    assert.deepEqual(extractJsonOption(["info", "--json", "report.json.txt"]), {args: ["info", "report.json.txt"], json: {stdout: true}});
    // an option is never a file, even one that ends in .json
    assert.deepEqual(extractJsonOption(["info", "--json", "--model=m.json"]), {args: ["info", "--model=m.json"], json: {stdout: true}});
});

test("--json=FILE names a file of any name", () => {
    assert.deepEqual(extractJsonOption(["info", "--json=out.txt"]), {args: ["info"], json: {stdout: false, file: "out.txt"}});
    assert.deepEqual(extractJsonOption(["info", "--json=a=b.json", "x"]), {args: ["info", "x"], json: {stdout: false, file: "a=b.json"}});
    assert.throws(
        () => extractJsonOption(["info", "--json="]),
        (error) => error instanceof CliUsageError && /--json= needs a file name/.test(error.message)
    );
});

test("--json twice is an error; after -- nothing is an option", () => {
    assert.throws(
        () => extractJsonOption(["info", "--json", "--json", "a.json"]),
        (error) => error instanceof CliUsageError && /more than once/.test(error.message)
    );
    assert.throws(() => extractJsonOption(["info", "--json=a.json", "--json"]), CliUsageError);
    assert.deepEqual(extractJsonOption(["summarize", "--", "--json", "x.json"]), {args: ["summarize", "--", "--json", "x.json"], json: {stdout: false}});
    // a word that merely starts like the option is not it
    assert.deepEqual(extractJsonOption(["info", "--jsonl"]), {args: ["info", "--jsonl"], json: {stdout: false}});
});

test("emitJson prints one line, or writes the file (making its folder) and prints nothing", () => {
    const printed: string[] = [];
    emitJson({stdout: true}, {a: 1, b: [2]}, (text) => printed.push(text));
    assert.deepEqual(printed, ['{"a":1,"b":[2]}\n']);

    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-json-"));
    try {
        const file = path.join(folder, "nested", "out.json");
        const quiet: string[] = [];
        emitJson({stdout: false, file}, {a: 1, b: [2]}, (text) => quiet.push(text));
        assert.equal(quiet.length, 0);
        assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), {a: 1, b: [2]});

        emitJson({stdout: false}, {a: 1}, (text) => quiet.push(text));
        assert.equal(quiet.length, 0);
        assert.deepEqual(fs.readdirSync(folder), ["nested"]);
    } finally {
        fs.rmSync(folder, {recursive: true, force: true});
    }
});
