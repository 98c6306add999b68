// The local ESLint rule that keeps the rooms to their layer (tools/eslint/layer-boundaries.mjs): for every
// boundary, an import that keeps to it passes and one that crosses it is reported with its own message.
// Most cases lint files of a scratch tree (the rule reads the extension/ modules that bench/ imports).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, describe, it} from "node:test";
import {RuleTester} from "eslint";
import tseslint from "typescript-eslint";
import {layerBoundaries, REPO_ROOT} from "../../tools/eslint/layer-boundaries.mjs";

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const root = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-lint-"));
after(() => fs.rmSync(root, {recursive: true, force: true}));

const scratchFiles: Record<string, string> = {
    "extension/pure.ts":
        'import type * as vscode from "vscode";\nimport {helper} from "./helper.js";\nexport const pure = (uri: vscode.Uri) => helper(uri.path);\n',
    "extension/helper.ts": 'import {SPEED_LEVELS} from "../common/speed-levels.js";\nexport const helper = (text: string) => text + SPEED_LEVELS.length;\n',
    "extension/direct.ts": 'import * as vscode from "vscode";\nexport const show = (text: string) => vscode.window.showInformationMessage(text);\n',
    "extension/indirect.ts": 'import {show} from "./direct.js";\nexport const tell = show;\n',
    "extension/lazy.ts": 'export async function open() {\n    return await import("vscode");\n}\n',
    "extension/cycle-a.ts": 'import {b} from "./cycle-b.js";\nexport const a = () => b;\n',
    "extension/cycle-b.ts": 'import {a} from "./cycle-a.js";\nimport {show} from "./direct.js";\nexport const b = () => [a, show];\n',
    "common/speed-levels.ts": "export const SPEED_LEVELS = [];\n"
};
for (const [name, text] of Object.entries(scratchFiles)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), {recursive: true});
    fs.writeFileSync(path.join(root, name), text);
}

type Expected = {message: string | RegExp};

function valid(file: string, code: string): RuleTester.ValidTestCase {
    return {name: `${file}: ${code}`, filename: path.join(root, file), code, options: [{root}]};
}

