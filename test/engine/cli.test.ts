// The layer-dial command as a user runs it (the bundle, dist/cli/layer-dial.mjs): output, JSON, exit codes
// and messages for bad input.
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

function layerDial(args: string[], input?: string, cwd = root) {
    const result = spawnSync(process.execPath, [cliBundle(), ...args], {cwd, input, encoding: "utf8", timeout: 120_000});
    return {status: result.status, stdout: result.stdout, stderr: result.stderr};
}

test("plan: the kept layers for a ratio, balanced, first and last kept", () => {
    const {status, stdout} = layerDial(["plan", "--layers", "32", "--ratio", "3", "--json"]);
    assert.equal(status, 0);
    const plan = JSON.parse(stdout) as {keptLayers: number[]; depth: number; predictedSpeedup: number};
    assert.equal(plan.keptLayers[0], 0);
    assert.equal(plan.keptLayers.at(-1), 31);
    assert.ok(Math.abs(plan.predictedSpeedup - 3) < 0.25);
    const gaps = plan.keptLayers.slice(1).map((layer, i) => layer - plan.keptLayers[i]);
    assert.ok(Math.max(...gaps) <= 7, `the largest skipped block is ${Math.max(...gaps) - 1} layers`);
});

test("generate --json prints one object with text, kept and skipped layers and stats", () => {
    const {status, stdout, stderr} = layerDial([
        "generate",
        "--model",
        stories,
        "--prompt",
        "Once upon a time",
        "--max-tokens",
        "12",
        "--skip-layers",
        "2",
        "--threads",
        "1",
        "--json"
    ]);
    assert.equal(status, 0, stderr);
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
        text: string;
        tokens: number;
        keptLayers: number[];
        skippedLayers: number[];
        stats: {generatedTokens: number};
    };
    assert.deepEqual(result.skippedLayers, [2]);
    assert.deepEqual(result.keptLayers, [0, 1, 3, 4]);
    assert.equal(result.tokens, 12);
    assert.ok(result.text.length > 10);
});

test("summarize reads standard input and streams text", () => {
    const {status, stdout, stderr} = layerDial(
        ["summarize", "-", "--model", stories, "--max-tokens", "16", "--threads", "1", "--speed", "Balanced"],
        "Lily and Tom went to the park. They played with a red ball all day."
    );
    assert.equal(status, 0, stderr);
    assert.ok(stdout.trim().length > 10, stdout);
    // Balanced skips at least one layer; how many follows stories260K's speed calibration on this machine
    // (it calibrates now that its token ids stay inside the 512-token vocabulary), so it is not fixed here.
    // A calibration taken while the machine is busy can even put 1.25x beyond the model's fastest setting,
    // and then the CLI says so and runs at that setting.
    const run = /\[cpu, [1-4]\/5 layers, target ([\d.]+)x/.exec(stderr);
    assert.ok(run, stderr);
    if (run[1] !== "1.25") {
        // the message trims trailing zeros (formatSpeedup: "1.2x"), the run's line does not ("1.20x")
        const fallback = /1\.25x is beyond this model's fastest setting; using ([\d.]+)x/.exec(stderr);
        assert.ok(fallback, stderr);
        assert.equal(Number(fallback[1]), Number(run[1]), stderr);
    }
});

test("bad input: a ratio below 1, both --speed and --skip-layers, a missing model, an empty summary", () => {
    const belowOne = layerDial(["plan", "--layers", "24", "--ratio", "0.5"]);
    assert.equal(belowOne.status, 1);
    assert.match(belowOne.stderr, /not valid.*from 1/);

    const both = layerDial(["generate", "--model", stories, "--prompt", "x", "--speed", "2", "--skip-layers", "1"]);
    assert.equal(both.status, 1);
    assert.match(both.stderr, /either --speed or --skip-layers/);

    const missing = layerDial(["generate", "--model", path.join(root, "missing.gguf"), "--prompt", "x"]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /Model file not found/);

    const empty = layerDial(["summarize", "-", "--model", stories], "   \n");
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /nothing to summarize/);

    const everyLayer = layerDial(["generate", "--model", stories, "--prompt", "x", "--skip-layers", "0-4", "--threads", "1"]);
    assert.equal(everyLayer.status, 1);
    assert.match(everyLayer.stderr, /every layer|at least one/i);
});

