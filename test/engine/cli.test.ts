// The layer-dial command as a user runs it: output, JSON, exit codes and messages for bad input.
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import path from "node:path";
import {test} from "node:test";
import {fileURLToPath} from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const stories = path.resolve(root, "../shared/models/stories260K.gguf");

function layerDial(args: string[], input?: string) {
    const result = spawnSync(process.execPath, [path.join(root, "engine/cli/bin.mjs"), ...args], {cwd: root, input, encoding: "utf8", timeout: 120_000});
    return {status: result.status, stdout: result.stdout, stderr: result.stderr};
}

test("plan: the kept layers for a ratio, balanced, first and last kept", () => {
    const {status, stdout} = layerDial(["plan", "--layers", "32", "--ratio", "3", "--json"]);
    assert.equal(status, 0);
    const plan = JSON.parse(stdout) as {keptLayers: number[], depth: number, predictedSpeedup: number};
    assert.equal(plan.keptLayers[0], 0);
    assert.equal(plan.keptLayers.at(-1), 31);
    assert.ok(Math.abs(plan.predictedSpeedup - 3) < 0.25);
    const gaps = plan.keptLayers.slice(1).map((layer, i) => layer - plan.keptLayers[i]);
    assert.ok(Math.max(...gaps) <= 7, `the largest skipped block is ${Math.max(...gaps) - 1} layers`);
});

test("generate --json prints one object with text, kept and skipped layers and stats", () => {
    const {status, stdout, stderr} = layerDial(["generate", "--model", stories, "--prompt", "Once upon a time", "--max-tokens", "12",
        "--skip-layers", "2", "--threads", "1", "--json"]);
    assert.equal(status, 0, stderr);
    const result = JSON.parse(stdout.trim().split("\n").at(-1)!) as {text: string, tokens: number, keptLayers: number[], skippedLayers: number[], stats: {generatedTokens: number}};
    assert.deepEqual(result.skippedLayers, [2]);
    assert.deepEqual(result.keptLayers, [0, 1, 3, 4]);
    assert.equal(result.tokens, 12);
    assert.ok(result.text.length > 10);
});

test("summarize reads standard input and streams text", () => {
    const {status, stdout, stderr} = layerDial(["summarize", "-", "--model", stories, "--max-tokens", "16", "--threads", "1", "--speed", "Balanced"],
        "Lily and Tom went to the park. They played with a red ball all day.");
    assert.equal(status, 0, stderr);
    assert.ok(stdout.trim().length > 10, stdout);
    // Balanced skips at least one layer; how many follows stories260K's speed calibration on this machine
    // (it calibrates now that its token ids stay inside the 512-token vocabulary), so it is not fixed here
    assert.match(stderr, /\[cpu, [1-4]\/5 layers, target 1\.25x/);
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
