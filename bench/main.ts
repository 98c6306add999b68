// layer-dial-bench: the benchmarks. Development tools, run from the repository through tsx (bench/bin.mjs,
// `npm run bench -- <benchmark> …`): their worker processes run the TypeScript sources too. The product
// CLI (engine/cli/main.ts) imports nothing from here.
import fs from "node:fs";
import path from "node:path";
import {parseArgs} from "node:util";
import {emitJson, extractJsonOption, type JsonOption} from "../engine/cli/json-option.js";
import {CliUsageError} from "../engine/cli/usage-error.js";
import {resolveModelPath} from "../engine/model-source.js";
import {gpuChoices, isGpuChoice} from "../engine/native/loader.js";
import {parseStrategyName} from "../engine/plan/index.js";
import {BENCH_FIXTURE, benchShapeFixture, ensureFixture, InvalidBenchShapeError} from "../test/fixtures/fixture-models.js";
import {formatCompletionBench, runCompletionBench} from "./completion.js";
import {formatLeakBench, runLeakBench} from "./leak.js";
import {formatLosslessBench, runLosslessBench} from "./lossless.js";
import {formatNativeVsStock, runNativeVsStock} from "./native-vs-stock.js";
import {DEFAULT_HELDOUT_TEXT, runQualityBench} from "./quality.js";
import {formatSpeedBench, runSpeedBench} from "./speed.js";
import {formatEngineOverhead, runEngineOverhead} from "./engine-overhead.js";

export const benchUsage = `Usage: npm run bench -- <benchmark> [options]   (or layer-dial-bench <benchmark> [options])

Benchmarks:
  speed --model M | --shape LxE [--runs N] [--rounds N] [--tokens N] [--batches 1,4] [--contexts 100,1500] [--targets 1.25,1.5,2,3]
        [--threads N] [--calibration-target 0.02] [--calibration-seconds 4 a sequence, up to 12]
        decode speed at every target, batch and context against the prediction, each achieved/predicted ratio
        with its 95% interval over the runs (a run: one process per batch and context, its settings taking
        turns --rounds times, default 3); the engine at 1x against a raw decode loop, and the patched
        build against the stock one. --shape 32x1536 writes a Q8_0 llama of that shape to test/.fixtures/
  quality --model M [--text FILE] [--calibrate | --recalibrate] [--estimate] [--strategies even,paper,…]
          [--calibration-text FILE] [--cache-dir DIR] [--out-dir DIR] [--window N] [--max-tokens N] [--threads N]
        what each strategy and depth costs in quality (teacher-forced; also writes a table and an SVG plot to
        --out-dir, default bench/.results/)
  completion --model M [--max-tokens N] [--files A,B]
        inline completion latency at each level, and the requests made while typing
  leak --model M [--requests N] [--max-tokens N]
        memory of the engine host and its client over N completion requests (default 10,000) with cancels and dial changes
  lossless --model M [--text FILE] [--runs N] [--tokens N] [--threads N] [--drafter-state DIR|off] [--skip-sweep]
        tokens/s at Quality and at Lossless (interleaved pairs), the drafter's acceptance, choice and predicted
        speedup against the measured one, each draft depth's acceptance, and whether both wrote the same tokens;
        the drafters start from the state stored in the user's cache (--drafter-state: another folder, or off)
  engine-overhead --model M | --shape LxE [--runs N] [--tokens N] [--threads N]
        the engine's path at 1x against a raw patched decode loop on the same weights, in one process, alternating
        bursts (default 12 pairs of 32 tokens): engine/raw with its 95% interval
  native-vs-stock [--model M] [--runs N] [--tokens N]
        the patched build at 1x against node-llama-cpp's stock binary (default model: the bench fixture)

Options:
  --gpu auto|vulkan|cuda|metal|cpu   compute backend of the measured processes (default auto)
  --json [FILE]    print one JSON object instead of the text; --json out.json (a name ending in .json) or
                   --json=FILE writes it to that file and keeps the text
`;

const options = {
    model: {type: "string"},
    gpu: {type: "string"},
    runs: {type: "string"},
    rounds: {type: "string"},
    tokens: {type: "string"},
    text: {type: "string"},
    "max-tokens": {type: "string"},
    files: {type: "string"},
    strategies: {type: "string"},
    calibrate: {type: "boolean"},
    recalibrate: {type: "boolean"},
    estimate: {type: "boolean"},
    "calibration-text": {type: "string"},
    "cache-dir": {type: "string"},
    "out-dir": {type: "string"},
    shape: {type: "string"},
    batches: {type: "string"},
    contexts: {type: "string"},
    targets: {type: "string"},
    "calibration-target": {type: "string"},
    "calibration-seconds": {type: "string"},
    window: {type: "string"},
    threads: {type: "string"},
    requests: {type: "string"},
    "drafter-state": {type: "string"},
    "skip-sweep": {type: "boolean"},
    help: {type: "boolean", short: "h"}
} as const;

