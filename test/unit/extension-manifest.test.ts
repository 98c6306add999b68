// The manifest's fixed names (end-to-end tests and users' keybindings rely on them), its settings'
// defaults against the code's, lazy activation, and the VSIX content rules.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import {NPM_REGISTRY_URL} from "../../extension/commands/enable-cuda-command.js";
import {checkVsix, COMMON_REQUIRED_FILES, MAX_VSIX_BYTES, readmeImagePaths, REQUIRED_FILES, type ZipEntry} from "../../tools/packaging/vsix-contents.js";
import {
    COMPLETION_SETTING_LIMITS,
    DEFAULT_COMPLETION_SETTINGS,
    DEFAULT_SETTINGS,
    GPU_CHOICES,
    PREFILL_POLICIES,
    SPEED_LEVEL_NAMES
} from "../../extension/settings.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

type Manifest = {
    main: string;
    activationEvents: string[];
    engines: {vscode: string};
    capabilities?: {untrustedWorkspaces?: {supported: boolean | "limited"; restrictedConfigurations?: string[]}};
    contributes: {
        commands: {command: string; title: string; category?: string}[];
        menus: Record<string, {command: string; when?: string}[]>;
        configuration: {properties: Record<string, {default: unknown; enum?: string[]; minimum?: number; maximum?: number; scope?: string}>};
    };
};
const manifest = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as Manifest;

describe("manifest", () => {
    test("every command with its exact palette title: category Layer Dial, and a title that does not repeat it", () => {
        for (const command of manifest.contributes.commands) {
            assert.equal(command.category, "Layer Dial", command.command);
            assert.doesNotMatch(command.title, /Layer Dial/, `${command.command}: the category already says it`);
        }
        // the palette shows "<category>: <title>"; the end-to-end scenarios and users' muscle memory use these
        assert.deepEqual(Object.fromEntries(manifest.contributes.commands.map((command) => [command.command, `${command.category}: ${command.title}`])), {
            "layerDial.summarizeSelection": "Layer Dial: Summarize Selection",
            "layerDial.generateAtCursor": "Layer Dial: Generate at Cursor",
            "layerDial.setSpeedLevel": "Layer Dial: Set Speed Level",
            "layerDial.openSpeedPanel": "Layer Dial: Open Speed Panel",
            "layerDial.selectModel": "Layer Dial: Select Model",
            "layerDial.downloadRecommendedModel": "Layer Dial: Download Recommended Model",
            "layerDial.stopGeneration": "Layer Dial: Stop Generation",
            "layerDial.calibrateModel": "Layer Dial: Calibrate Model",
            "layerDial.loadModel": "Layer Dial: Load Model",
            "layerDial.toggleCompletion": "Layer Dial: Toggle Inline Completion",
            "layerDial.setCompletionSpeedLevel": "Layer Dial: Set Inline Completion Speed Level",
            "layerDial.enableCuda": "Layer Dial: Enable CUDA",
            "layerDial.restartEngine": "Layer Dial: Restart Engine"
        });
    });

    test("the palette hides what cannot run: no selection, no editor to write in, nothing to stop, no model set", () => {
        const palette = Object.fromEntries((manifest.contributes.menus.commandPalette ?? []).map((entry) => [entry.command, entry.when]));
        assert.deepEqual(palette, {
            "layerDial.summarizeSelection": "editorHasSelection",
            "layerDial.generateAtCursor": "editorIsOpen && !activeEditorIsReadonly",
            "layerDial.stopGeneration": "layerDial.busy",
            "layerDial.loadModel": "config.layerDial.model",
            "layerDial.calibrateModel": "config.layerDial.model",
            // the CUDA backend it installs exists for linux-x64 only; elsewhere the command would only explain that
            "layerDial.enableCuda": "isLinux"
        });
        // Summarize and Generate stay listed with no model set: they say so and offer to pick one
        const commands = new Set(manifest.contributes.commands.map((command) => command.command));
        for (const [menu, entries] of Object.entries(manifest.contributes.menus))
            for (const entry of entries) assert.ok(commands.has(entry.command), `${menu} names ${entry.command}, which is not contributed`);
    });

    test("in an untrusted workspace the model setting comes from the user only: a repository cannot pick the file llama.cpp parses", () => {
        const untrusted = manifest.capabilities?.untrustedWorkspaces;
        assert.equal(untrusted?.supported, "limited");
        assert.ok(untrusted?.restrictedConfigurations?.includes("layerDial.model"), JSON.stringify(untrusted));
        assert.ok(manifest.contributes.configuration.properties["layerDial.model"] != null);
    });

    test("every command is registered by the extension", () => {
        const source = fs.readFileSync(path.join(root, "extension/extension.ts"), "utf8");
        for (const {command} of manifest.contributes.commands) assert.ok(source.includes(`"${command}"`), `${command} is not registered`);
    });

    test("the settings' defaults and choices are the ones the code falls back to", () => {
        const properties = manifest.contributes.configuration.properties;
        assert.deepEqual(
            Object.keys(properties).sort(),
            [
                ...Object.keys(DEFAULT_SETTINGS).map((key) => `layerDial.${key}`),
                ...Object.keys(DEFAULT_COMPLETION_SETTINGS).map((key) => `layerDial.completion.${key}`),
                // Enable CUDA's own, read by that command only
                "layerDial.npmRegistry"
            ].sort()
        );
        assert.equal(properties["layerDial.npmRegistry"].default, NPM_REGISTRY_URL);
        // user or remote settings only: a workspace must not choose where the CUDA library comes from
        assert.equal(properties["layerDial.npmRegistry"].scope, "machine");
        for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) assert.deepEqual(properties[`layerDial.${key}`].default, value, key);
        for (const [key, value] of Object.entries(DEFAULT_COMPLETION_SETTINGS)) assert.deepEqual(properties[`layerDial.completion.${key}`].default, value, key);
        for (const [key, limits] of Object.entries(COMPLETION_SETTING_LIMITS))
            assert.deepEqual(
                [properties[`layerDial.completion.${key}`].minimum, properties[`layerDial.completion.${key}`].maximum],
                [limits.min, limits.max],
                key
            );
        assert.deepEqual(properties["layerDial.completion.speedLevel"].enum, SPEED_LEVEL_NAMES);
        assert.deepEqual(properties["layerDial.speedLevel"].enum, SPEED_LEVEL_NAMES);
        assert.deepEqual(properties["layerDial.prefill"].enum, PREFILL_POLICIES);
        assert.deepEqual(properties["layerDial.gpu"].enum, GPU_CHOICES);
    });

    test("activation is lazy: never on '*', the entry is the CommonJS bundle", () => {
        assert.ok(!manifest.activationEvents.includes("*"));
        assert.deepEqual(manifest.activationEvents, ["onStartupFinished", "onWebviewPanel:layerDial.speedPanel"]);
        assert.equal(manifest.main, "./dist/extension.cjs");
        assert.match(manifest.engines.vscode, /^\^1\.\d+\.0$/);
    });
});

