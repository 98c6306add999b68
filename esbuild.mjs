// Bundles what VS Code loads from dist/, and the layer-dial command (dist/cli/). Each entry of `builds()` is
// one esbuild run; add an entry point by adding an entry there (e.g. the extension host bundle). Usage:
//   node esbuild.mjs [--watch] [--production] [--only=<name>[,<name>]] [--outdir=<dir, default dist>]
import * as esbuild from "esbuild";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";

const rootDir = path.dirname(fileURLToPath(import.meta.url));

/** ESM bundles with CommonJS dependencies (vscode-jsonrpc) need a real `require` */
const createRequireBanner =
    'import { createRequire as __layerDialCreateRequire } from "node:module"; const require = __layerDialCreateRequire(import.meta.url);';

/** marks a bundle executable after each successful build, as a bin with a #! line should be */
const executable = {
    name: "executable",
    setup(pluginBuild) {
        pluginBuild.onEnd((result) => {
            const outfile = pluginBuild.initialOptions.outfile;
            if (result.errors.length === 0 && outfile !== undefined && fs.existsSync(path.resolve(rootDir, outfile)))
                fs.chmodSync(path.resolve(rootDir, outfile), 0o755);
        });
    }
};

/**
 * @param {{ outRoot?: string, production?: boolean }} [options]
 * @returns {{ name: string, options: import("esbuild").BuildOptions }[]}
 */
export function builds({outRoot = "dist", production = false} = {}) {
    const common = {absWorkingDir: rootDir, bundle: true, logLevel: "warning", minify: production};
    // the engine's processes (its host, the GPU check, the layer-dial command): ESM like node-llama-cpp, which
    // stays external because it finds its files relative to its own folder; CommonJS dependencies
    // (vscode-jsonrpc) need a real `require`
    const engineProcess = {
        ...common,
        format: "esm",
        platform: "node",
        target: ["node20"],
        external: ["node-llama-cpp"],
        banner: {js: createRequireBanner},
        sourcemap: production ? false : "linked"
    };
    return [
        {
            // The speed panel's script: one IIFE, no eval (the webview's CSP allows only this nonce'd file).
            name: "webview",
            options: {
                ...common,
                entryPoints: ["webview/main.ts"],
                outfile: path.join(outRoot, "webview/panel.js"),
                format: "iife",
                platform: "browser",
                target: ["chrome120"],
                sourcemap: production ? false : "linked"
            }
        },
        {
            // The panel's styles and the codicon font, copied into the same folder as the script so the
            // extension needs a single localResourceRoot (node_modules is not packaged).
            name: "webview-styles",
            options: {
                ...common,
                entryPoints: {
                    panel: "media/panel.css",
                    "codicons/codicon": "node_modules/@vscode/codicons/dist/codicon.css"
                },
                outdir: path.join(outRoot, "webview"),
                loader: {".ttf": "file"},
                assetNames: "codicons/[name]"
            }
        },
        {
            // The extension: CommonJS, because VS Code loads `main` with require(). Only `vscode` is external;
            // node-llama-cpp is never imported here except by a dynamic import() when the user downloads a model.
            name: "extension",
            options: {
                ...common,
                entryPoints: ["extension/extension.ts"],
                outfile: path.join(outRoot, "extension.cjs"),
                format: "cjs",
                platform: "node",
                target: ["node20"],
                external: ["vscode", "node-llama-cpp"],
                sourcemap: production ? false : "linked"
            }
        },
        {
            // The engine host process.
            name: "engine-host",
            options: {...engineProcess, entryPoints: ["engine/host/main.ts"], outfile: path.join(outRoot, "engine/host.mjs")}
        },
        {
            // The GPU check's own process (engine/native/gpu-probe.ts starts it before a CUDA backend is
            // loaded): beside the engine host, where the engine host and the layer-dial command look for it.
            name: "gpu-probe",
            options: {...engineProcess, entryPoints: ["engine/native/gpu-probe-child.ts"], outfile: path.join(outRoot, "engine/gpu-probe.mjs")}
        },
        {
            // The layer-dial command (package.json's bin): the engine host's shape, so it runs on plain Node
            // without tsx. It finds the native build the way the engine host does (build-record.ts walks up to
            // package.json). The benchmarks are not in it: they run from bench/ through tsx.
            name: "cli",
            options: {
                ...engineProcess,
                entryPoints: ["engine/cli/bin.ts"],
                outfile: path.join(outRoot, "cli/layer-dial.mjs"),
                banner: {js: `#!/usr/bin/env node\n${createRequireBanner}`},
                plugins: [executable]
            }
        }
    ];
}

/** Entries whose source is not there yet (work in progress elsewhere) are skipped with a warning, not a failure. */
function withExistingEntries(selected) {
    return selected.filter((build) => {
        const entries = Object.values(build.options.entryPoints ?? {});
        const missing = entries.filter((entry) => !fs.existsSync(path.join(rootDir, entry)));
        if (missing.length > 0) console.warn(`esbuild.mjs: skipping ${build.name}: ${missing.join(", ")} does not exist yet`);
        return missing.length === 0;
    });
}

/** @param {string[]} argv */
function parseArgs(argv) {
    const value = (name) => argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
    const known = /^--(watch|production|only=.+|outdir=.+)$/;
    const unknown = argv.filter((arg) => !known.test(arg));
    if (unknown.length > 0) throw new Error(`esbuild.mjs: unknown argument ${unknown.join(" ")}; use --watch, --production, --only=<names>, --outdir=<dir>`);
    return {
        watch: argv.includes("--watch"),
        production: argv.includes("--production"),
        only: value("only")?.split(","),
        outRoot: value("outdir") ?? "dist"
    };
}

/** @param {{ watch?: boolean, production?: boolean, only?: string[], outRoot?: string }} [options] */
export async function run({watch = false, production = false, only, outRoot = "dist"} = {}) {
    let selected = builds({outRoot, production}).filter((build) => only === undefined || only.includes(build.name));
    if (only !== undefined && selected.length !== only.length)
        throw new Error(`esbuild.mjs: no build named ${only.filter((name) => !selected.some((b) => b.name === name)).join(", ")}`);
    selected = withExistingEntries(selected);
    if (!watch) {
        await Promise.all(selected.map((build) => esbuild.build(build.options)));
        return;
    }
    for (const build of selected) {
        const report = {
            name: "report",
            setup(pluginBuild) {
                pluginBuild.onEnd((result) =>
                    console.log(`[watch] ${build.name}: ${result.errors.length === 0 ? "built" : `${result.errors.length} error(s)`}`)
                );
            }
        };
        const context = await esbuild.context({...build.options, plugins: [...(build.options.plugins ?? []), report]});
        await context.watch();
    }
    console.log("[watch] watching; Ctrl+C stops");
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    Promise.resolve()
        .then(() => run(parseArgs(process.argv.slice(2))))
        .catch((error) => {
            // esbuild has already printed its own errors; this names the failed step or the bad argument
            console.error(error instanceof Error ? error.message : error);
            process.exitCode = 1;
        });
}
