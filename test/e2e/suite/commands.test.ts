// The commands: all of the manifest's are registered once the extension is active, and a command run
// without what it needs reports that instead of throwing into VS Code's generic error toast.
import assert from "node:assert/strict";
import * as vscode from "vscode";
import {activateLayerDial, manifest} from "./extension-under-test.js";
import {suite, suiteSetup, test} from "./mocha-tdd.js";

suite("commands", () => {
    suiteSetup(async () => {
        await activateLayerDial();
    });

    test("every command the manifest contributes is registered after activation", async () => {
        const registered = new Set(await vscode.commands.getCommands(true));
        const contributed = manifest().contributes.commands.map((command) => command.command);
        assert.ok(contributed.length > 0, "the manifest contributes no commands");
        assert.deepEqual(
            contributed.filter((command) => !registered.has(command)),
            []
        );
    });

    test("the documented commands are contributed", () => {
        const contributed = manifest().contributes.commands.map((command) => command.command);
        for (const command of ["layerDial.summarizeSelection", "layerDial.generateAtCursor", "layerDial.setSpeedLevel"])
            assert.ok(contributed.includes(command), `${command} is not contributed`);
    });

    test("Summarize Selection with no editor open reports it and does not throw", async () => {
        await vscode.commands.executeCommand("workbench.action.closeAllEditors");
        assert.equal(vscode.window.activeTextEditor, undefined);
        await vscode.commands.executeCommand("layerDial.summarizeSelection");
    });
});
