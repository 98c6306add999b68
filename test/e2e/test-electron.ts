// `npm run test:vscode`: the same in-extension-host mocha suite in a desktop VS Code, through
// @vscode/test-electron. It downloads VS Code at run time, so it needs the internet and is not part of the
// offline `npm test`. The status bar checks need the e2e harness's DOM probe and are skipped here.
//
//   npm run test:vscode [-- --version 1.100.3]   (default: the engine's minimum VS Code, 1.90.0)
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {parseArgs} from "node:util";
import {buildSuite, SUITE_ENTRY} from "./harness/build-suite.js";
import {E2E_DIR, REPO_ROOT} from "./harness/code-server.js";
import {SetupMissingError} from "./harness/errors.js";
import {STORY_FILE, STORY_TEXT} from "./scenarios/layer-dial-ui.js";

type RunTestsOptions = {
    version?: string;
    extensionDevelopmentPath: string;
    extensionTestsPath: string;
    launchArgs?: string[];
    extensionTestsEnv?: Record<string, string | undefined>;
};
type TestElectron = {runTests(options: RunTestsOptions): Promise<number>};

const TEST_ELECTRON = "@vscode/test-electron";

/**
 * Imported by a computed name with its type written here: the root type-check covers this file and runs
 * before test/e2e's own packages (which hold @vscode/test-electron) are installed.
 */
async function loadTestElectron(): Promise<TestElectron> {
    const entry = path.join(E2E_DIR, "node_modules", TEST_ELECTRON);
    if (!fs.existsSync(entry)) throw new SetupMissingError(entry);
    const specifier: string = TEST_ELECTRON;
    return (await import(specifier)) as TestElectron;
}

async function main(): Promise<number> {
    const {values} = parseArgs({options: {version: {type: "string", default: "1.90.0"}}});
    const {runTests} = await loadTestElectron();
    await buildSuite();
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), "layer-dial-test-electron-"));
    try {
        const workspace = path.join(root, "workspace");
        const userData = path.join(root, "user-data");
        await fsp.mkdir(path.join(userData, "User"), {recursive: true});
        await fsp.mkdir(workspace);
        await fsp.writeFile(path.join(workspace, STORY_FILE), STORY_TEXT);
        await fsp.writeFile(
            path.join(userData, "User/settings.json"),
            JSON.stringify(
                {
                    "layerDial.model": path.resolve(REPO_ROOT, "../shared/models/stories260K.gguf")
                },
                null,
                4
            )
        );
        return await runTests({
            version: values.version,
            extensionDevelopmentPath: REPO_ROOT,
            extensionTestsPath: SUITE_ENTRY,
            launchArgs: [workspace, "--user-data-dir", userData, "--disable-extensions", "--disable-workspace-trust"]
        });
    } finally {
        await fsp.rm(root, {recursive: true, force: true});
    }
}

try {
    process.exitCode = await main();
} catch (error) {
    console.error(error instanceof Error ? `${error.name}: ${error.message}` : error);
    process.exitCode = 1;
}
