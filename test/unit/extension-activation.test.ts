// Activation is lazy: the bundled extension is loaded by plain node (tsx's loader would transform the
// bundle) with a stand-in for the 'vscode' module. activate() must register every command, start no
// process and import no node-llama-cpp, which is what keeps it fast; its time is printed, not asserted
// (speed is measured in benchmarks). Behaviour inside a real VS Code is the end-to-end suite's job.
import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, describe, test} from "node:test";
import {fileURLToPath} from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const outDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-activation-"));
after(() => fs.rmSync(outDirectory, {recursive: true, force: true}));

/** Runs in the child: loads the bundle three times (best of three: a busy machine adds noise) and reports. */
const probe = String.raw`
const Module = require("node:module");
const childProcess = require("node:child_process");
const [bundle, extensionPath, storage] = process.argv.slice(2);
const registered = [], loaded = [], spawned = [];
function standIn(name) {
    return new Proxy(function standInFunction() {}, {
        get: (_target, property) => typeof property === "symbol" || property === "then" ? undefined : standIn(name + "." + property),
        apply: () => standIn(name + "()"),
        construct: () => standIn("new " + name),
        set: () => true
    });
}
const vscode = {};
for (const name of ["CancellationError", "ConfigurationTarget", "EventEmitter", "FileSystemError", "ProgressLocation",
    "InlineCompletionItem", "Range", "StatusBarAlignment", "ThemeIcon", "Uri", "ViewColumn", "WorkspaceEdit", "commands", "languages", "window", "workspace"])
    vscode[name] = standIn("vscode." + name);
vscode.commands = new Proxy(vscode.commands, {get: (target, property) => property === "registerCommand"
    ? (id) => { registered.push(id); return {dispose() {}}; } : target[property]});
vscode.workspace = new Proxy(vscode.workspace, {get: (target, property) => property === "getConfiguration"
    ? () => ({get: () => undefined, inspect: () => undefined, update: async () => undefined}) : target[property]});
// the inline-completion provider as VS Code gets it
const providers = [];
vscode.languages = new Proxy(vscode.languages, {get: (target, property) => property === "registerInlineCompletionItemProvider"
    ? (_selector, provider) => { providers.push(provider); return {dispose() {}}; } : target[property]});
const load = Module._load;
Module._load = (request, parent, isMain) => {
    loaded.push(request);
    return request === "vscode" ? vscode : load(request, parent, isMain);
};
for (const kind of ["fork", "spawn", "exec", "execFile"])
    childProcess[kind] = (command) => { spawned.push(kind + " " + command); throw new Error("activation started a process"); };
(async () => {
    const timings = [];
    let subscriptions = [];
    for (let attempt = 0; attempt < 3; attempt++) {
        delete require.cache[bundle];
        registered.length = 0;
        providers.length = 0;
        subscriptions = [];
        const started = performance.now();
        const extension = require(bundle);
        extension.activate({subscriptions, extensionPath, extensionUri: standIn("extensionUri"), globalStorageUri: {fsPath: storage, scheme: "file"}});
        timings.push(performance.now() - started);
        await extension.deactivate();
    }
    for (const subscription of subscriptions) subscription.dispose();
    const providerEvents = providers.map((provider) => typeof provider.onDidChange);
    process.stdout.write(JSON.stringify({timings, registered, loaded, spawned, subscriptions: subscriptions.length, providerEvents}));
})().catch((error) => { console.error(error); process.exit(1); });
`;

type ProbeReport = {timings: number[]; registered: string[]; loaded: string[]; spawned: string[]; subscriptions: number; providerEvents: string[]};

describe("activation", () => {
    test("activates without a process or node-llama-cpp, registering every command", () => {
        execFileSync(process.execPath, ["esbuild.mjs", "--only=extension", "--production", `--outdir=${outDirectory}`], {cwd: root, stdio: "pipe"});
        const probeFile = path.join(outDirectory, "probe.cjs");
        fs.writeFileSync(probeFile, probe);
        const output = execFileSync(process.execPath, [probeFile, path.join(outDirectory, "extension.cjs"), root, path.join(outDirectory, "storage")], {
            cwd: root,
            encoding: "utf8",
            env: {...process.env, NODE_OPTIONS: ""}
        });
        const report = JSON.parse(output) as ProbeReport;
        console.log(`activation (require + activate, production bundle): ${report.timings.map((ms) => ms.toFixed(1)).join(", ")} ms`);
        assert.deepEqual(report.spawned, []);
        assert.ok(!report.loaded.includes("node-llama-cpp"), "node-llama-cpp was imported during activation");
        // every command the manifest contributes, and the walkthrough's sample (a link there, not in the palette)
        const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {contributes: {commands: {command: string}[]}};
        const expected = [...manifest.contributes.commands.map((entry) => entry.command), "layerDial.openSummarizeSample"].sort();
        assert.deepEqual(report.registered.sort(), expected);
        assert.ok(report.subscriptions >= report.registered.length + 4, `only ${report.subscriptions} disposables were handed to VS Code`);
        // a provider's onDidChange is the proposed API's "ask again" event (code-server enables every proposal):
        // the provider must not fire it when its own state changes, or VS Code cancels each request it starts
        assert.deepEqual(report.providerEvents, ["undefined"], "one inline-completion provider, without an onDidChange event");
    });
});
