// Runs decode measurements in child processes (see decode-worker.ts and dial-rounds-worker.ts for why).
import {spawnSync} from "node:child_process";
import path from "node:path";
import {fileURLToPath} from "node:url";
import type {DecodeMeasurement, DecodeRequest} from "./decode-worker.js";
import type {DialRoundsMeasurement, DialRoundsRequest} from "./dial-rounds-worker.js";
import type {EngineOverheadOptions, EngineOverheadResult} from "./engine-overhead.js";

/** a measuring process that ended without printing its result */
export class MeasuringProcessError extends Error {
    override name = "MeasuringProcessError";
}

export type RunWorkerOptions = {
    /** where a retried crash is said. Defaults to stderr. */
    log?: (line: string) => void;
};

/**
 * Runs a worker script in a process of its own with one JSON argument, and parses the last line it prints.
 * A process killed by a signal is run once more, and the log says so: in one 14-minute lavapipe run a
 * measuring process died without a word and took the whole run with it, while the same request ran three
 * times in a row without fault. A worker that exits with an error status is not retried: that is its own
 * error, and it printed why.
 */
export function runWorkerScript<T>(script: string, request: unknown, options: RunWorkerOptions = {}): T {
    const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
    for (let attempt = 1; ; attempt++) {
        const child = spawnSync(process.execPath, ["--import", "tsx", script, JSON.stringify(request)], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
            maxBuffer: 16 * 1024 * 1024
        });
        if (child.status === 0) return JSON.parse(child.stdout.trim().split("\n").at(-1) ?? "") as T;
        const how =
            child.error != null
                ? `failed (${child.error.message})`
                : child.signal != null
                  ? `was killed by ${child.signal}`
                  : `exited with status ${child.status}`;
        const name = path.basename(script);
        // a spawn error (no node, output past maxBuffer) would only fail again
        if (child.error == null && child.signal != null && attempt === 1) {
            log(`the measuring process ${name} ${how}; running it once more`);
            continue;
        }
        throw new MeasuringProcessError(`The measuring process ${name} ${how}${attempt > 1 ? ", twice" : ""}. Its request: ${JSON.stringify(request)}`);
    }
}

function runWorker<T>(script: string, request: unknown): T {
    return runWorkerScript<T>(fileURLToPath(new URL(script, import.meta.url)), request);
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
