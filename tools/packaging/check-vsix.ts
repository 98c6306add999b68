// Fails `npm run package` when the VSIX is over budget, lacks a file the extension needs at run time or an
// image README.md shows, or ships something it must not.
// Usage: tsx tools/packaging/check-vsix.ts [--target linux-x64|linux-arm64|darwin-arm64|darwin-x64|win32-x64] <file.vsix>
import fs from "node:fs";
import path from "node:path";
import {parseArgs} from "node:util";
import {checkVsix, isVsixTarget, readmeImagePaths, readZipEntries, VSIX_TARGETS} from "./vsix-contents.js";

const usage = `usage: tsx tools/packaging/check-vsix.ts [--target ${VSIX_TARGETS.join("|")}] <file.vsix>`;
const {values, positionals} = parseArgs({options: {target: {type: "string", default: "linux-x64"}}, allowPositionals: true});
const file = positionals[0];
const target = values.target;
if (file === undefined || positionals.length > 1 || !isVsixTarget(target)) {
    console.error(usage);
    process.exit(2);
}
const readme = fs.readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8");
const readmeImages = readmeImagePaths(readme);
const bytes = fs.statSync(file).size;
const entries = readZipEntries(file);
const problems = checkVsix(entries, bytes, {target, readmeImages});
const unpacked = entries.reduce((sum, entry) => sum + entry.size, 0);
console.log(
    `check-vsix: ${file} (${target}): ${(bytes / 1e6).toFixed(1)} MB, ${entries.length} files, ${(unpacked / 1e6).toFixed(1)} MB unpacked; ` +
        `README's ${readmeImages.length} images, CHANGELOG and LICENSE checked`
);
if (problems.length > 0) {
    for (const problem of problems.slice(0, 40)) console.error(`check-vsix: ${problem}`);
    if (problems.length > 40) console.error(`check-vsix: … and ${problems.length - 40} more`);
    process.exit(1);
}
