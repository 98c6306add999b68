// Layer Dial: Enable CUDA from an npm mirror, in the real workbench: layerDial.npmRegistry (set in the
// Settings editor's Remote tab, where a remote window shows a machine-scoped setting) points at a registry on 127.0.0.1 that serves node-llama-cpp's real CUDA
// package, cut down to the two files the installer takes. The modal confirmation names the mirror; after
// "Download and Install" the extension downloads from it, checks the download against its integrity,
// installs, and the engine host checks the build in a process of its own. This machine has no NVIDIA
// driver, so the check finds no device and the warning says so, leaving layerDial.gpu alone. Nothing
// reaches the network. The install is removed afterwards, so later engine loads do not check it.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import {REPO_ROOT} from "../harness/code-server.js";
import {serveNpmPackage, startRegistryStub, tarEntry, tgz} from "../../fixtures/npm-registry-stub.js";
import {setStringSetting} from "./layer-dial-ui.js";
import type {Scenario} from "./scenario.js";

const CUDA_PACKAGE = "@node-llama-cpp/linux-x64-cuda";
const PACKAGE_DIR = path.join(REPO_ROOT, "node_modules", CUDA_PACKAGE);
const BINS = "bins/linux-x64-cuda";
/** the files the installer takes from the package; the rest (CPU variants, libllama, the addon) it leaves */
const TAKEN_FILES = ["_nlcBuildMetadata.json", "libggml-cuda.so"];

export const enableCudaMirror: Scenario = {
    name: "enable-cuda-mirror",
    description:
        "Enable CUDA from the npm mirror in layerDial.npmRegistry: the confirmation names it, the real CUDA library installs from it, and the check says why it cannot run",
    async run({workbench, server, screenshot}) {
        const version = (JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, "package.json"), "utf8")) as {version: string}).version;
        // gzip's fastest level: the library is 159 MB
        const tarball = tgz(
            TAKEN_FILES.map((file) => tarEntry(`package/${BINS}/${file}`, fs.readFileSync(path.join(PACKAGE_DIR, BINS, file)))),
            zlib.constants.Z_BEST_SPEED
        );
        const registry = await startRegistryStub();
        const installFolder = `cuda-${version}-linux-x64`;
        try {
            serveNpmPackage(registry, CUDA_PACKAGE, version, tarball);
            // machine-scoped: code-server, a remote window, shows it in the Remote tab only
            await setStringSetting(workbench, path.join(server.userDataDir, "Machine", "settings.json"), "layerDial.npmRegistry", registry.url, "Remote");
            await workbench.clearNotifications();

            await workbench.runCommand("Layer Dial: Enable CUDA");
            const dialog = workbench.page.locator(".monaco-dialog-box");
            await dialog.waitFor({timeout: 15_000});
            const detail = (await dialog.innerText()).replace(/\s+/g, " ");
            await screenshot("confirmation");
            assert.ok(detail.includes(`${CUDA_PACKAGE}@${version} from the npm registry (${registry.url})`), detail);
            assert.equal(registry.requests.length, 0, "the registry was asked before the user confirmed");
            await dialog.getByRole("button", {name: "Download and Install"}).click();

            const toast = await workbench.waitForToast(/CUDA cannot run here/, 180_000);
            const message = (await toast.innerText()).replace(/\s+/g, " ");
            await screenshot();
            const encoded = CUDA_PACKAGE.replace("/", "%2f");
            assert.deepEqual(registry.requests, [`/${encoded}/${version}`, `/${encoded}/-/linux-x64-cuda-${version}.tgz`]);
            assert.match(message, /CUDA backend installed \(\d+ MB\)\./);
            assert.match(message, /no CUDA device found/);
            assert.match(message, /layerDial\.gpu stays auto\./);
            assert.equal(await toast.locator(".codicon-warning").count(), 1, `not shown as a warning: ${message}`);

            const installs = findFolders(server.userDataDir, installFolder);
            assert.equal(installs.length, 1, `installs named ${installFolder}: ${installs.join(", ")}`);
            const library = fs.statSync(path.join(installs[0]!, "libggml-cuda.so")).size;
            assert.equal(library, fs.statSync(path.join(PACKAGE_DIR, BINS, "libggml-cuda.so")).size);
        } finally {
            await registry.close();
            for (const folder of findFolders(server.userDataDir, installFolder)) fs.rmSync(folder, {recursive: true, force: true});
            await workbench.clearNotifications();
        }
    }
};

function findFolders(root: string, name: string): string[] {
    return (fs.readdirSync(root, {recursive: true, withFileTypes: true}) as fs.Dirent[])
        .filter((entry) => entry.isDirectory() && entry.name === name)
        .map((entry) => path.join(entry.parentPath, entry.name));
}
