// A context's decode threads sleep as soon as a decode is done (native/patches/addon/02 sets ggml's
// polling to 0). With ggml's default polling, each worker spun for about 130 ms after every decode: a
// Layer Dial idle in the editor kept a core busy after each answer, and on two cores a second context's
// spinning workers doubled the time of about one decode step in five.
import assert from "node:assert/strict";
import {after, before, describe, test} from "node:test";
import {setTimeout as delay} from "node:timers/promises";
import type {LlamaContext, LlamaModel} from "node-llama-cpp";
import {addonContextOf} from "../../engine/native/internals.js";
import {decodeWithOneOutputRow, maxAbsDifferenceOfRows, patchedLlama, range} from "./harness.js";

const storiesPath = new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;

/** the process's CPU time (every thread) while nothing is asked of it for `milliseconds` */
async function cpuMillisecondsWhileIdle(milliseconds: number): Promise<number> {
    const before = process.cpuUsage();
    await delay(milliseconds);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
}

describe("a context's decode threads between decodes", () => {
    let model: LlamaModel;
    let context: LlamaContext;

    before(async () => {
        model = await (await patchedLlama()).loadModel({modelPath: storiesPath});
        // two threads: one worker besides the thread that runs the decode
        context = await model.createContext({contextSize: 64, sequences: 1, batchSize: 64, threads: 2});
    });
    after(async () => {
        await context.dispose();
        await model.dispose();
    });

    const prompt = range(24).map((i) => 3 + ((i * 37) % 500));
    const decodePrompt = async () => {
        const addon = addonContextOf(context);
        return addon.getLogits(await decodeWithOneOutputRow(addon, prompt));
    };

    test("use no CPU once the decode is done, and wake for the next one", async () => {
        assert.equal(addonContextOf(context).getThreads(), 2);
        const first = await decodePrompt();
        // the 300 ms are the window observed, not a wait for something to happen: a worker that polls
        // for work uses most of it (about 130 ms of CPU with ggml's default polling on this machine)
        const idleCpu = [];
        for (let window = 0; window < 3; window++) {
            idleCpu.push(await cpuMillisecondsWhileIdle(300));
            const again = await decodePrompt();
            assert.equal(maxAbsDifferenceOfRows([again], [first]), 0, "a decode after the workers slept must compute the same logits");
        }
        const median = [...idleCpu].sort((a, b) => a - b)[1];
        assert.ok(median < 30, `the process used ${idleCpu.map((ms) => ms.toFixed(1)).join(", ")} ms of CPU in 300 ms windows with nothing to decode`);
    });
});
