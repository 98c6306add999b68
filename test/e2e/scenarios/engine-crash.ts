// The engine host killed under a real VS Code: the user is told, with Show Log, and the next command
// starts a new engine with the same model. After 5 crashes within 3 minutes Layer Dial stops restarting
// it and says so, with Show Log and Restart; Restart brings it back. VS Code's extension host, which runs
// the extension, is the same process from start to end.
import assert from "node:assert/strict";
import fs from "node:fs";
import {setTimeout as delay} from "node:timers/promises";
import {findMarkedProcesses} from "../harness/process-group.js";
import type {Workbench} from "../harness/workbench.js";
import {closeSummaryEditors, COMMANDS, summarizeStory} from "./layer-dial-ui.js";
import type {Scenario} from "./scenario.js";

const ENGINE_HOST = /engine\/host/;
const EXTENSION_HOST = /--type=extensionHost/;

function pidsMatching(marker: string, pattern: RegExp): number[] {
    return findMarkedProcesses(marker)
        .filter((process) => pattern.test(process.commandLine))
        .map((process) => process.pid);
}

/**
 * The engine host that is not one of `previous`. It is not a child of this process, so nothing signals its
 * start: /proc is polled every 50 ms until the deadline (a wait for a condition, as the harness's reaping does).
 */
async function newEngineHost(marker: string, previous: ReadonlySet<number>, timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const fresh = pidsMatching(marker, ENGINE_HOST).filter((pid) => !previous.has(pid));
        if (fresh.length > 0) return fresh[0];
        await delay(50);
    }
    throw new Error(`no new engine host process within ${timeoutMs} ms`);
}

async function killAndWaitForToast(workbench: Workbench, pid: number, text: RegExp) {
    process.kill(pid, "SIGKILL");
    return await workbench.waitForToast(text, 30_000);
}

export const engineCrash: Scenario = {
    name: "engine-crash",
    description: "the engine host killed: Show Log, and the next command starts a new one; after 5 crashes, Restart; VS Code's extension host lives on",
    async run({workbench, runMarker, screenshot}) {
        await workbench.clearNotifications();
        const extensionHosts = pidsMatching(runMarker, EXTENSION_HOST);
        assert.ok(extensionHosts.length > 0, "no extension host process found");
        const seen = new Set(pidsMatching(runMarker, ENGINE_HOST));

        // a running engine with the model loaded: a summary
        await summarizeStory(workbench);
        await closeSummaryEditors(workbench);
        let engine = pidsMatching(runMarker, ENGINE_HOST).find((pid) => !seen.has(pid)) ?? [...seen][0];
        assert.ok(engine !== undefined, "no engine host runs after a summary");
        seen.add(engine);

        // crash 1, while idle: said at once, and the next command works in a new host
        const idleCrash = await killAndWaitForToast(workbench, engine, /exited unexpectedly.*next command starts a new engine/);
        assert.equal(await idleCrash.getByRole("button", {name: "Show Log"}).count(), 1);
        await screenshot("idle-crash");
        await workbench.clearNotifications();
        const {body} = await summarizeStory(workbench);
        assert.match(body, /[A-Za-z]{2,}/, "the summary after the crash has no text");
        await closeSummaryEditors(workbench);
        engine = await newEngineHost(runMarker, seen);
        seen.add(engine);

        // crashes 2 to 4 while the model loads or sits idle; crash 5 spends the budget
        for (let crash = 2; crash <= 5; crash++) {
            process.kill(engine, "SIGKILL");
            if (crash === 5) break;
            await workbench.waitForToast(/exited unexpectedly/, 30_000);
            await workbench.clearNotifications();
            await workbench.runCommand(COMMANDS.loadModel);
            engine = await newEngineHost(runMarker, seen);
            seen.add(engine);
        }
        const gaveUp = await workbench.waitForToast(/will not restart it on its own/, 30_000);
        await screenshot("gave-up");
        assert.equal(await gaveUp.getByRole("button", {name: "Show Log"}).count(), 1);
        await gaveUp.getByRole("button", {name: "Restart"}).click();
        engine = await newEngineHost(runMarker, seen);
        seen.add(engine);
        await workbench.clearNotifications();

        const after = await summarizeStory(workbench);
        assert.match(after.body, /[A-Za-z]{2,}/, "the summary after Restart has no text");
        await closeSummaryEditors(workbench);

        for (const pid of extensionHosts) assert.ok(fs.existsSync(`/proc/${pid}`), `VS Code's extension host ${pid} exited`);
        assert.deepEqual(pidsMatching(runMarker, EXTENSION_HOST), extensionHosts, "the extension host was replaced");
    }
};
