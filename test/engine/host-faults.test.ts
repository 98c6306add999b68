// The engine host under faults: killed during a load, a calibration, a generation and between requests;
// a restart budget that stops restarting a host that keeps dying; a stop racing a start; a host that
// cannot start; an unload while requests run; and 200 requests with random cancels and dial changes.
// After each: the next request works, no request stays pending in the host, no sequence stays busy, and
// this process (standing in for VS Code's extension host) lives on.
import assert from "node:assert/strict";
import {EventEmitter} from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import {
    EngineClient,
    EngineHostExitedError,
    EngineRestartBudgetError,
    EngineStartError,
    type EngineCrash,
    type EngineClientOptions,
    type EngineState
} from "../../extension/engine-client.js";
import {SPEED_LEVEL_NAMES} from "../../common/speed-levels.js";
import {seededRandom} from "../../engine/generation/sampler.js";
import type {LoadParams} from "../../common/engine-protocol.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const storiesPath = path.resolve(root, "../shared/models/stories260K.gguf");
const calibrationCacheDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-faults-calibration-"));
const loadParams: LoadParams = {modelPath: storiesPath, contextSize: 512, sequences: 2, threads: 1, calibrationCacheDirectory};

function newClient(options: Partial<EngineClientOptions> = {}) {
    const crashes: EngineCrash[] = [];
    const states: EngineState[] = [];
    const logs = new EventEmitter<{line: [string]}>();
    const client = new EngineClient({
        hostModule: path.join(root, "engine/host/main.ts"),
        execArgv: ["--import", "tsx"],
        env: {...process.env, LAYER_DIAL_TEST_HOOKS: "1"},
        log: (_level, message) => logs.emit("line", message),
        ...options
    });
    client.onDidCrash((crash) => crashes.push(crash));
    client.onDidChangeState((state) => states.push(state));
    /** resolves when the host logs a line containing `text` */
    const logged = (text: string) =>
        new Promise<void>((resolve) => {
            const listener = (line: string) => {
                if (!line.includes(text)) return;
                logs.off("line", listener);
                resolve();
            };
            logs.on("line", listener);
        });
    return {client, crashes, states, logged};
}

/** nothing left over in the host after the requests settled */
async function assertIdle(client: EngineClient) {
    const info = await client.info();
    assert.equal(info.requestsInFlight, 0, "no request may stay pending in the host");
    assert.equal(info.busySequences, 0, "no sequence may stay busy");
    assert.ok(info.openModels <= 1, `${info.openModels} models open`);
}

function kill(pid: number) {
    process.kill(pid, "SIGKILL");
}

const prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.";

describe("engine host faults: a killed host", () => {
    const {client, crashes, logged} = newClient();
    after(async () => await client.dispose());
    let reference: string;

    test("killed during a load: the load fails with the crash, and the next load works", async () => {
        const {pid} = await client.info();
        await client.sendRaw("layerDial/test/holdLoads");
        const held = logged("holding the load");
        const loading = client.load(loadParams);
        await held;
        kill(pid);
        await assert.rejects(loading, EngineHostExitedError);
        assert.equal(crashes.length, 1);

        const summary = await client.load(loadParams);
        assert.equal(summary.layerCount, 5);
        reference = (await client.generate({prompt, maxTokens: 24})).text;
        assert.ok(reference.length > 0);
        await assertIdle(client);
    });

    test("killed mid-generation: the request fails with the crash, the next one gets a fresh host with the same model and the same answer", async () => {
        const {pid} = await client.info();
        let killed = false;
        const generating = client.generate(
            {prompt, maxTokens: 400},
            {
                onText: () => {
                    if (killed) return;
                    killed = true;
                    kill(pid);
                }
            }
        );
        await assert.rejects(generating, EngineHostExitedError);
        assert.ok(killed);
        const again = await client.generate({prompt, maxTokens: 24});
        assert.equal(again.text, reference);
        assert.notEqual((await client.info()).pid, pid);
        await assertIdle(client);
    });

    test("killed during Calibrate Model: the calibration fails with the crash, and the model works afterwards", async () => {
        const {pid} = await client.info();
        let killed = false;
        const progress = client.onProgress(() => {
            if (killed) return;
            killed = true;
            kill(pid);
        });
        try {
            await assert.rejects(client.calibrate({force: true}), EngineHostExitedError);
        } finally {
            progress.dispose();
        }
        assert.ok(killed, "calibration reports progress before it ends");
        assert.equal((await client.generate({prompt, maxTokens: 24})).text, reference);
        await assertIdle(client);
    });

    test("killed between requests: the next request starts a fresh host, and each crash was reported once", async () => {
        const {pid} = await client.info();
        kill(pid);
        // the crash is seen when the host's exit arrives; the request that follows must not race it into the dead host
        await new Promise<void>((resolve) => {
            const subscription = client.onDidCrash(() => {
                subscription.dispose();
                resolve();
            });
        });
        assert.equal((await client.generate({prompt, maxTokens: 24})).text, reference);
        assert.equal(crashes.length, 4);
        assert.deepEqual(
            crashes.map((crash) => crash.recentCrashes),
            [1, 2, 3, 4]
        );
        assert.ok(crashes.every((crash) => !crash.gaveUp));
        await assertIdle(client);
    });
});

