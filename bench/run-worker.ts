// Runs one decode measurement in a child process (see decode-worker.ts for why).
import {execFileSync} from "node:child_process";
import {fileURLToPath} from "node:url";
import type {DecodeMeasurement, DecodeRequest} from "./decode-worker.js";

const workerPath = fileURLToPath(new URL("./decode-worker.ts", import.meta.url));

export function measureDecode(request: DecodeRequest): DecodeMeasurement {
    const output = execFileSync(process.execPath, ["--import", "tsx", workerPath, JSON.stringify(request)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        maxBuffer: 16 * 1024 * 1024
    });
    const line = output.trim().split("\n").at(-1) ?? "";
    return JSON.parse(line) as DecodeMeasurement;
}

export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
