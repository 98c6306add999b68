// One engine-overhead measurement in its own process (engine-overhead.ts), for bench speed: the engine's
// path and the raw decode loop take turns on the same weights in one process. Prints one JSON line:
// EngineOverheadResult.
//   tsx bench/engine-overhead-worker.ts '{"modelPath":"...","runs":4,"tokens":64,"promptTokens":68,"threads":1}'
import {runEngineOverhead, type EngineOverheadOptions} from "./engine-overhead.js";

const options = JSON.parse(process.argv[2] ?? "{}") as Omit<EngineOverheadOptions, "log">;
console.log(JSON.stringify(await runEngineOverhead(options)));