describe("engine host faults: the restart budget", () => {
    const {client, crashes, states} = newClient({restartBudget: {maxCrashes: 3, windowMs: 10 * 60_000}});
    after(async () => await client.dispose());

    test("after 3 crashes the client stops restarting and says so; restart() brings back the model", async () => {
        await client.load(loadParams);
        for (let crash = 1; crash <= 3; crash++) {
            const {pid} = await client.info();
            const exited = new Promise<void>((resolve) => {
                const subscription = client.onDidCrash(() => {
                    subscription.dispose();
                    resolve();
                });
            });
            kill(pid);
            await exited;
        }
        assert.deepEqual(
            crashes.map((crash) => crash.gaveUp),
            [false, false, true]
        );
        assert.equal(client.state, "stopped");
        assert.ok(client.restartBudgetSpent);
        await assert.rejects(
            client.generate({prompt, maxTokens: 4}),
            (error: Error) => error instanceof EngineRestartBudgetError && /Restart/.test(error.message)
        );
        assert.equal(client.state, "stopped", "a refused request starts no host");

        await client.restart();
        assert.equal(client.state, "running");
        assert.ok(!client.restartBudgetSpent);
        const result = await client.generate({prompt, maxTokens: 6});
        assert.equal(result.stats.layerCount, 5, "the last model is loaded again");
        assert.ok(states.includes("starting") && states.includes("running") && states.includes("stopped"));
    });
});

describe("engine host faults: stopping and starting", () => {
    test("a stop racing a new start is no crash: the old host's exit is expected, and the new host runs", async () => {
        const {client, crashes, states} = newClient();
        try {
            await client.start();
            const firstPid = (await client.info()).pid;
            const stopping = client.stop();
            assert.equal(client.state, "stopping");
            const starting = client.start();
            await Promise.all([stopping, starting]);
            const secondPid = (await client.info()).pid;
            assert.notEqual(secondPid, firstPid);
            assert.equal(client.state, "running");
            assert.deepEqual(crashes, []);
            assert.deepEqual(states.slice(0, 3), ["starting", "running", "stopping"]);
        } finally {
            await client.dispose();
        }
    });

    test("a stop waits for a start in progress, then stops that host", async () => {
        const {client, crashes} = newClient();
        try {
            const starting = client.start();
            const stopping = client.stop();
            await Promise.all([starting, stopping]);
            assert.equal(client.state, "stopped");
            assert.deepEqual(crashes, []);
        } finally {
            await client.dispose();
        }
    });

    test("a host that cannot start: start failed, a one-line error that says what to do, and no crash counted", async () => {
        const {client, crashes, states} = newClient({execPath: path.join(os.tmpdir(), "no-such-runtime", "node")});
        try {
            await assert.rejects(client.start(), (error: Error) => error instanceof EngineStartError && /could not start/.test(error.message));
            assert.equal(client.state, "startFailed");
            assert.deepEqual(states, ["starting", "startFailed"]);
            assert.deepEqual(crashes, []);
            await assert.rejects(client.info(), EngineStartError);
            await client.stop();
            assert.equal(client.state, "stopped");
        } finally {
            await client.dispose();
        }
    });
});

