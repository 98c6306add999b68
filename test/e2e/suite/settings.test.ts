// The settings: the defaults VS Code reports (from the manifest) are the ones the extension's code
// falls back to, and every setting is documented.
import assert from "node:assert/strict";
import * as vscode from "vscode";
import {DEFAULT_SETTINGS, SPEED_LEVEL_NAMES} from "../../../extension/settings.js";
import {activateLayerDial, contributedSettings} from "./extension-under-test.js";
import {suite, suiteSetup, test} from "./mocha-tdd.js";

suite("settings", () => {
    suiteSetup(async () => {
        await activateLayerDial();
    });

    test("each setting's default in the manifest is the extension's own default", () => {
        const configuration = vscode.workspace.getConfiguration("layerDial");
        for (const [key, expected] of Object.entries(DEFAULT_SETTINGS)) {
            assert.deepEqual(configuration.inspect(key)?.defaultValue, expected, `layerDial.${key}`);
        }
    });

    test("every contributed setting has a default and a description", () => {
        const settings = contributedSettings();
        assert.ok(Object.keys(settings).length > 0, "the manifest contributes no settings");
        for (const [key, setting] of Object.entries(settings)) {
            assert.ok(key.startsWith("layerDial."), `${key} is outside the layerDial section`);
            assert.notEqual(setting.default, undefined, `${key} has no default`);
            assert.ok((setting.description ?? setting.markdownDescription ?? "").length > 0, `${key} has no description`);
        }
    });

    test("speedLevel offers exactly the level names of common/speed-levels.ts", () => {
        const setting = contributedSettings()["layerDial.speedLevel"] as {enum?: unknown} | undefined;
        assert.deepEqual(setting?.enum, [...SPEED_LEVEL_NAMES]);
    });
});
