// layer-dial (the bundle) shows the Lossless drafter's choice and acceptance: `info` at any level, and the
// line after a Lossless run; and a later process starts from what an earlier one stored. A cache root of
// its own keeps the drafter's state apart; the native build and speed calibrations are the user's.
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, test} from "node:test";
import {fileURLToPath} from "node:url";
import {layerDialCacheDir} from "../../common/cache-dir.js";
import {cliBundle} from "./cli-bundle.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const stories = path.resolve(root, "../shared/models/stories260K.gguf");
const cacheRoot = fs.mkdtempSync(path.join(os.tmpdir(), "cli-drafter-"));
for (const shared of ["native", "speed"]) {
    fs.mkdirSync(layerDialCacheDir(shared), {recursive: true});
    fs.symlinkSync(layerDialCacheDir(shared), path.join(cacheRoot, shared));
}
after(() => fs.rmSync(cacheRoot, {recursive: true, force: true}));

function cli(...args: string[]) {
    const result = spawnSync(process.execPath, [cliBundle(), ...args, "--model", stories, "--threads", "1"], {
        cwd: root,
        encoding: "utf8",
        timeout: 120_000,
        env: {...process.env, LAYER_DIAL_CACHE_DIR: cacheRoot}
    });
    assert.equal(result.status, 0, result.stderr);
    return result;
}

type Drafter = {mode: string; draftDepth: number | null; draftLength: number | null; acceptanceRate: number | null; fromStore?: boolean};

test("info and a Lossless run show the drafter's choice and acceptance, and a later process starts from the stored state", () => {
    const fresh = cli("info");
    assert.match(fresh.stdout, /lossless drafter: learning: nothing measured yet; nothing stored yet: the first Lossless answer measures each depth/);

    const run = cli("generate", "--prompt", "Once upon a time", "--max-tokens", "48", "--speed", "lossless");
    assert.match(
        run.stderr,
        /\[lossless: \d+ verifies drafting at depth [\d-]+, \d+ plain steps, acceptance \d+%.*; drafter now (drafts \d+ tokens? at depth \d of 5|decodes plainly)/
    );
    assert.match(run.stderr, /measured in this load\]/);

    // at Quality too: what Lossless would do, from the state the run stored
    const stored = cli("info", "--json");
    const summary = JSON.parse(stored.stdout) as {drafter?: Drafter};
    assert.ok(summary.drafter !== undefined, "info --json carries the drafter");
    assert.equal(summary.drafter.fromStore, true);
    assert.notEqual(summary.drafter.mode, "learning");
    assert.ok(summary.drafter.acceptanceRate !== null && summary.drafter.draftDepth !== null);
    // some depth measured; the others may be "not measured", where drafts that always agree could not pay
    const text = cli("info").stdout;
    assert.match(
        text,
        /lossless drafter: (drafts \d+ tokens?|decodes plainly).*acceptance \d+%.*started from an earlier load's measurements; acceptance by depth: .*\d \d+% \(\d+ judged\)/
    );

    const json = JSON.parse(cli("generate", "--prompt", "Once upon a time", "--max-tokens", "16", "--speed", "lossless", "--json").stdout) as {
        drafter?: Drafter;
    };
    assert.equal(json.drafter?.fromStore, true, "a Lossless run's JSON carries the drafter's choice after it");
});