type OptionName = keyof typeof options;
type Values = ReturnType<typeof parseArgs<{options: typeof options; allowPositionals: true}>>["values"];

/** the options each benchmark takes, besides --gpu, --json and --help */
const benchmarkOptions: Record<string, OptionName[]> = {
    speed: ["model", "shape", "runs", "rounds", "tokens", "batches", "contexts", "targets", "threads", "calibration-target", "calibration-seconds"],
    quality: [
        "model",
        "text",
        "strategies",
        "calibrate",
        "recalibrate",
        "estimate",
        "calibration-text",
        "cache-dir",
        "out-dir",
        "window",
        "max-tokens",
        "threads"
    ],
    completion: ["model", "max-tokens", "files"],
    lossless: ["model", "text", "runs", "tokens", "threads", "drafter-state", "skip-sweep"],
    leak: ["model", "requests", "max-tokens"],
    "native-vs-stock": ["model", "runs", "tokens"],
    "engine-overhead": ["model", "shape", "runs", "tokens", "threads"]
};

function integerOption(values: Values, name: OptionName, minimum: number): number | undefined {
    const raw = values[name];
    if (raw == null) return undefined;
    const value = Number(raw);
    if (!(Number.isInteger(value) && value >= minimum)) throw new CliUsageError(`--${name} must be an integer ≥ ${minimum} (got "${String(raw)}")`);
    return value;
}

function numberListOption(values: Values, name: OptionName, valid: (value: number) => boolean, what: string): number[] | undefined {
    const raw = values[name];
    if (raw == null) return undefined;
    const list = String(raw).split(",").map(Number);
    if (list.length === 0 || !list.every((value) => Number.isFinite(value) && valid(value)))
        throw new CliUsageError(`--${name} takes ${what}, separated by commas (got "${String(raw)}")`);
    return list;
}

/** the generated model of a --shape, written once (minutes for a 1 GB one) and reused while its spec is the same */
async function shapeModelPath(shape: string, model: string | undefined): Promise<string> {
    if (model != null) throw new CliUsageError("speed takes --model or --shape, not both");
    try {
        const fixture = benchShapeFixture(shape);
        log(`writing ${fixture.path} for --shape ${shape} (unless it is there already)`);
        return (await ensureFixture(fixture)).model.path;
    } catch (error) {
        if (error instanceof InvalidBenchShapeError) throw new CliUsageError(error.message);
        throw error;
    }
}

async function modelPath(values: Values, benchmark: string): Promise<string> {
    if (values.model == null) throw new CliUsageError(`${benchmark} needs --model (a .gguf path or an hf: URI)`);
    const resolved = await resolveModelPath(values.model, {showCliProgress: process.stderr.isTTY});
    // before any worker process starts: a missing file would otherwise fail in the first one, with its stack
    if (!fs.existsSync(resolved)) throw new CliUsageError(`Model file not found: ${resolved}`);
    return resolved;
}

/** the text, unless --json alone asks for the JSON object only; and the JSON object as --json says */
function report(json: JsonOption, value: unknown, text: string) {
    if (!json.stdout) console.log(text);
    emitJson(json, value);
    if (json.file != null && !json.stdout) console.log(`wrote ${json.file}`);
}

const log = (line: string) => void process.stderr.write(`${line}\n`);