describe("engine host faults: an unload while requests run", () => {
    const {client, crashes} = newClient();
    after(async () => await client.dispose());

    test("unload aborts the running requests and waits for them: they return what they had, and the host loads again", async () => {
        await client.load(loadParams);
        let unloading: Promise<void> | undefined;
        const generating = client.generate(
            {prompt, maxTokens: 400},
            {
                onText: () => {
                    unloading ??= client.unload();
                }
            }
        );
        const completing = client.complete({prefix: "The dog ran", suffix: "", maxTokens: 400});
        const [generated, completed] = await Promise.all([generating, completing]);
        await unloading;
        assert.equal(generated.stopReason, "aborted");
        assert.ok(["aborted", "maxTokens", "endOfGeneration", "boundary", "stopString"].includes(completed.stopReason));
        const info = await client.info();
        assert.equal(info.openModels, 0);
        assert.equal(info.requestsInFlight, 0);
        assert.deepEqual(crashes, []);

        await client.load(loadParams);
        assert.equal((await client.generate({prompt, maxTokens: 4})).stopReason, "maxTokens");
        await assertIdle(client);
    });
});

describe("engine host faults: 200 requests with random cancels and dial changes", () => {
    const {client, crashes} = newClient();
    after(async () => await client.dispose());

    test("every request settles, nothing stays busy, and the same prompt then gives the same answer as before", async () => {
        await client.load(loadParams);
        const greedyReference = (await client.generate({prompt, maxTokens: 32})).text;
        const completionReference = (await client.complete({prefix: "The dog ran to the", suffix: "", maxTokens: 16, speed: {speed: "Quality"}})).text;
        // seeded, so a failure can be replayed
        const random = seededRandom(Number(process.env.LAYER_DIAL_FAULT_SEED ?? 20261129));
        const levels = SPEED_LEVEL_NAMES;
        const outcomes = {completed: 0, aborted: 0, dialChanges: 0};
        const inFlight = new Set<Promise<unknown>>();

        for (let index = 0; index < 200; index++) {
            const controller = new AbortController();
            const cancel = random();
            // a third run to the end, a third are cancelled before they start, a third after a few pieces of text
            const cancelAfterPieces = cancel < 1 / 3 ? Number.POSITIVE_INFINITY : cancel < 2 / 3 ? 0 : 1 + Math.floor(random() * 4);
            if (cancelAfterPieces === 0) controller.abort();
            let pieces = 0;
            const onText = () => {
                if (++pieces >= cancelAfterPieces) controller.abort();
            };
            const maxTokens = 2 + Math.floor(random() * 20);
            const request =
                random() < 0.5
                    ? client.generate(
                          {prompt: `${prompt} Story ${index}:`, maxTokens, temperature: random() < 0.5 ? 0 : 0.8, seed: index},
                          {onText, signal: controller.signal}
                      )
                    : client.complete(
                          {prefix: `The dog ran ${index} times to the`, suffix: "", maxTokens, speed: {speed: levels[Math.floor(random() * levels.length)]}},
                          {signal: controller.signal}
                      );
            const settled = request.then((result) => {
                if (result.stopReason === "aborted") outcomes.aborted++;
                else outcomes.completed++;
            });
            inFlight.add(settled);
            void settled.finally(() => inFlight.delete(settled));
            if (random() < 0.2) {
                outcomes.dialChanges++;
                const dial = client.setSpeed({speed: levels[Math.floor(random() * levels.length)]});
                inFlight.add(dial);
                void dial.finally(() => inFlight.delete(dial));
            }
            // at most 6 in flight: more than the context's sequences, so requests also wait for admission
            while (inFlight.size >= 6) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);

        assert.equal(outcomes.completed + outcomes.aborted, 200);
        assert.ok(outcomes.aborted > 0 && outcomes.completed > 0 && outcomes.dialChanges > 0, JSON.stringify(outcomes));
        assert.deepEqual(crashes, []);
        await assertIdle(client);

        await client.setSpeed({speed: "Quality"});
        assert.equal((await client.generate({prompt, maxTokens: 32})).text, greedyReference);
        assert.equal((await client.complete({prefix: "The dog ran to the", suffix: "", maxTokens: 16, speed: {speed: "Quality"}})).text, completionReference);
        await assertIdle(client);
    });
});
