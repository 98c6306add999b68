// Bad input through the layer-dial command (the bundle, as users run it): a one-line error that names the
// problem, exit status 1, never a stack trace, a hang or a signal. The inputs come from a review of what a
// new user tries (issue 15, "Bad input"): dash-leading values, a GGUF header that claims more records than
// its file can hold, and a real model whose vocabulary has no byte tokens.
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {test} from "node:test";
import {fileURLToPath} from "node:url";
import {cliBundle} from "./cli-bundle.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const stories = path.resolve(root, "../shared/models/stories260K.gguf");
/** a trained model whose vocabulary has no byte tokens: llama.cpp throws std::out_of_range for text it cannot encode */
const noByteTokens = path.resolve(root, "../shared/models/tinystories-656k-q8_0.gguf");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-cli-bad-input-"));

type Run = {status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string};

/** the spawn's timeout only turns a hang into a failure; every case here is expected to end by itself */
function layerDial(args: string[]): Run {
    const result = spawnSync(process.execPath, [cliBundle(), ...args], {cwd: root, encoding: "utf8", timeout: 120_000});
    return {status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr};
}

/** what the user reads: the CLI's own lines, without llama.cpp's backend loading chatter */
function messages(run: Run): string[] {
    return run.stderr.split("\n").filter((line) => line.startsWith("layer-dial:"));
}

function assertOneLineError(run: Run, pattern: RegExp): void {
    assert.equal(run.signal, null, `ended by ${run.signal}: ${run.stderr}`);
    assert.equal(run.status, 1, run.stderr);
    const lines = messages(run);
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], pattern);
    assert.doesNotMatch(run.stderr, /^\s+at /m, "a stack trace reached the user");
}

test("a value that starts with a dash is a usage error that shows how to pass it, not a stack trace", () => {
    assertOneLineError(layerDial(["generate", "--prompt", "hi", "--model", stories, "--speed", "-2"]), /--speed.*--speed=-/);
    assertOneLineError(layerDial(["generate", "--prompt", "hi", "--model", stories, "--max-tokens", "-5"]), /--max-tokens/);
});

test("negative numbers written with = are refused by name", () => {
    assertOneLineError(
        layerDial(["generate", "--prompt", "hi", "--model", stories, "--max-tokens=-5"]),
        /--max-tokens must be a positive integer \(got "-5"\)/
    );
    assertOneLineError(layerDial(["plan", "--layers", "24", "--ratio=-2"]), /-2/);
});

test("a GGUF header that claims 2^40 tensors is refused at once, before any parser loops over them", () => {
    const forged = path.join(scratch, "huge-tensor-count.gguf");
    const bytes = fs.readFileSync(stories);
    bytes.writeBigUInt64LE(2n ** 40n, 8);
    fs.writeFileSync(forged, bytes);
    assertOneLineError(layerDial(["info", "--model", forged]), /claims 1099511627776 tensors.*truncated or corrupt/);
});

test("a model without byte tokens loads, and text it cannot encode is a clear error, never an abort", () => {
    const info = layerDial(["info", "--model", noByteTokens, "--json"]);
    assert.equal(info.signal, null, info.stderr);
    assert.equal(info.status, 0, info.stderr);
    assert.equal((JSON.parse(info.stdout) as {architecture: string}).architecture, "llama");

    const run = layerDial(["generate", "--model", noByteTokens, "--prompt", "Snowman ☃ and 日本語 | <|fim_prefix|>", "--max-tokens", "4"]);
    assert.equal(run.signal, null, `the process was killed by ${run.signal}: ${run.stderr}`);
    if (run.status !== 0) assertOneLineError(run, /vocabulary cannot encode some characters.*Remove those characters/);
});

test("model files that are missing, empty, a directory, truncated or not GGUF: one line each that names the file and the problem", () => {
    const empty = path.join(scratch, "empty.gguf");
    fs.writeFileSync(empty, "");
    const directory = path.join(scratch, "a-folder.gguf");
    fs.mkdirSync(directory, {recursive: true});
    const truncated = path.join(scratch, "truncated.gguf");
    fs.writeFileSync(truncated, fs.readFileSync(stories).subarray(0, 64 * 1024));
    const wrongMagic = path.join(scratch, "notes.gguf");
    fs.writeFileSync(wrongMagic, "These are my notes, not a model.\n".repeat(100));
    const cases: [string, string, RegExp][] = [
        ["missing", path.join(scratch, "no-such-model.gguf"), /not found/i],
        ["empty", empty, /empty|truncated|not a readable GGUF/i],
        ["a directory", directory, /folder|directory|not a file/i],
        ["truncated", truncated, /truncated|corrupt|not a readable GGUF/i],
        ["wrong magic", wrongMagic, /not a (readable )?GGUF/i]
    ];
    for (const [what, file, problem] of cases) {
        const run = layerDial(["info", "--model", file]);
        assertOneLineError(run, problem);
        assert.ok(messages(run)[0].includes(path.basename(file)), `${what}: the message should name the file: ${messages(run)[0]}`);
    }
});

test("a model path with spaces and non-ASCII characters works", () => {
    const folder = path.join(scratch, "my models", "Müller 模型");
    fs.mkdirSync(folder, {recursive: true});
    // a link, so the shared model is read in place rather than copied
    const linked = path.join(folder, "stories 260K – ünïcode.gguf");
    if (!fs.existsSync(linked)) fs.symlinkSync(stories, linked);
    const run = layerDial(["generate", "--model", linked, "--prompt", "Once upon a time", "--max-tokens", "4", "--json"]);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout) as {text: string; keptLayers: number[]};
    assert.ok(result.text.length > 0);
    assert.equal(result.keptLayers.length, 5);
});