test("the bundle runs on plain Node: no tsx in it, and --help works", () => {
    // no import of tsx (a devDependency) or of a TypeScript file
    const bundle = fs.readFileSync(cliBundle(), "utf8");
    assert.doesNotMatch(bundle, /["']tsx(\/[^"']*)?["']/);
    assert.doesNotMatch(bundle, /import\(["'][^"']*\.ts["']\)/);
    const {status, stdout} = layerDial(["--help"]);
    assert.equal(status, 0);
    assert.match(stdout, /^Usage: layer-dial <command>/);
    assert.match(stdout, /--json \[FILE\]/);
    assert.doesNotMatch(stdout, /^\s+bench /m, "the benchmarks are not layer-dial commands");
});

test("info --json out.json, from another folder: the file holds what --json prints, and the text output stays", () => {
    const printed = layerDial(["info", "--model", stories, "--threads", "1", "--json"]);
    assert.equal(printed.status, 0, printed.stderr);
    const fromStdout = JSON.parse(printed.stdout) as Record<string, unknown>;

    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-cli-"));
    try {
        // relative to the working folder, in a folder that does not exist yet
        const written = layerDial(["info", "--model", stories, "--threads", "1", "--json", "results/info.json"], undefined, folder);
        assert.equal(written.status, 0, written.stderr);
        assert.match(written.stdout, /^stories260K\.gguf: llama, 5 layers/);
        assert.throws(() => JSON.parse(written.stdout), "stdout holds the text, not JSON");
        const fromFile = JSON.parse(fs.readFileSync(path.join(folder, "results/info.json"), "utf8")) as Record<string, unknown>;
        // two loads, two speed calibrations: on a busy machine either may be refused as too spread, and only
        // that one then carries speedCalibrationError (CI saw it once); every other key is the same
        const keys = (summary: Record<string, unknown>) =>
            Object.keys(summary)
                .filter((key) => key !== "speedCalibrationError")
                .sort();
        assert.deepEqual(keys(fromFile), keys(fromStdout));
        for (const field of ["path", "name", "architecture", "layerCount", "layerSkipSupported", "contextSize", "compute"])
            assert.deepEqual(fromFile[field], fromStdout[field], field);
        assert.ok(Object.keys(fromFile).length >= 10, Object.keys(fromFile).join());
    } finally {
        fs.rmSync(folder, {recursive: true, force: true});
    }
});

test("--json before a file that does not end in .json leaves it alone: summarize --json notes.txt prints JSON", () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-cli-"));
    try {
        const notes = path.join(folder, "notes.txt");
        const text = "Lily and Tom went to the park. They played with a red ball all day.";
        fs.writeFileSync(notes, text);
        const {status, stdout, stderr} = layerDial(["summarize", "--json", notes, "--model", stories, "--max-tokens", "8", "--threads", "1"]);
        assert.equal(status, 0, stderr);
        const result = JSON.parse(stdout) as {text: string; tokens: number};
        assert.equal(typeof result.text, "string");
        assert.ok(result.tokens <= 8, String(result.tokens));
        assert.equal(fs.readFileSync(notes, "utf8"), text);
        assert.deepEqual(fs.readdirSync(folder), ["notes.txt"]);
    } finally {
        fs.rmSync(folder, {recursive: true, force: true});
    }
});

test("bench is no layer-dial command any more: exit 1, one line naming the new one", () => {
    const {status, stdout, stderr} = layerDial(["bench", "speed", "--model", stories, "--runs", "1"]);
    assert.equal(status, 1);
    assert.equal(stdout, "");
    const lines = stderr.split("\n").filter((line) => line.length > 0);
    assert.equal(lines.length, 1, stderr);
    assert.match(lines[0], /^layer-dial: .*npm run bench -- speed.*layer-dial-bench/);
});
