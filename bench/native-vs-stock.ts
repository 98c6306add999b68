// Patched build at 1x against node-llama-cpp's stock prebuilt binary, interleaved in one run.
//   npm run bench -- native-vs-stock [--model PATH] [--runs 5] [--tokens 64] [--json [FILE]]
import {measureDecode, median} from "./run-worker.js";

export type NativeVsStockOptions = {
    modelPath: string;
    /** interleaved runs of each binary. Defaults to 5. */
    runs?: number;
    /** decoded tokens per run. Defaults to 64. */
    tokens?: number;
    /** one line per run */
    log?: (line: string) => void;
};

export type NativeVsStockResult = {
    model: string;
    tokens: number;
    runs: number;
    rates: Record<"patched" | "stock", number[]>;
    patched: number;
    stock: number;
    ratio: number;
};

export function runNativeVsStock(options: NativeVsStockOptions): NativeVsStockResult {
    const runs = options.runs ?? 5;
    const tokens = options.tokens ?? 64;
    const rates: Record<"patched" | "stock", number[]> = {patched: [], stock: []};
    for (let run = 0; run < runs; run++)
        for (const binary of (run % 2 === 0 ? ["patched", "stock"] : ["stock", "patched"]) as ("patched" | "stock")[]) {
            const result = measureDecode({binary, modelPath: options.modelPath, batch: 1, tokens});
            rates[binary].push(result.tokensPerSecond);
            options.log?.(`run ${run + 1} ${binary.padEnd(7)} ${result.tokensPerSecond.toFixed(2)} tok/s (${result.buildType})`);
        }
    const patched = median(rates.patched);
    const stock = median(rates.stock);
    return {model: options.modelPath, tokens, runs, rates, patched, stock, ratio: patched / stock};
}

export function formatNativeVsStock(result: NativeVsStockResult): string {
    return (
        `median decode tok/s at 1x, batch 1, ${result.tokens} tokens, ${result.runs} interleaved runs each\n` +
        `patched ${result.patched.toFixed(2)}   stock ${result.stock.toFixed(2)}   patched/stock ${result.ratio.toFixed(3)}`
    );
}
