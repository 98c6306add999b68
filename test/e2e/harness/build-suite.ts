// Bundles the in-extension-host mocha suite (suite/*.ts) into test/e2e/out/suite/*.cjs with the
// project's esbuild. CommonJS with a .cjs extension: VS Code 1.100 loads extensionTestsPath with
// require(), and both package.json files around it say "type": "module". vscode is the host's own
// module, and mocha is loaded from test/e2e/node_modules at run time, so both stay external.
import fs from "node:fs";
import path from "node:path";
import * as esbuild from "esbuild";
import {E2E_DIR} from "./code-server.js";

export const SUITE_OUT_DIR = path.join(E2E_DIR, "out/suite");
export const SUITE_ENTRY = path.join(SUITE_OUT_DIR, "index.cjs");

export async function buildSuite(): Promise<void> {
    const sourceDir = path.join(E2E_DIR, "suite");
    const entryPoints = fs
        .readdirSync(sourceDir)
        .filter((file) => file === "index.ts" || file.endsWith(".test.ts"))
        .map((file) => path.join(sourceDir, file));
    fs.rmSync(SUITE_OUT_DIR, {recursive: true, force: true});
    await esbuild.build({
        entryPoints,
        outdir: SUITE_OUT_DIR,
        outExtension: {".js": ".cjs"},
        bundle: true,
        format: "cjs",
        platform: "node",
        target: "node20",
        sourcemap: "inline",
        external: ["vscode", "mocha"],
        logLevel: "warning"
    });
}
