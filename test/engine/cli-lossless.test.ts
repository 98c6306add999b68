// layer-dial --speed lossless, as a user runs it (the bundle): the same text as Quality, and the drafter's
// stats in the JSON and in the run's summary line.
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import path from "node:path";
import {test} from "node:test";
import {fileURLToPath} from "node:url";
import {cliBundle} from "./cli-bundle.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const stories = path.resolve(root, "../shared/models/stories260K.gguf");

function generate(speed: string, json: boolean) {
    const args = ["generate", "--model", stories, "--prompt", "Once upon a time", "--max-tokens", "24", "--speed", speed, "--threads", "1"];
    const result = spawnSync(process.execPath, [cliBundle(), ...args, ...(json ? ["--json"] : [])], {cwd: root, encoding: "utf8", timeout: 120_000});
    assert.equal(result.status, 0, result.stderr);
    return result;
}

test("generate --speed lossless writes Quality's text and reports the drafts", () => {
    type Output = {text: string; keptLayers: number[]; stats: {speculation?: {speculativeSteps: number; plainSteps: number}}};
    const parse = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1)!) as Output;
    const quality = parse(generate("Quality", true).stdout);
    const lossless = parse(generate("lossless", true).stdout);
    assert.equal(lossless.text, quality.text);
    assert.equal(lossless.keptLayers.length, 5);
    assert.ok(lossless.stats.speculation !== undefined, "the JSON stats say what drafting did");
    assert.equal(quality.stats.speculation, undefined);
    assert.match(generate("Lossless", false).stderr, /\[lossless: \d+ verifies drafting at depth/);
});
