// layer-dial-bench speed (npm run bench -- speed): for targets 1, 1.25, 1.5, 2, 3 (clamped to the model's max) at batch 1 and 4,
// the kept layers, the dial's predicted speedup (from the engine's own calibration), the measured decode
// tokens/s of the engine's own generation path (median of interleaved runs in separate processes), and
// achieved = tokens/s ÷ tokens/s at 1x of the same batch size; plus the patched build at 1x against the
// stock prebuilt binary, both through the same raw decode loop.
import {execFileSync} from "node:child_process";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {planForSpeed} from "../engine/plan/index.js";
import type {CalibrationReport} from "./calibrate-worker.js";
import type {DecodeRequest} from "./decode-worker.js";
import {measureDecode, median} from "./run-worker.js";

export type SpeedBenchOptions = {
    modelPath: string;
    /** interleaved runs per configuration. Defaults to 3. */
    runs?: number;
    /** decoded tokens per run. Defaults to 64. */
    tokens?: number;
    targets?: number[];
    batches?: number[];
};

export type SpeedBenchRow = {
    target: number;
    predicted: number;
    batch: number;
    keptLayers: number;
    tokensPerSecond: number;
    /** the slowest and fastest run */
    tokensPerSecondRange: [number, number];
    achieved: number;
    /** tokens/s over the same batch's 1x tokens/s of the same run: the lowest and highest run */
    achievedRange: [number, number];
};

export type SpeedBenchResult = {
    model: string;
    runs: number;
    tokens: number;
    rows: SpeedBenchRow[];
    stockRatio: number;
    /** patched over stock within each run: the lowest and highest */
    stockRatioRange: [number, number];
    patchedTokensPerSecond: number;
    stockTokensPerSecond: number;
    compute: string;
};

function calibrate(modelPath: string, batches: number[]): CalibrationReport {
    const worker = fileURLToPath(new URL("./calibrate-worker.ts", import.meta.url));
    const output = execFileSync(process.execPath, ["--import", "tsx", worker, modelPath, batches.join(",")], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"]
    });
    return JSON.parse(output.trim().split("\n").at(-1)!) as CalibrationReport;
}

export async function runSpeedBench(options: SpeedBenchOptions): Promise<SpeedBenchResult> {
    const runs = options.runs ?? 3;
    const tokens = options.tokens ?? 64;
    const batches = options.batches ?? [1, 4];
    const targets = options.targets ?? [1, 1.25, 1.5, 2, 3];

    const calibration = calibrate(options.modelPath, batches);
    const configurations: {target: number; batch: number; predicted: number; keptLayers: number; request: DecodeRequest}[] = [];
    for (const batch of batches)
        for (const target of targets) {
            const plan = planForSpeed({model: calibration.shape, costModel: calibration.costModels[batch]}, target);
            configurations.push({
                target: plan.targetSpeedup,
                batch,
                predicted: plan.predictedSpeedup,
                keptLayers: plan.depth,
                request: {binary: "engine", modelPath: options.modelPath, mask: [...plan.skipMask], batch, tokens}
            });
        }
    // the binaries alone, through the same raw decode loop: does the patched build cost anything at 1x?
    const stock: DecodeRequest = {binary: "stock", modelPath: options.modelPath, batch: 1, tokens};
    const patchedRaw: DecodeRequest = {binary: "patched", modelPath: options.modelPath, batch: 1, tokens};

    const rates = new Map<DecodeRequest, number[]>([...configurations.map((c) => c.request), stock, patchedRaw].map((request) => [request, []]));
    for (let run = 0; run < runs; run++) {
        // interleaved, and in a different order each run, so drift in the machine's speed spreads evenly
        const order = [...rates.keys()];
        if (run % 2 === 1) order.reverse();
        for (const request of order) {
            const measurement = measureDecode(request);
            rates.get(request)!.push(measurement.tokensPerSecond);
            process.stderr.write(
                `run ${run + 1}/${runs} ${request.binary.padEnd(7)} batch ${request.batch} ` +
                    `${request.mask?.filter(Boolean).length ?? 0} skipped: ${measurement.tokensPerSecond.toFixed(2)} tok/s\n`
            );
        }
    }

    const rows: SpeedBenchRow[] = configurations.map((configuration) => {
        const fullRates = rates.get(configurations.find((c) => c.batch === configuration.batch && c.keptLayers === calibration.shape.layerCount)!.request)!;
        const ownRates = rates.get(configuration.request)!;
        const tokensPerSecond = median(ownRates);
        return {
            target: configuration.target,
            predicted: configuration.predicted,
            batch: configuration.batch,
            keptLayers: configuration.keptLayers,
            tokensPerSecond,
            tokensPerSecondRange: [Math.min(...ownRates), Math.max(...ownRates)],
            achieved: tokensPerSecond / median(fullRates),
            achievedRange: ratioRange(ownRates, fullRates)
        };
    });
    const patchedTokensPerSecond = median(rates.get(patchedRaw)!);
    const stockTokensPerSecond = median(rates.get(stock)!);
    const stockRatioRange = ratioRange(rates.get(patchedRaw)!, rates.get(stock)!);
    return {
        model: path.basename(options.modelPath),
        runs,
        tokens,
        rows,
        stockRatio: patchedTokensPerSecond / stockTokensPerSecond,
        stockRatioRange,
        patchedTokensPerSecond,
        stockTokensPerSecond,
        compute: calibration.compute
    };
}

/** the smallest and largest ratio of two settings measured in the same run: the run-to-run spread of a
 *  ratio, free of the drift between runs that the interleaving spreads over every setting */
function ratioRange(numerators: readonly number[], denominators: readonly number[]): [number, number] {
    const ratios = numerators.map((value, run) => value / denominators[run]);
    return [Math.min(...ratios), Math.max(...ratios)];
}

/** the result as a table (bench/main.ts prints it unless --json alone asks for the JSON) */
export function formatSpeedBench(result: SpeedBenchResult): string {
    return [
        `${result.model} on ${result.compute}: ${result.runs} interleaved runs of ${result.tokens} tokens, median (range over runs; a ratio's range pairs the settings of one run)`,
        "target  batch  kept  predicted  tok/s                    achieved               achieved/predicted",
        ...result.rows.map(
            (row) =>
                `${row.target.toFixed(2).padStart(6)}  ${String(row.batch).padStart(5)}  ${String(row.keptLayers).padStart(4)}  ` +
                `${row.predicted.toFixed(3).padStart(9)}  ${row.tokensPerSecond.toFixed(2).padStart(6)} (${range(row.tokensPerSecondRange, 2)})  ` +
                `${row.achieved.toFixed(3).padStart(6)} (${range(row.achievedRange, 3)})  ${(row.achieved / row.predicted).toFixed(3).padStart(6)}`
        ),
        `patched 1x / stock 1x (batch 1, raw decode): ${result.patchedTokensPerSecond.toFixed(2)} / ${result.stockTokensPerSecond.toFixed(2)} tok/s = ` +
            `${result.stockRatio.toFixed(3)} (${range(result.stockRatioRange, 3)})`
    ].join("\n");
}

function range([low, high]: readonly [number, number], digits: number): string {
    return `${low.toFixed(digits)}–${high.toFixed(digits)}`;
}
