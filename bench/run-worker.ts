// Runs decode measurements in child processes (see decode-worker.ts and dial-rounds-worker.ts for why).
import {execFileSync} from "node:child_process";
import {fileURLToPath} from "node:url";
import type {DecodeMeasurement, DecodeRequest} from "./decode-worker.js";
import type {DialRoundsMeasurement, DialRoundsRequest} from "./dial-rounds-worker.js";
import type {EngineOverheadOptions, EngineOverheadResult} from "./engine-overhead.js";

/** runs a worker script with one JSON argument and parses the last line it prints */
function runWorker<T>(script: string, request: unknown): T {
    const output = execFileSync(process.execPath, ["--import", "tsx", fileURLToPath(new URL(script, import.meta.url)), JSON.stringify(request)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 16 * 1024 * 1024
    });
    return JSON.parse(output.trim().split("\n").at(-1) ?? "") as T;
}

export function measureDecode(request: DecodeRequest): DecodeMeasurement {
    return runWorker<DecodeMeasurement>("./decode-worker.ts", request);
}

export function measureDialRounds(request: DialRoundsRequest): DialRoundsMeasurement {
    return runWorker<DialRoundsMeasurement>("./dial-rounds-worker.ts", request);
}

export function measureEngineOverhead(options: Omit<EngineOverheadOptions, "log">): EngineOverheadResult {
    return runWorker<EngineOverheadResult>("./engine-overhead-worker.ts", options);
}

export function mean(values: readonly number[]): number {
    return values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