function invalid(file: string, code: string, ...errors: Expected[]): RuleTester.InvalidTestCase {
    return {name: `${file}: ${code}`, filename: path.join(root, file), code, options: [{root}], errors};
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
/** the crossRoom message: "<from>/ may not import <to>/ ('<specifier>'): …" */
const crosses = (from: string, to: string, specifier: string): Expected => ({
    message: new RegExp(`^${escape(`${from}/ may not import ${to}/ ('${specifier}'): `)}.+\\.$`)
});
const vscodeIn = (from: string): Expected => ({
    message: new RegExp(`^${escape(`${from}/ may not import 'vscode': only extension/ (and, as a value, test/e2e/suite/) may; `)}`)
});
const nodeIn = (file: string, specifier: string): Expected => ({
    message: new RegExp(`^${escape(`${file} runs in the browser (the speed panel), so it may not import the Node built-in '${specifier}'`)}`)
});
const vscodeValueInTest: Expected = {message: /^test\/ may import 'vscode' as a value only under test\/e2e\/suite\//};

const ruleTester = new RuleTester({languageOptions: {parser: tseslint.parser, ecmaVersion: "latest", sourceType: "module"}});

ruleTester.run("layer-boundaries", layerBoundaries, {
    valid: [
        // common/: itself, Node built-ins and npm packages
        valid("common/cache-dir.ts", 'import fs from "node:fs";\nimport {RequestType} from "vscode-jsonrpc";\nimport {x} from "./speed-levels.js";'),
        valid("common/gpu-backends/install-backend.ts", 'import {writeFileAtomically} from "../cache-dir.js";\nexport * from "./tar-reader.js";'),
        // engine/: itself, common/, npm packages
        valid(
            "engine/host/main.ts",
            'import {Requests} from "../../common/engine-protocol.js";\nimport {DialEngine} from "../dial-engine.js";\nimport type {Llama} from "node-llama-cpp";'
        ),
        valid("engine/x.ts", 'type Installer = typeof import("../common/gpu-backends/install-backend.js");\nconst later = await import("./plan/plan.js");'),
        // extension/: itself, common/, 'vscode', npm packages (node-llama-cpp dynamically)
        valid(
            "extension/engine-session.ts",
            'import * as vscode from "vscode";\nimport {Requests} from "../common/engine-protocol.js";\nconst {EngineClient} = await import("./engine-client.js");'
        ),
        valid(
            "extension/models/model-download.ts",
            'const {createModelDownloader} = await import("node-llama-cpp");\nexport type I = typeof import("../../common/gpu-backends/install-backend.js");'
        ),
        // webview/: itself and the two browser-safe common/ modules only
        valid(
            "webview/main.ts",
            'import {parseToWebview} from "../common/panel-messages.js";\nimport {object} from "../common/panel-schema.js";\nimport {el} from "./dom.js";'
        ),
        valid("common/panel-messages.ts", 'import {object, str} from "./panel-schema.js";'),
        // native/ and tools/: engine/, common/, each other
        valid(
            "native/build.ts",
            'import {readBuildInfo} from "../engine/native/build-record.js";\nimport {cacheRoot} from "../common/cache-dir.js";\nimport {stage} from "../tools/packaging/stage-native.js";'
        ),
        // native/ also the GGUF writer from test/: the build writes the GPU check's model with it
        valid("native/build.ts", 'import {writeSyntheticModel} from "../test/fixtures/gguf/synthetic.js";'),
        valid(
            "tools/packaging/stage-native.ts",
            'import {readBuildInfo} from "../../engine/native/build-record.js";\nimport {applyPatchStack} from "../../native/patch-stack.js";'
        ),
        // bench/: engine/, common/, test/fixtures/, and extension/ modules that load no 'vscode' (type-only imports of it are erased)
        valid(
            "bench/speed.ts",
            'import {DialEngine} from "../engine/dial-engine.js";\nimport {SPEED_LEVELS} from "../common/speed-levels.js";\nimport {BENCH_FIXTURE} from "../test/fixtures/fixture-models.js";'
        ),
        valid("bench/completion.ts", 'import {pure} from "../extension/pure.js";\nimport type {show} from "../extension/direct.js";'),
        valid("bench/device/check.ts", 'import {SYNTHETIC_ARCHITECTURES} from "../../test/fixtures/gguf/synthetic.js";'),
        // test/: anything; 'vscode' as a type anywhere, as a value under test/e2e/suite/
        valid(
            "test/unit/x.test.ts",
            'import {packLines} from "../../extension/commands/chunking.js";\nimport {planForSpeedup} from "../../engine/plan/plan.js";\nimport {el} from "../../webview/dom.js";\nimport {stage} from "../../tools/packaging/stage-native.js";\nimport {run} from "../../bench/speed.js";'
        ),
        valid(
            "test/unit/extension-activation.test.ts",
            'import type * as vscode from "vscode";\nimport {type Uri} from "vscode";\nconst bundle = require("../../dist/extension.cjs");'
        ),
        valid("test/e2e/suite/commands.test.ts", 'import * as vscode from "vscode";\nimport {ext} from "../../../extension/extension.js";'),
        // files at the root (esbuild.mjs, eslint.config.mjs) are in no room
        valid("esbuild.mjs", 'import * as esbuild from "esbuild";\nimport {x} from "./engine/cli/bin.js";'),
        // the real tree, with the default root: the benchmark's vscode-free import of the extension's scheduler
        {
            name: "bench/completion.ts (repository): the completion scheduler",
            filename: path.join(REPO_ROOT, "bench/completion.ts"),
            code: 'import {CompletionScheduler} from "../extension/completion/scheduler.js";'
        }
    ],
    invalid: [
        // common/ imports no other room, never 'vscode'
        invalid("common/speed-levels.ts", 'import {planForSpeedup} from "../engine/plan/plan.js";', crosses("common", "engine", "../engine/plan/plan.js")),
        invalid("common/cache-dir.ts", 'export {x} from "../extension/settings.js";', crosses("common", "extension", "../extension/settings.js")),
        invalid("common/gpu-backends/tar-reader.ts", 'export * from "../../native/symbols.js";', crosses("common", "native", "../../native/symbols.js")),
        invalid("common/engine-protocol.ts", 'type S = typeof import("../webview/panel-state.js");', crosses("common", "webview", "../webview/panel-state.js")),
        invalid("common/x.ts", 'import type * as vscode from "vscode";', vscodeIn("common")),
        // engine/ never imports the VS Code side, the webview, native/, tools/, test/, bench/ or 'vscode'
        invalid("engine/dial-engine.ts", 'import {settings} from "../extension/settings.js";', crosses("engine", "extension", "../extension/settings.js")),
        invalid("engine/x.ts", 'import {el} from "../webview/dom.js";', crosses("engine", "webview", "../webview/dom.js")),
        invalid(
            "engine/native/loader.ts",
            'import {applyPatchStack} from "../../native/patch-stack.js";',
            crosses("engine", "native", "../../native/patch-stack.js")
        ),
        invalid(
            "engine/x.ts",
            'const {stage} = await import("../tools/packaging/stage-native.js");',
            crosses("engine", "tools", "../tools/packaging/stage-native.js")
        ),
        invalid(
            "engine/x.ts",
            'import {ensureFixture} from "../test/fixtures/fixture-models.js";',
            crosses("engine", "test", "../test/fixtures/fixture-models.js")
        ),
        invalid("engine/cli/main.ts", 'import {runSpeedBench} from "../../bench/speed.js";', crosses("engine", "bench", "../../bench/speed.js")),
        invalid("engine/x.ts", 'import * as vscode from "vscode";', vscodeIn("engine")),
        invalid("engine/x.ts", 'type U = typeof import("vscode");', vscodeIn("engine")),
        // extension/ reaches the engine only through the protocol; never webview/, native/, tools/, test/, bench/
        invalid("extension/engine-session.ts", 'import {DialEngine} from "../engine/dial-engine.js";', {
            message:
                "extension/ may not import engine/ ('../engine/dial-engine.js'): talk to the engine through common/engine-protocol.ts and extension/engine-client.ts; code both processes need belongs in common/."
        }),
        invalid(
            "extension/commands/x.ts",
            'const host = await import("../../engine/host/main.js");',
            crosses("extension", "engine", "../../engine/host/main.js")
        ),
        invalid("extension/x.ts", 'export * from "../engine/plan/plan.js";', crosses("extension", "engine", "../engine/plan/plan.js")),
        invalid("extension/x.ts", 'export type {SkipPlan} from "../engine/plan/plan.js";', crosses("extension", "engine", "../engine/plan/plan.js")),
        invalid("extension/x.ts", 'type P = typeof import("../engine/plan/plan.js");', crosses("extension", "engine", "../engine/plan/plan.js")),
        invalid("extension/x.ts", 'const plan = require("../engine/plan/plan.js");', crosses("extension", "engine", "../engine/plan/plan.js")),
        invalid("extension/x.ts", 'import plan = require("../engine/plan/plan.js");', crosses("extension", "engine", "../engine/plan/plan.js")),
        invalid("extension/panel/x.ts", 'import {el} from "../../webview/dom.js";', crosses("extension", "webview", "../../webview/dom.js")),
        invalid("extension/x.ts", 'import {symbols} from "../native/symbols.js";', crosses("extension", "native", "../native/symbols.js")),
        invalid(
            "extension/x.ts",
            'import {checkVsix} from "../tools/packaging/vsix-contents.js";',
            crosses("extension", "tools", "../tools/packaging/vsix-contents.js")
        ),
        invalid(
            "extension/x.ts",
            'import {fixture} from "../test/fixtures/fixture-models.js";',
            crosses("extension", "test", "../test/fixtures/fixture-models.js")
        ),
        invalid("extension/x.ts", 'import {run} from "../bench/speed.js";', crosses("extension", "bench", "../bench/speed.js")),
        // webview/ may import only common/panel-messages.ts and common/panel-schema.ts; no Node built-ins, no 'vscode'
        invalid("webview/main.ts", 'import {Requests} from "../common/engine-protocol.js";', {
            message:
                "webview/ may import only common/panel-messages.ts and common/panel-schema.ts from common/, not common/engine-protocol.js: the panel runs in the browser; move the browser-safe part it needs into those two modules."
        }),
        invalid("webview/x.ts", 'import {SPEED_LEVELS} from "../common/speed-levels.js";', {
            message: /^webview\/ may import only common\/panel-messages\.ts and common\/panel-schema\.ts from common\/, not common\/speed-levels\.js/
        }),
        invalid(
            "webview/x.ts",
            'import {formatStats} from "../extension/panel/panel-model.js";',
            crosses("webview", "extension", "../extension/panel/panel-model.js")
        ),
        invalid("webview/x.ts", 'import {planForSpeedup} from "../engine/plan/plan.js";', crosses("webview", "engine", "../engine/plan/plan.js")),
        invalid("webview/x.ts", 'import type * as vscode from "vscode";', vscodeIn("webview")),
        invalid("webview/x.ts", 'import fs from "node:fs";', nodeIn("webview/x.ts", "node:fs")),
        invalid("webview/x.ts", 'import path from "path";', nodeIn("webview/x.ts", "path")),
        invalid("webview/x.ts", 'import type {Buffer} from "node:buffer";', nodeIn("webview/x.ts", "node:buffer")),
        // common/panel-*.ts are shared with the browser: no Node built-ins
        invalid("common/panel-messages.ts", 'import {inspect} from "node:util";', nodeIn("common/panel-messages.ts", "node:util")),
        invalid("common/panel-schema.ts", 'const fs = await import("fs");', nodeIn("common/panel-schema.ts", "fs")),
        // native/ and tools/ never import extension/, webview/, bench/, or test/ (native/: beyond its GGUF writer)
        invalid("native/build.ts", 'import {settings} from "../extension/settings.js";', crosses("native", "extension", "../extension/settings.js")),
        invalid("native/build.ts", 'import {el} from "../webview/dom.js";', crosses("native", "webview", "../webview/dom.js")),
        invalid("native/build.ts", 'import {harness} from "../test/native/harness.js";', {
            message:
                "native/ may import only the GGUF writer (test/fixtures/gguf/) from test/, not test/native/harness.js: the build writes the GPU check's model with it and needs nothing else of the tests."
        }),
        invalid("native/build.ts", 'import {useLavapipe} from "../test/fixtures/lavapipe.js";', {
            message:
                "native/ may import only the GGUF writer (test/fixtures/gguf/) from test/, not test/fixtures/lavapipe.js: the build writes the GPU check's model with it and needs nothing else of the tests."
        }),
        invalid("native/build.ts", 'import {run} from "../bench/speed.js";', crosses("native", "bench", "../bench/speed.js")),
        invalid("native/build.ts", 'import * as vscode from "vscode";', vscodeIn("native")),
        invalid("tools/packaging/x.ts", 'import {settings} from "../../extension/settings.js";', crosses("tools", "extension", "../../extension/settings.js")),
        invalid("tools/packaging/x.ts", 'import {el} from "../../webview/dom.js";', crosses("tools", "webview", "../../webview/dom.js")),
        invalid(
            "tools/packaging/x.ts",
            'import {fixture} from "../../test/fixtures/fixture-models.js";',
            crosses("tools", "test", "../../test/fixtures/fixture-models.js")
        ),
        invalid("tools/packaging/x.ts", 'import {run} from "../../bench/speed.js";', crosses("tools", "bench", "../../bench/speed.js")),
        invalid("tools/x.ts", 'import * as vscode from "vscode";', vscodeIn("tools")),
        // bench/: not native/, tools/, webview/, test/ beyond test/fixtures/, 'vscode', or extension/ modules that load it
        invalid("bench/x.ts", 'import {applyPatchStack} from "../native/patch-stack.js";', crosses("bench", "native", "../native/patch-stack.js")),
        invalid(
            "bench/x.ts",
            'import {checkVsix} from "../tools/packaging/vsix-contents.js";',
            crosses("bench", "tools", "../tools/packaging/vsix-contents.js")
        ),
        invalid("bench/x.ts", 'import {el} from "../webview/dom.js";', crosses("bench", "webview", "../webview/dom.js")),
        invalid("bench/device/cuda-exactness.ts", 'import {checkSkipEqualsPruned} from "../../test/native/exactness-check.js";', {
            message:
                "bench/ may import only test/fixtures/ from test/, not test/native/exactness-check.js: move the shared helper into test/fixtures/ (or into bench/)."
        }),
        invalid("bench/x.ts", 'import * as vscode from "vscode";', vscodeIn("bench")),
        invalid("bench/x.ts", 'import {show} from "../extension/direct.js";', {
            message:
                "bench/ may import only extension/ modules that do not load 'vscode', and extension/direct.js does (extension/direct.ts -> 'vscode'): move the logic the benchmark needs into a vscode-free module."
        }),
        invalid("bench/x.ts", 'import {tell} from "../extension/indirect.js";', {
            message: /extension\/indirect\.js does \(extension\/indirect\.ts -> extension\/direct\.ts -> 'vscode'\)/
        }),
        invalid("bench/x.ts", 'import {open} from "../extension/lazy.js";', {message: /extension\/lazy\.js does \(extension\/lazy\.ts -> 'vscode'\)/}),
        invalid("bench/x.ts", 'import {a} from "../extension/cycle-a.js";', {
            message: /extension\/cycle-a\.js does \(extension\/cycle-a\.ts -> extension\/cycle-b\.ts -> extension\/direct\.ts -> 'vscode'\)/
        }),
        // test/: 'vscode' as a value only under test/e2e/suite/
        invalid("test/unit/x.test.ts", 'import * as vscode from "vscode";', vscodeValueInTest),
        invalid("test/e2e/harness/workbench.ts", 'import {window} from "vscode";', vscodeValueInTest),
        invalid("test/unit/x.test.ts", 'const vscode = await import("vscode");', vscodeValueInTest),
        // a room's code imports rooms, not the files around them
        invalid("engine/x.ts", 'import manifest from "../package.json";', {
            message: "engine/ may not import package.json, which is outside the rooms ('../package.json'): move it into a room this one may import."
        }),
        invalid("extension/x.ts", "const plan = await import(`../engine/plan/plan.js`);", crosses("extension", "engine", "../engine/plan/plan.js")),
        // outside the rooms: no value import of 'vscode'
        invalid("esbuild.mjs", 'import * as vscode from "vscode";', {
            message: "'vscode' may be imported only in extension/ (and, as a value, in test/e2e/suite/), not in esbuild.mjs."
        }),
        // more than one crossing in a file: each is reported
        invalid(
            "engine/x.ts",
            'import {a} from "../extension/a.js";\nimport {b} from "../webview/b.js";',
            crosses("engine", "extension", "../extension/a.js"),
            crosses("engine", "webview", "../webview/b.js")
        )
    ]
});
