// Patched build at 1x against node-llama-cpp's stock prebuilt binary, interleaved in one run.
//   npx tsx bench/native-vs-stock.ts [--model PATH] [--runs 5] [--tokens 64] [--json FILE]
import fs from "node:fs";
import path from "node:path";
import {parseArgs} from "node:util";
import {BENCH_FIXTURE} from "../test/fixtures/fixture-models.js";
import {measureDecode, median} from "./run-worker.js";

const {values} = parseArgs({options: {
    model: {type: "string", default: BENCH_FIXTURE.path},
    runs: {type: "string", default: "5"},
    tokens: {type: "string", default: "64"},
    json: {type: "string"}
}});
const runs = Number(values.runs);
const tokens = Number(values.tokens);
const rates: Record<"patched" | "stock", number[]> = {patched: [], stock: []};

for (let run = 0; run < runs; run++)
    for (const binary of (run % 2 === 0 ? ["patched", "stock"] : ["stock", "patched"]) as ("patched" | "stock")[]) {
        const result = measureDecode({binary, modelPath: values.model, batch: 1, tokens});
        rates[binary].push(result.tokensPerSecond);
        console.log(`run ${run + 1} ${binary.padEnd(7)} ${result.tokensPerSecond.toFixed(2)} tok/s (${result.buildType})`);
    }

const patched = median(rates.patched);
const stock = median(rates.stock);
console.log(`\nmedian decode tok/s at 1x, batch 1, ${tokens} tokens, ${runs} interleaved runs each`);
console.log(`patched ${patched.toFixed(2)}   stock ${stock.toFixed(2)}   patched/stock ${(patched / stock).toFixed(3)}`);
if (values.json != null) {
    fs.mkdirSync(path.dirname(values.json), {recursive: true});
    fs.writeFileSync(values.json, JSON.stringify({model: values.model, tokens, runs, rates, patched, stock, ratio: patched / stock}, null, 2));
}
