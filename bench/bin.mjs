#!/usr/bin/env node
// layer-dial-bench (npm run bench -- …): the benchmarks, a development tool. Runs bench/main.ts through tsx
// (a devDependency), as the benchmarks' worker processes do; the product CLI is dist/cli/layer-dial.mjs.
import {register} from "tsx/esm/api";

register();
const {runCli} = await import("../engine/cli/run-cli.ts");
const {main} = await import("./main.ts");
await runCli("layer-dial-bench", main, process.argv.slice(2));
