// The layer-dial command: esbuild.mjs bundles this into dist/cli/layer-dial.mjs (package.json's bin), so the
// installed CLI runs on plain Node, without tsx or a TypeScript step.
import {main} from "./main.js";
import {runCli} from "./run-cli.js";

await runCli("layer-dial", main, process.argv.slice(2));
