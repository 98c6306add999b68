// The status bar item: `$(dashboard) <ratio>x`, following layerDial.speedLevel, and its click opens the
// level pick. The item's text has no API, so these ask the e2e harness's DOM probe; without the harness
// (npm run test:vscode) they are skipped.
import assert from "node:assert/strict";
import * as vscode from "vscode";
import {SPEED_LEVEL_NAMES} from "../../../common/speed-levels.js";
import {activateLayerDial} from "./extension-under-test.js";
import {probe, probeAvailable, probeUntil} from "./probe-client.js";
import {suite, suiteSetup, suiteTeardown, test} from "./mocha-tdd.js";

const LEVEL_NAMES = [...SPEED_LEVEL_NAMES];

suite("status bar item", () => {
    let userLevel: string | undefined;

    suiteSetup(async () => {
        await activateLayerDial();
        userLevel = vscode.workspace.getConfiguration("layerDial").inspect<string>("speedLevel")?.globalValue;
    });

    suiteTeardown(async () => {
        await vscode.workspace.getConfiguration("layerDial").update("speedLevel", userLevel, vscode.ConfigurationTarget.Global);
    });

    test("shows the dashboard icon and a ratio", async function () {
        if (!probeAvailable()) this.skip();
        const {text} = await probeUntil({kind: "statusBarItem"}, (answer) => answer.text !== null);
        assert.match(text ?? "", /^(\d+(\.\d+)?x|max)$/);
    });

    test("follows layerDial.speedLevel", async function () {
        if (!probeAvailable()) this.skip();
        const configuration = () => vscode.workspace.getConfiguration("layerDial");
        for (const [level, ratio] of [
            ["Faster", "2x"],
            ["Balanced", "1.25x"],
            ["Quality", "1x"]
        ] as const) {
            await configuration().update("speedLevel", level, vscode.ConfigurationTarget.Global);
            await probeUntil({kind: "statusBarItem"}, (answer) => answer.text === ratio);
        }
    });

    test("a click opens the speed level pick with every level", async function () {
        if (!probeAvailable()) this.skip();
        const {labels} = await probe({kind: "statusBarPick"});
        // each label starts with the level's name
        assert.deepEqual(
            labels.map((label) => /^\w+/.exec(label)?.[0]),
            LEVEL_NAMES,
            labels.join(" | ")
        );
    });
});
