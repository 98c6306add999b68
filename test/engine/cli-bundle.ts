// The layer-dial command as users get it: the esbuild bundle dist/cli/layer-dial.mjs (package.json's bin).
// Tests run that file, never the TypeScript sources, so they fail, saying what to run, when it is missing or
// older than the sources it is built from (npm test builds it in `npm run setup`).
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const cliBundlePath = path.join(root, "dist/cli/layer-dial.mjs");

/** the bundle's sources: what the CLI imports lives in engine/ and common/ */
function newestSource(): {file: string; mtimeMs: number} {
    let newest = {file: "", mtimeMs: 0};
    for (const folder of ["engine", "common"])
        for (const entry of fs.readdirSync(path.join(root, folder), {recursive: true, withFileTypes: true})) {
            if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
            const file = path.join(entry.parentPath, entry.name);
            const {mtimeMs} = fs.statSync(file);
            if (mtimeMs > newest.mtimeMs) newest = {file, mtimeMs};
        }
    return newest;
}

let checked = false;

/** the bundle's path; throws a message that says how to build it when it is missing or stale (checked
 *  once per test file: every CLI call asks, and the sources do not change during a run) */
export function cliBundle(): string {
    if (checked) return cliBundlePath;
    if (!fs.existsSync(cliBundlePath))
        throw new Error(`${path.relative(root, cliBundlePath)} is not built: run npm run build:cli (npm test does, in npm run setup)`);
    const source = newestSource();
    if (source.mtimeMs > fs.statSync(cliBundlePath).mtimeMs)
        throw new Error(`${path.relative(root, cliBundlePath)} is older than ${path.relative(root, source.file)}: run npm run build:cli`);
    checked = true;
    return cliBundlePath;
}
