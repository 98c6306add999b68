// Fails `npm run package` when the VSIX is over budget, lacks a file the extension needs at run time, or
// ships something it must not. Usage: tsx tools/packaging/check-vsix.ts <file.vsix>
import fs from "node:fs";
import {checkVsix, readZipEntries} from "./vsix-contents.js";

const file = process.argv[2];
if (file === undefined) {
    console.error("usage: tsx tools/packaging/check-vsix.ts <file.vsix>");
    process.exit(2);
}
const bytes = fs.statSync(file).size;
const entries = readZipEntries(file);
const problems = checkVsix(entries, bytes);
const unpacked = entries.reduce((sum, entry) => sum + entry.size, 0);
console.log(`check-vsix: ${file}: ${(bytes / 1e6).toFixed(1)} MB, ${entries.length} files, ${(unpacked / 1e6).toFixed(1)} MB unpacked`);
if (problems.length > 0) {
    for (const problem of problems.slice(0, 40)) console.error(`check-vsix: ${problem}`);
    if (problems.length > 40) console.error(`check-vsix: … and ${problems.length - 40} more`);
    process.exit(1);
}
