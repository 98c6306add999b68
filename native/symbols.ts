// Proves that the ggml libraries in a bins folder define every ggml symbol our libllama, llama-common
// and addon import. They come from node-llama-cpp's prebuilt package while ours are compiled here, so a
// mismatch (another release, a changed patch) must fail the build, not a user's dlopen.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";

function dynamicSymbols(file: string, which: "defined" | "undefined"): string[] {
    const result = spawnSync("nm", ["-D", `--${which}-only`, "--format=posix", file], {encoding: "utf8"});
    if (result.status !== 0) throw new Error(`nm could not read ${file}: ${result.stderr}`);
    // posix format: "name type [value size]"
    return result.stdout
        .split("\n")
        .filter((line) => line.length > 0)
        .map((line) => line.split(" ")[0].replace(/@.*$/, ""));
}

/** the ggml symbols our libraries import that no ggml library next to them exports; empty when whole.
 *  Linux only (nm -D on ELF); elsewhere the loader's dlopen check is the only one. */
export function checkGgmlSymbols(binsFolder: string): string[] {
    if (process.platform !== "linux") return [];
    const names = fs.readdirSync(binsFolder);
    const ours = names.filter((name) => name === "llama-addon.node" || /^libllama[.-]/.test(name));
    const ggml = names.filter((name) => /^libggml(-base)?[.-]/.test(name) && !/^libggml-cpu-/.test(name));
    const defined = new Set(ggml.flatMap((name) => dynamicSymbols(path.join(binsFolder, name), "defined")));
    const needed = new Set(ours.flatMap((name) => dynamicSymbols(path.join(binsFolder, name), "undefined")).filter((symbol) => /^(ggml|gguf)_/.test(symbol)));
    return [...needed].filter((symbol) => !defined.has(symbol)).sort();
}