describe("VSIX content rules", () => {
    const good: ZipEntry[] = REQUIRED_FILES.map((name) => ({name, size: 10, compressedSize: 5}));

    test("the required files under the budget pass", () => {
        assert.deepEqual(checkVsix(good, 13_000_000), []);
    });

    test("over budget, missing files, stock binaries, sources and a second native build are each named", () => {
        const problems = checkVsix(
            [
                ...good.filter((entry) => entry.name !== "extension/dist/engine/host.mjs"),
                {name: "extension/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/llama-addon.node", size: 1, compressedSize: 1},
                {name: "extension/node_modules/node-llama-cpp/llama/llama.cpp/src/llama.cpp", size: 1, compressedSize: 1},
                {name: "extension/native/patches/llama.cpp/01.diff", size: 1, compressedSize: 1},
                {name: "extension/dist/extension.cjs.map", size: 1, compressedSize: 1}
            ],
            MAX_VSIX_BYTES + 1
        );
        const text = problems.join("\n");
        assert.match(text, /over the 60 MB budget/);
        assert.match(text, /missing extension\/dist\/engine\/host\.mjs/);
        assert.match(text, /exactly one llama-addon\.node, found 2/);
        assert.match(text, /@node-llama-cpp.*prebuilt/);
        assert.match(text, /llama\.cpp\/src.*sources/);
        assert.match(text, /native\/patches.*sources, tests and patches/);
        assert.match(text, /\.map should not ship/);
    });

    test("the Marketplace's documents are required: README, CHANGELOG and LICENSE, as vsce names them", () => {
        const text = checkVsix(
            good.filter((entry) => !/^extension\/(readme\.md|changelog\.md|LICENSE\.txt)$/.test(entry.name)),
            1
        ).join("\n");
        assert.match(text, /missing extension\/readme\.md/);
        assert.match(text, /missing extension\/changelog\.md/);
        assert.match(text, /missing extension\/LICENSE\.txt/);
    });

    test("every image README.md shows from the package must be in the VSIX", () => {
        const readme = [
            "![The speed panel](media/speed-panel.png)",
            '<img src="./media/summarize-1.png" alt="step 1" width="400">',
            "![badge](https://img.shields.io/badge/x-y-green.png) and [a link](https://example.org/a.png)",
            "![again](media/speed-panel.png)"
        ].join("\n");
        assert.deepEqual(readmeImagePaths(readme), ["media/speed-panel.png", "media/summarize-1.png"]);
        const problems = checkVsix([...good, {name: "extension/media/speed-panel.png", size: 1, compressedSize: 1}], 1, {
            readmeImages: readmeImagePaths(readme)
        });
        assert.deepEqual(problems, ["missing extension/media/summarize-1.png, an image README.md shows (is it left out by .vscodeignore?)"]);
    });

    test("developer documents and CI files do not ship", () => {
        const text = checkVsix(
            [
                ...good,
                ...["extension/CONTRIBUTING.md", "extension/ARCHITECTURE.md", "extension/.github/workflows/release.yml"].map((name) => ({
                    name,
                    size: 1,
                    compressedSize: 1
                }))
            ],
            1
        ).join("\n");
        for (const name of ["CONTRIBUTING.md", "ARCHITECTURE.md", ".github/workflows/release.yml"])
            assert.match(text, new RegExp(`extension/${name.replace(/\./g, "\\.")} should not ship \\(developer documents`));
    });

    test("another target needs the common files, not linux-x64's .so libraries", () => {
        const common: ZipEntry[] = COMMON_REQUIRED_FILES.map((name) => ({name, size: 10, compressedSize: 5}));
        assert.deepEqual(checkVsix(common, 1, {target: "darwin-arm64"}), []);
        assert.match(checkVsix(common, 1).join("\n"), /missing extension\/dist\/native\/bins\/libggml-base\.so/);
    });

    test("node-llama-cpp's release descriptors are allowed from its llama folder", () => {
        const entries = [...good, {name: "extension/node_modules/node-llama-cpp/llama/llama.cpp.info.json", size: 1, compressedSize: 1}];
        assert.deepEqual(checkVsix(entries, 1), []);
    });
});
