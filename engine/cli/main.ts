// layer-dial: the speed-dial engine from a terminal.
//   layer-dial summarize <file|->   layer-dial generate --prompt TEXT   layer-dial plan --layers L --ratio R
//   layer-dial info --model M   layer-dial calibrate --model M   layer-dial gpu install cuda | list | check
// Bundled into dist/cli/layer-dial.mjs (esbuild.mjs). The benchmarks are development tools with their own
// entry (bench/main.ts, `npm run bench -- …`); nothing here imports bench/.
import fs from "node:fs";
import path from "node:path";
import {parseArgs} from "node:util";
import {DialEngine, planInfo} from "../dial-engine.js";
import {describeCompute} from "../../common/engine-protocol.js";
import type {DialGenerateResult} from "../dial-engine.js";
import {summarizeRequest} from "../generation/tasks.js";
import {resolveModelPath} from "../model-source.js";
import {gpuChoices, isGpuChoice, loadPatchedLlama} from "../native/loader.js";
import {runGpuCommand} from "./gpu-command.js";
import {runStatsLine} from "./run-stats-line.js";
import {losslessInfoLine, losslessRunLine} from "./lossless-lines.js";
import {emitJson, extractJsonOption, type JsonOption} from "./json-option.js";
import {CliUsageError} from "./usage-error.js";
import {buildSchedule, parseSkipLayerList, planForSpeed, reachableDepths, uniformCostModel, type StrategyName} from "../plan/index.js";
import type {SpeedSetting} from "../../common/engine-protocol.js";
import {calibrateLayerOrder, formatCalibrationProgress} from "../calibration/index.js";
import type {LosslessInfo} from "../../common/engine-protocol.js";

export {CliUsageError};

const usage = `Usage: layer-dial <command> [options]

Commands:
  summarize <file|->          summarize a file (or standard input)
  generate --prompt TEXT      generate a continuation or a chat answer
  plan --layers L --ratio R   which layers a target speedup keeps (no model needed)
  info --model M              what Layer Dial knows about a model
  calibrate --model M [--text FILE]   find and cache this model's best layer order (greedy KL)
  gpu install cuda [--registry URL] [--dir DIR] [--fallback]   fetch node-llama-cpp's prebuilt CUDA backend (about 145 MB)
  gpu list [--dir DIR]        installed GPU backends (layer-dial gpu --help)
  gpu check [--dir DIR]       does each installed CUDA build run here? (each in a process of its own)

Options:
  --model <path|hf:URI>       model file, or a Hugging Face URI to download (with progress, resumable)
  --speed <ratio|level>       target speedup (e.g. 1.5) or level: Quality, Lossless, Balanced, Fast, Faster, Max
                              (Lossless: the full model's exact output; skipped layers only draft tokens)
  --skip-layers <i,j,...>     an explicit set of layers to skip, instead of --speed
  --strategy <name>           layer order: even (default), paper, top, bottom, middle
  --prefill full|skip         run the prompt through every layer (default) or through the dial
  --gpu auto|vulkan|cuda|metal|cpu   compute backend (default auto: CUDA when installed, else Vulkan, else the CPU;
                              a backend named explicitly that cannot run is an error)
  --gpu-layers auto|N         layers offloaded to the GPU (default auto: as many as VRAM holds)
  --max-tokens N  --temperature T  --seed S  --context-size N  --threads N
  --json [FILE]               print one JSON object instead of the text; --json out.json (a name ending in
                              .json) or --json=FILE writes it to that file and keeps the text

Benchmarks (speed, quality, completion) are development tools in the repository: npm run bench -- --help
`;

const options = {
    model: {type: "string"},
    speed: {type: "string"},
    "skip-layers": {type: "string"},
    strategy: {type: "string"},
    prefill: {type: "string"},
    gpu: {type: "string"},
    "gpu-layers": {type: "string"},
    "max-tokens": {type: "string"},
    temperature: {type: "string"},
    seed: {type: "string"},
    "context-size": {type: "string"},
    threads: {type: "string"},
    prompt: {type: "string"},
    text: {type: "string"},
    layers: {type: "string"},
    ratio: {type: "string"},
    help: {type: "boolean", short: "h"}
} as const;

type Values = ReturnType<typeof parseArgs<{options: typeof options; allowPositionals: true}>>["values"];

function numberOption(values: Values, name: keyof Values, check: (value: number) => boolean, what: string): number | undefined {
    const raw = values[name];
    if (raw == null) return undefined;
    const value = Number(raw);
    if (!check(value)) throw new CliUsageError(`--${name} must be ${what} (got "${String(raw)}")`);
    return value;
}

function speedSetting(values: Values, layerCount: number): SpeedSetting | undefined {
    if (values["skip-layers"] != null && values.speed != null) throw new CliUsageError("Give either --speed or --skip-layers, not both");
    if (values["skip-layers"] != null) return {skipLayers: parseSkipLayerList(values["skip-layers"], layerCount)};
    if (values.speed == null) return undefined;
    const ratio = Number(values.speed.replace(/x$/i, ""));
    return {speed: Number.isNaN(ratio) ? (values.speed as SpeedSetting extends {speed: infer S} ? S : never) : ratio};
}

