// The Lossless level through the engine the host, the CLI and the extension use: the dial's setting,
// its self-tuning drafter, the run stats and the summary. Two engines on the same file, one at Quality and
// one at Lossless, so that both evaluate the prompt the same way (nothing reused from the other's cache).
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import {DialEngine, planInfo} from "../../engine/dial-engine.js";
import {patchedLlama} from "../native/harness.js";

const modelPath = new URL("../../../shared/models/pycode-16L.gguf", import.meta.url).pathname;
const source =
    'import os\nimport sys\n\n\ndef read_lines(path, encoding=\'utf-8\'):\n    """Return the lines of a text file."""\n' +
    "    with open(path, encoding=encoding) as handle:\n        return handle.read().splitlines()\n\n\nclass Counter:\n" +
    "    def __init__(self):\n        self.counts = {}\n\n    def add(self, key):\n        self.counts[key] = self.counts.get(key, 0) + 1\n\n";

describe("the Lossless level in DialEngine", () => {
    let quality: DialEngine;
    let lossless: DialEngine;

    before(async () => {
        const llama = await patchedLlama();
        // drafters from scratch: a state stored by an earlier run on this machine would decide what this one drafts
        const options = {llama, modelPath, contextSize: 512, sequences: 2, threads: 1, calibrate: false, drafterStateDirectory: false as const};
        quality = await DialEngine.load(options);
        lossless = await DialEngine.load(options);
        lossless.setSpeed({speed: "Lossless"});
    });
    after(async () => {
        await quality.dispose();
        await lossless.dispose();
    });

    test("a setting of Lossless plans every layer and says so in the plan and the summary", () => {
        const preview = lossless.previewSpeed({speed: "Lossless"});
        assert.equal(preview.lossless, true);
        assert.equal(preview.depth, 16);
        assert.deepEqual(preview.skippedLayers, []);
        const info = planInfo(preview);
        assert.ok(info.lossless !== undefined && info.lossless.depths.length > 0, "the drafter should have depths to draft at");
        assert.equal(lossless.summary({binsDirectory: "", buildType: ""}).plan.lossless?.depths.length, info.lossless.depths.length);
        assert.equal(planInfo(quality.currentPlan).lossless, undefined);
    });

    test("greedy generation at Lossless equals Quality's, over several requests while the drafter tunes itself", async () => {
        assert.ok(quality.countTokens(source) >= 64, "the prompt should be at least 64 tokens");
        let speculativeSteps = 0;
        for (const maxTokens of [96, 80, 64]) {
            const request = {prompt: source, completionPrompt: source, maxTokens, stopAtEndOfGeneration: false};
            const expected = await quality.generate(request);
            const result = await lossless.generate(request);
            assert.deepEqual(result.tokens, expected.tokens, `${maxTokens} tokens`);
            const speculation = result.stats.speculation;
            assert.ok(speculation !== undefined, "a Lossless run reports what drafting did");
            assert.equal(speculation.speculativeSteps + speculation.plainSteps > 0, true);
            assert.equal(expected.stats.speculation, undefined);
            speculativeSteps += speculation.speculativeSteps;
        }
        // a drafter from scratch drafts at least once (its first verify batch measures what checking costs), and
        // then measures the depths those costs leave worth measuring
        assert.ok(speculativeSteps > 0);
        const state = planInfo(lossless.currentPlan).lossless!;
        assert.ok(state.depths.some((depth) => depth.judged > 0 && depth.acceptanceRate !== null));
    });

    test("an inline completion at Lossless suggests what Quality suggests", async () => {
        const request = {prefix: source + "    def total(self):\n        ", suffix: "\n", maxTokens: 24};
        const expected = await quality.complete({...request, speed: {speed: "Quality"}});
        const result = await lossless.complete({...request, speed: {speed: "Lossless"}});
        assert.equal(result.text, expected.text);
        assert.equal(result.stats.keptLayers, 16);
    });
});