export async function main(argv: string[]): Promise<void> {
    const {args, json} = extractJsonOption(argv);
    const {values, positionals} = parseArgs({args, options, allowPositionals: true});
    const [benchmark, extra] = positionals;
    if (values.help || benchmark == null) return void process.stdout.write(benchUsage);
    const allowed = benchmarkOptions[benchmark];
    if (allowed === undefined) throw new CliUsageError(`Unknown benchmark "${benchmark}". Available: ${Object.keys(benchmarkOptions).join(", ")}`);
    if (extra != null) throw new CliUsageError(`${benchmark} takes no argument "${extra}"`);
    const foreign = (Object.keys(values) as OptionName[]).filter((name) => name !== "gpu" && name !== "help" && !allowed.includes(name));
    if (foreign.length > 0) throw new CliUsageError(`${benchmark} does not take ${foreign.map((name) => `--${name}`).join(", ")}`);
    // the measurements run in worker processes (and the loader's default backend): they read the choice from here
    if (values.gpu != null) {
        if (!isGpuChoice(values.gpu)) throw new CliUsageError(`--gpu must be one of ${gpuChoices.join(", ")} (got "${values.gpu}")`);
        process.env.LAYER_DIAL_GPU = values.gpu;
    }

    switch (benchmark) {
        case "speed": {
            const result = await runSpeedBench({
                modelPath: values.shape != null ? await shapeModelPath(values.shape, values.model) : await modelPath(values, benchmark),
                runs: integerOption(values, "runs", 2),
                rounds: integerOption(values, "rounds", 1),
                tokens: integerOption(values, "tokens", 8),
                batches: numberListOption(values, "batches", (v) => Number.isInteger(v) && v >= 1, "whole numbers ≥ 1"),
                contexts: numberListOption(values, "contexts", (v) => Number.isInteger(v) && v >= 16, "whole numbers ≥ 16"),
                targets: numberListOption(values, "targets", (v) => v >= 1, "ratios ≥ 1"),
                threads: integerOption(values, "threads", 1),
                calibrationTarget: numberListOption(values, "calibration-target", (v) => v > 0 && v < 1, "a share between 0 and 1")?.[0],
                calibrationSeconds: numberListOption(values, "calibration-seconds", (v) => v > 0, "seconds")?.[0],
                log
            });
            return report(json, result, `\n${formatSpeedBench(result)}`);
        }
        case "quality": {
            const result = await runQualityBench({
                modelPath: await modelPath(values, benchmark),
                textPath: values.text ?? DEFAULT_HELDOUT_TEXT,
                // it writes its JSON file itself, next to the table and the plot, unless --json FILE names one
                jsonPath: json.file,
                outDirectory: values["out-dir"],
                strategies: values.strategies?.split(",").map((name) => parseStrategyName(name.trim())),
                calibrate: values.calibrate,
                recalibrate: values.recalibrate,
                estimate: values.estimate,
                calibrationTextPath: values["calibration-text"],
                cacheDirectory: values["cache-dir"],
                windowTokens: integerOption(values, "window", 2),
                maxTokens: integerOption(values, "max-tokens", 1),
                threads: integerOption(values, "threads", 1),
                log
            });
            if (json.stdout) return void process.stdout.write(`${JSON.stringify(result)}\n`);
            console.log(`\n${result.table}`);
            console.log(
                `full model: ${result.fullModel.bitsPerByte.toFixed(3)} bits/byte; ${result.text.scoredTokens} tokens scored; ${result.seconds.toFixed(0)} s`
            );
            if (result.calibration !== null)
                console.log(`calibrated order (${result.calibration.method}, on ${result.calibration.text}): ${result.calibration.order.join(" ")}`);
            console.log(`wrote ${result.files.json}\n      ${result.files.table}\n      ${result.files.svg}`);
            return;
        }
        case "completion": {
            const result = await runCompletionBench({
                modelPath: await modelPath(values, benchmark),
                files: values.files
                    ?.split(",")
                    .map((file) => file.trim())
                    .filter((file) => file.length > 0),
                maxTokens: integerOption(values, "max-tokens", 1),
                log
            });
            return report(json, result, formatCompletionBench(result));
        }
        case "leak": {
            const result = await runLeakBench({
                modelPath: await modelPath(values, benchmark),
                requests: integerOption(values, "requests", 1),
                maxTokens: integerOption(values, "max-tokens", 1),
                log
            });
            return report(json, result, `\n${formatLeakBench(result)}`);
        }
        case "lossless": {
            const result = await runLosslessBench({
                modelPath: await modelPath(values, benchmark),
                textPath: values.text,
                runs: integerOption(values, "runs", 1),
                tokens: integerOption(values, "tokens", 8),
                threads: integerOption(values, "threads", 1),
                ...(values["drafter-state"] != null ? {drafterStateDirectory: values["drafter-state"] === "off" ? false : values["drafter-state"]} : {}),
                sweep: values["skip-sweep"] !== true,
                log
            });
            return report(json, result, `\n${formatLosslessBench(result)}`);
        }
        case "native-vs-stock": {
            const result = runNativeVsStock({
                modelPath: values.model != null ? await modelPath(values, benchmark) : path.resolve(BENCH_FIXTURE.path),
                runs: integerOption(values, "runs", 1),
                tokens: integerOption(values, "tokens", 1),
                log
            });
            return report(json, result, `\n${formatNativeVsStock(result)}`);
        }
        case "engine-overhead": {
            const result = await runEngineOverhead({
                modelPath: values.shape != null ? await shapeModelPath(values.shape, values.model) : await modelPath(values, benchmark),
                runs: integerOption(values, "runs", 2),
                tokens: integerOption(values, "tokens", 4),
                threads: integerOption(values, "threads", 1),
                log
            });
            return report(json, result, `\n${formatEngineOverhead(result)}`);
        }
    }
}