function gpuChoice(values: Values) {
    const gpu = values.gpu ?? "auto";
    if (!isGpuChoice(gpu)) throw new CliUsageError(`--gpu must be one of ${gpuChoices.join(", ")} (got "${gpu}")`);
    return gpu;
}

async function openEngine(values: Values): Promise<{engine: DialEngine; build: {binsDirectory: string; buildType: string}}> {
    if (values.model == null) throw new CliUsageError("--model is required (a .gguf path or an hf: URI)");
    const gpuLayersOption = values["gpu-layers"] ?? "auto";
    const gpuLayers = gpuLayersOption === "auto" ? ("auto" as const) : Number(gpuLayersOption);
    if (gpuLayers !== "auto" && !(Number.isInteger(gpuLayers) && gpuLayers >= 0))
        throw new CliUsageError(`--gpu-layers must be auto or an integer ≥ 0 (got "${gpuLayersOption}")`);
    if (values.prefill != null && values.prefill !== "full" && values.prefill !== "skip")
        throw new CliUsageError(`--prefill must be full or skip (got "${values.prefill}")`);

    const modelPath = await resolveModelPath(values.model, {showCliProgress: process.stderr.isTTY});
    const {llama, buildInfo, binsDirectory, backend} = await loadPatchedLlama({
        gpu: gpuChoice(values),
        fallbackToCpu: values.gpu == null,
        onProgress: (message) => process.stderr.write(`${message}\n`)
    });
    if (backend.fallbackReason != null) process.stderr.write(`${backend.fallbackReason}\n`);
    const engine = await DialEngine.load({
        llama,
        modelPath,
        backend,
        gpuLayers,
        contextSize: numberOption(values, "context-size", (v) => Number.isInteger(v) && v > 0, "a positive integer"),
        threads: numberOption(values, "threads", (v) => Number.isInteger(v) && v > 0, "a positive integer"),
        prefill: values.prefill as "full" | "skip" | undefined,
        strategy: values.strategy as StrategyName | undefined,
        sequences: 1,
        buildId: buildInfo?.id ?? binsDirectory,
        onProgress: (message) => process.stderr.write(`${message}\n`)
    });
    const setting = speedSetting(values, engine.profile.shape.layerCount);
    if (setting != null) {
        const plan = engine.setSpeed(setting);
        if (plan.message != null) process.stderr.write(`${plan.message}\n`);
    }
    return {engine, build: {binsDirectory, buildType: llama.buildType}};
}

function generationOptions(values: Values) {
    return {
        maxTokens: numberOption(values, "max-tokens", (v) => Number.isInteger(v) && v > 0, "a positive integer"),
        temperature: numberOption(values, "temperature", (v) => v >= 0, "a number ≥ 0"),
        seed: numberOption(values, "seed", Number.isInteger, "an integer")
    };
}

/** `drafter`: the Lossless drafter's choice after the run, when the run drafted (the stats say what the run did) */
function printResult(result: DialGenerateResult, json: JsonOption, drafter: LosslessInfo | undefined) {
    const stats = result.stats;
    const speculation = stats.speculation;
    if (!json.stdout) {
        process.stdout.write("\n");
        process.stderr.write(`\n${runStatsLine(stats)}\n`);
        if (speculation != null) process.stderr.write(`${losslessRunLine(speculation, drafter, stats.layerCount)}\n`);
    }
    emitJson(json, {
        text: result.text,
        tokens: result.tokens.length,
        keptLayers: result.keptLayers,
        skippedLayers: result.skippedLayers,
        stopReason: result.stopReason,
        stats,
        ...(speculation != null && drafter !== undefined ? {drafter} : {})
    });
}

async function generateWith(values: Values, json: JsonOption, request: Parameters<DialEngine["generate"]>[0]) {
    const {engine} = await openEngine(values);
    const controller = new AbortController();
    process.once("SIGINT", () => controller.abort());
    try {
        const result = await engine.generate({
            ...request,
            ...generationOptions(values),
            signal: controller.signal,
            // with --json alone, stdout holds the JSON object only
            onText: json.stdout ? undefined : (piece) => process.stdout.write(piece)
        });
        printResult(result, json, result.stats.speculation != null ? engine.losslessInfo : undefined);
    } finally {
        await engine.dispose();
    }
}

async function summarize(values: Values, json: JsonOption, file: string | undefined) {
    if (file == null)
        throw new CliUsageError(
            "summarize needs a file, or - for standard input" +
                (json.file != null ? ` (${json.file} is --json's output file; put the input before --json)` : "")
        );
    const text = file === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(path.resolve(file), "utf8");
    if (text.trim().length === 0) throw new CliUsageError(`${file === "-" ? "Standard input" : file} is empty; there is nothing to summarize`);
    await generateWith(values, json, summarizeRequest(text));
}

