// A real model loaded twice: the second DialEngine's Lossless drafter starts from what the first learned
// (same choice, no exploration of a depth the first measured), and a corrupt stored file is ignored with a
// reason in the log. Asserted on the drafter's state, never on timing.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, before, describe, test} from "node:test";
import type {Llama} from "node-llama-cpp";
import {DialEngine} from "../../engine/dial-engine.js";
import {DEFAULT_WARMUP_JUDGED} from "../../engine/generation/self-tuning-drafter.js";
import {patchedLlama} from "../native/harness.js";

const modelPath = new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;
const prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.";

describe("the Lossless drafter's state across loads", () => {
    let llama: Llama;
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "drafter-state-"));
    const log: string[] = [];
    const load = async () => {
        const engine = await DialEngine.load({
            llama,
            modelPath,
            contextSize: 256,
            sequences: 1,
            threads: 1,
            calibrate: false,
            drafterStateDirectory: directory,
            onProgress: (message) => log.push(message)
        });
        engine.setSpeed({speed: "Lossless"});
        return engine;
    };
    const request = {prompt, maxTokens: 64, stopAtEndOfGeneration: false};
    const withoutOrigin = ({fromStore: _fromStore, ...rest}: DialEngine["losslessInfo"]) => rest;

    before(async () => {
        llama = await patchedLlama();
    });
    after(() => fs.rmSync(directory, {recursive: true, force: true}));

    test("a second load starts from the first load's choice and explores no depth the first load measured", async () => {
        const first = await load();
        let learned: DialEngine["losslessInfo"];
        try {
            assert.equal(first.drafterState.restored, false);
            assert.equal(first.losslessInfo.fromStore, false);
            const result = await first.generate(request);
            assert.ok(result.stats.speculation !== undefined);
            assert.ok(first.drafterState.warmupSteps > 0, "a drafter from scratch measures depths in its first answer");
            learned = first.losslessInfo;
            assert.ok(
                learned.depths.some((depth) => depth.judged > 0),
                "the first answer measured a depth"
            );
        } finally {
            // dispose writes the debounced state
            await first.dispose();
        }
        assert.equal(fs.readdirSync(directory).filter((name) => name.endsWith(".json")).length, 1, "one state file");

        const second = await load();
        try {
            assert.equal(second.drafterState.restored, true);
            assert.equal(second.losslessInfo.fromStore, true);
            assert.deepEqual(withoutOrigin(second.losslessInfo), withoutOrigin(learned), "it starts with the stored choice and measurements");
            assert.notEqual(second.losslessInfo.mode, "learning");
            await second.generate(request);
            // the warm-up drafts only at depths with fewer judged drafts than it needs; the first answer leaves a
            // depth there when its timed costs said that depth could not pay (timing: now and then, on a busy
            // machine, and the next load's costs may say otherwise). A depth the first load measured is never
            // explored again, and each warm-up step has at least its first draft judged: at most that many steps
            // per depth left short (a CI run saw one step after the first load had left a depth short)
            const leftShort = learned.depths.filter((depth) => depth.judged < DEFAULT_WARMUP_JUDGED).length;
            assert.ok(
                second.drafterState.warmupSteps <= DEFAULT_WARMUP_JUDGED * leftShort,
                `${second.drafterState.warmupSteps} steps of its first answer explored a depth, where the first load left ${leftShort} depths short of ${DEFAULT_WARMUP_JUDGED} judged drafts`
            );
            assert.ok(
                second.losslessInfo.depths.every((depth, i) => depth.judged >= learned.depths[i].judged),
                "it keeps measuring"
            );
        } finally {
            await second.dispose();
        }
    });

    test("a corrupt stored file is ignored and said in the log; the drafter starts from scratch and stores afresh", async () => {
        const [file] = fs.readdirSync(directory).filter((name) => name.endsWith(".json"));
        fs.writeFileSync(path.join(directory, file), '{"format": "layer-dial-drafter-state", "version": 1, "candidates": [{"depth"');
        log.length = 0;
        const engine = await load();
        try {
            assert.equal(engine.drafterState.restored, false);
            assert.ok(
                log.some((line) => /Ignoring the stored Lossless drafter state .*not valid JSON/.test(line)),
                `the log says why: ${log.join(" | ")}`
            );
            await engine.generate(request);
            assert.ok(engine.drafterState.warmupSteps > 0);
            engine.flushDrafterState();
        } finally {
            await engine.dispose();
        }
        const again = await load();
        try {
            assert.equal(again.drafterState.restored, true, "the rewritten file is read");
        } finally {
            await again.dispose();
        }
    });

    test("with storing off, nothing is written", async () => {
        // the default directory would be under this cache root
        const off = fs.mkdtempSync(path.join(os.tmpdir(), "drafter-state-off-"));
        const cacheRoot = process.env.LAYER_DIAL_CACHE_DIR;
        process.env.LAYER_DIAL_CACHE_DIR = off;
        try {
            const engine = await DialEngine.load({
                llama,
                modelPath,
                contextSize: 256,
                sequences: 1,
                threads: 1,
                calibrate: false,
                drafterStateDirectory: false
            });
            engine.setSpeed({speed: "Lossless"});
            await engine.generate(request);
            await engine.dispose();
            assert.equal(engine.drafterState.restored, false);
            assert.equal(fs.existsSync(path.join(off, "drafter")), false);
        } finally {
            if (cacheRoot === undefined) delete process.env.LAYER_DIAL_CACHE_DIR;
            else process.env.LAYER_DIAL_CACHE_DIR = cacheRoot;
            fs.rmSync(off, {recursive: true, force: true});
        }
    });
});