function plan(values: Values, json: JsonOption) {
    const layerCount = numberOption(values, "layers", (v) => Number.isInteger(v) && v >= 2, "an integer ≥ 2");
    if (layerCount == null || values.ratio == null) throw new CliUsageError("plan needs --layers L and --ratio R");
    const strategy = (values.strategy ?? "even") as StrategyName;
    // without a model: a typical split of decode time, 85% in the layers and 15% fixed
    const costModel = uniformCostModel(layerCount, 0.15);
    const input = {model: {layerCount}, costModel, strategy};
    const ratio = Number(values.ratio);
    const result = planInfo(planForSpeed(input, Number.isNaN(ratio) ? values.ratio : ratio));
    emitJson(json, {...result, reachableDepths: reachableDepths(buildSchedule({layerCount}, {strategy}))});
    if (json.stdout) return;
    console.log(`${result.depth}/${layerCount} layers kept (${strategy}): ${result.keptLayers.join(",")}`);
    console.log(`skipped: ${result.skippedLayers.join(",") || "none"}`);
    console.log(
        `predicted speedup ${result.predictedSpeedup.toFixed(2)}x for a ${result.targetSpeedup.toFixed(2)}x target ` +
            `(assuming 15% of decode time outside the layers; info --model gives a model's own numbers)`
    );
    if (result.message != null) console.log(result.message);
}

async function info(values: Values, json: JsonOption) {
    const {engine, build} = await openEngine(values);
    try {
        const summary = engine.summary(build);
        // the drafter at any level: what Lossless would do now, from what this load or an earlier one measured
        const drafter = summary.layerSkipSupported ? engine.losslessInfo : undefined;
        emitJson(json, {...summary, ...(drafter !== undefined ? {drafter} : {})});
        if (json.stdout) return;
        console.log(`${summary.name}: ${summary.architecture}, ${summary.layerCount} layers, context ${summary.contextSize}`);
        console.log(`compute: ${describeCompute(summary.compute)}${summary.compute.fallbackReason != null ? ` (${summary.compute.fallbackReason})` : ""}`);
        if (summary.speedCalibrationError != null) console.log(`speed calibration failed: ${summary.speedCalibrationError}`);
        console.log(
            `layer skipping: ${summary.layerSkipSupported ? "supported" : "not supported (1x only)"}; cost model: ${summary.costModelSource}` +
                (summary.fullSpeedTokensPerSecond > 0 ? `, ${summary.fullSpeedTokensPerSecond.toFixed(1)} tok/s at 1x` : "")
        );
        console.log("depth  predicted  kept layers");
        for (const stop of summary.stops)
            console.log(`${String(stop.depth).padStart(5)}  ${stop.predictedSpeedup.toFixed(2).padStart(8)}x  ${stop.keptLayers.join(",")}`);
        if (drafter !== undefined) console.log(losslessInfoLine(drafter, summary.layerCount));
    } finally {
        await engine.dispose();
    }
}

export async function main(argv: string[]): Promise<void> {
    // its own options (--registry, --dir): parsed by the gpu command itself
    if (argv[0] === "gpu") {
        process.exitCode = await runGpuCommand(argv.slice(1), {stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text)});
        return;
    }
    const {args, json} = extractJsonOption(argv);
    // before the strict parse, which would stop at a benchmark's own options (--runs, --tokens, --files)
    if (parseArgs({args, options, allowPositionals: true, strict: false}).positionals[0] === "bench")
        throw new CliUsageError(
            "the benchmarks moved out of layer-dial: in the repository, run npm run bench -- speed|quality|completion … (or layer-dial-bench)"
        );
    const {values, positionals} = parseArgs({args, options, allowPositionals: true});
    const [command, sub] = positionals;
    if (values.help || command == null) return void process.stdout.write(usage);
    // calibrate loads llama.cpp with the loader's default backend, $LAYER_DIAL_GPU: the choice goes there
    if (values.gpu != null) process.env.LAYER_DIAL_GPU = gpuChoice(values);

    switch (command) {
        case "summarize":
            return await summarize(values, json, sub);
        case "generate":
            if (values.prompt == null) throw new CliUsageError("generate needs --prompt TEXT");
            return await generateWith(values, json, {prompt: values.prompt});
        case "plan":
            return plan(values, json);
        case "info":
            return await info(values, json);
        case "calibrate": {
            if (values.model == null) throw new CliUsageError("calibrate needs --model");
            const controller = new AbortController();
            process.once("SIGINT", () => controller.abort());
            const result = await calibrateLayerOrder({
                modelPath: await resolveModelPath(values.model, {showCliProgress: process.stderr.isTTY}),
                text: values.text != null ? fs.readFileSync(values.text, "utf8") : undefined,
                textName: values.text != null ? path.basename(values.text) : undefined,
                signal: controller.signal,
                onProgress: (progress) => process.stderr.write(`\r${formatCalibrationProgress(progress)}   `),
                log: (line) => process.stderr.write(`${line}\n`)
            });
            process.stderr.write("\n");
            emitJson(json, result);
            if (json.stdout) return;
            console.log(`calibrated removal order (${result.method}${result.cached ? ", from the cache" : ""}): ${result.order.join(" ")}`);
            console.log(`cached in ${result.cacheFile}; the engine uses it from now on for this model file`);
            return;
        }
        default:
            throw new CliUsageError(`Unknown command "${command}".\n\n${usage}`);
    }
}
