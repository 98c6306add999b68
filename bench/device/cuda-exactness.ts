// The exactness check (test/native/exactness-check.ts) on CUDA, for the device machine: skipping layers
// with the patched build must give the same logits as the GGUF with those layers removed, with every
// layer offloaded for every fixture architecture, and once with a partial offload whose skipped layers
// fall on both sides of the CPU/GPU split. A plain script, not a node:test file: one line per check,
// a summary, and a non-zero exit status when any check fails or CUDA does not load.
//   node --import tsx bench/device/cuda-exactness.ts [--backends DIR] [--json FILE] [--only llama,qwen2] [--gpu vulkan]
// The CUDA backend comes from DIR (default $LAYER_DIAL_BACKENDS_DIR, else /tmp/backends), installed there
// by `layer-dial gpu install cuda --dir DIR`; the patched build from $LAYER_DIAL_NATIVE_DIR or the cache.
// Each check runs in a process of its own (this script with --check NAME), so a crash in one
// architecture's kernels is that check's FAIL line, not the end of the others.
// --gpu vulkan runs the same checks on the Vulkan backend: a dry run of this script where there is no
// NVIDIA GPU (over lavapipe, as test/native/vulkan-exactness.test.ts does).
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {parseArgs} from "node:util";
import {SYNTHETIC_ARCHITECTURES, type SyntheticArchitecture} from "../../test/fixtures/gguf/synthetic.js";
import {loadPatchedLlama} from "../../engine/native/loader.js";
import {ensureFixture, testFixtureFor} from "../../test/fixtures/fixture-models.js";
import {checkSkipEqualsPruned} from "../../test/fixtures/exactness-check.js";
import {useLavapipe} from "../../test/fixtures/lavapipe.js";

type CheckResult = {
    name: string;
    gpuLayers?: number;
    ok: boolean;
    seconds: number;
    offloadedLayers?: number;
    skipped?: number[];
    promptDelta?: number;
    stepDelta?: number;
    error?: string;
};

type ChildReport = CheckResult & {backend?: {directory?: string; devices: string[]}};

const resultPrefix = "EXACTNESS-RESULT ";
/** a child's exit status when the backend did not load: no later check can do better */
const backendFailedStatus = 3;
const partialCheck = "llama-partial";
const checkTimeoutMs = 120_000;

const {values} = parseArgs({
    options: {
        backends: {type: "string"},
        json: {type: "string"},
        only: {type: "string"},
        gpu: {type: "string", default: "cuda"},
        check: {type: "string"}
    },
    strict: true
});
if (values.gpu !== "cuda" && values.gpu !== "vulkan") {
    console.error(`cuda-exactness: --gpu must be cuda or vulkan (got "${values.gpu}")`);
    process.exit(2);
}
const gpu: "cuda" | "vulkan" = values.gpu;
if (gpu === "vulkan") {
    // as in test/native/vulkan-exactness.test.ts: lavapipe needs three settings (test/fixtures/lavapipe.ts)
    useLavapipe();
}
const backendsDirectory = path.resolve(values.backends ?? process.env.LAYER_DIAL_BACKENDS_DIR ?? "/tmp/backends");
const checks = [
    ...(values.only != null
        ? values.only
              .split(",")
              .map((name) => name.trim())
              .filter((name) => name.length > 0)
        : SYNTHETIC_ARCHITECTURES),
    partialCheck
];
const unknown = checks.filter((name) => name !== partialCheck && !(SYNTHETIC_ARCHITECTURES as readonly string[]).includes(name));
if (unknown.length > 0) {
    console.error(`cuda-exactness: unknown architecture(s) ${unknown.join(", ")}; known: ${SYNTHETIC_ARCHITECTURES.join(", ")}`);
    process.exit(2);
}

if (values.check != null) await runOneCheck(values.check);
else await runAll();

/** in a child: one check, reported as one JSON line */
async function runOneCheck(name: string): Promise<never> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const report = (result: ChildReport, status: number): never => {
        console.log(`${resultPrefix}${JSON.stringify(result)}`);
        process.exit(status);
    };
    let loaded: Awaited<ReturnType<typeof loadPatchedLlama>>;
    try {
        loaded = await loadPatchedLlama({gpu, fallbackToCpu: false, installedBackendsDirectory: backendsDirectory});
    } catch (error) {
        return report(
            {name, ok: false, seconds: seconds(), error: `${gpu} did not load: ${(error as Error).name}: ${(error as Error).message}`},
            backendFailedStatus
        );
    }
    const {llama, backend} = loaded;
    if (backend.gpu !== gpu || backend.deviceNames.length === 0)
        // fallbackToCpu: false throws instead; a guard against a loader that changed underneath
        return report(
            {name, ok: false, seconds: seconds(), error: `the loader chose ${backend.gpu === false ? "the CPU" : backend.gpu}, not ${gpu}`},
            backendFailedStatus
        );
    const backendInfo = {directory: backend.backendDirectory, devices: backend.deviceNames};

    const partial = name === partialCheck;
    const fixture = testFixtureFor((partial ? "llama" : name) as SyntheticArchitecture);
    // every layer and the output layer; or the lower half of the layers on the CPU, the rest on the GPU
    const gpuLayers = partial ? Math.floor(fixture.layerCount / 2) : fixture.layerCount + 1;
    try {
        await ensureFixture(fixture);
        const result = await checkSkipEqualsPruned(llama, fixture, {gpuLayers, label: partial ? `${gpu}, partial` : gpu});
        const problems: string[] = [];
        if (result.offloadedLayers !== gpuLayers) problems.push(`${result.offloadedLayers} layers offloaded, not ${gpuLayers}`);
        const onGpu = (layer: number) => layer >= fixture.layerCount - gpuLayers;
        if (partial && !(result.skipped.some(onGpu) && result.skipped.some((layer) => !onGpu(layer))))
            problems.push(`skip set [${result.skipped}] does not straddle the split at layer ${fixture.layerCount - gpuLayers}`);
        await llama.dispose();
        return report(
            {
                name,
                gpuLayers,
                ok: problems.length === 0,
                seconds: seconds(),
                offloadedLayers: result.offloadedLayers,
                skipped: result.skipped,
                promptDelta: result.promptDelta,
                stepDelta: result.stepDelta,
                error: problems.length > 0 ? problems.join("; ") : undefined,
                backend: backendInfo
            },
            0
        );
    } catch (error) {
        return report(
            {name, gpuLayers, ok: false, seconds: seconds(), error: (error as Error).message?.split("\n")[0] ?? String(error), backend: backendInfo},
            0
        );
    }
}

/** in the parent: each check in its own process, one line each, then the summary */
async function runAll(): Promise<void> {
    const started = performance.now();
    const script = fileURLToPath(import.meta.url);
    const results: CheckResult[] = [];
    let backend: ChildReport["backend"];
    for (const name of checks) {
        const child = spawnSync(process.execPath, [...process.execArgv, script, "--check", name, "--gpu", gpu, "--backends", backendsDirectory], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "inherit"],
            timeout: checkTimeoutMs,
            maxBuffer: 16 * 1024 * 1024
        });
        const lines = (child.stdout ?? "").split("\n");
        const resultLine = lines.find((line) => line.startsWith(resultPrefix));
        const report: ChildReport =
            resultLine != null
                ? (JSON.parse(resultLine.slice(resultPrefix.length)) as ChildReport)
                : {
                      name,
                      ok: false,
                      seconds: 0,
                      error:
                          child.error != null
                              ? child.error.message
                              : child.signal != null
                                ? `the check's process died of ${child.signal}`
                                : `the check's process exited with status ${child.status} and no result`
                  };
        if (backend == null && report.backend != null) {
            backend = report.backend;
            console.log(`cuda-exactness: ${gpu} backend ${backend.directory ?? "(built in)"} on ${backend.devices.join(", ")}`);
        }
        // the check's own log line (exactness-check prints one), passed on
        for (const line of lines.filter((line) => line.length > 0 && !line.startsWith(resultPrefix))) console.log(`  ${line}`);
        const {backend: _backend, ...result} = report;
        results.push(result);
        console.log(
            result.ok
                ? `PASS ${name}: ${result.offloadedLayers} layers offloaded, skipped [${result.skipped}], ` +
                      `max |Δ| prompt ${result.promptDelta!.toExponential(2)}, steps ${result.stepDelta!.toExponential(2)} (${result.seconds.toFixed(1)} s)`
                : `FAIL ${name}: ${result.error}`
        );
        if (child.status === backendFailedStatus) {
            console.log(`cuda-exactness: ${gpu} does not load here; the remaining checks are not run`);
            break;
        }
    }
    const failed = results.filter((result) => !result.ok);
    const ranAll = results.length === checks.length;
    const summary = {
        gpu,
        backend,
        passed: results.length - failed.length,
        failed: failed.length + (checks.length - results.length),
        seconds: (performance.now() - started) / 1000,
        results
    };
    if (values.json != null) {
        fs.mkdirSync(path.dirname(path.resolve(values.json)), {recursive: true});
        fs.writeFileSync(values.json, `${JSON.stringify(summary, null, 2)}\n`);
    }
    console.log(
        `cuda-exactness: ${summary.passed} of ${checks.length} passed` +
            (failed.length > 0 ? `; failed: ${failed.map((result) => result.name).join(", ")}` : "") +
            (ranAll ? "" : `; not run: ${checks.length - results.length}`) +
            ` (${summary.seconds.toFixed(1)} s)`
    );
    process.exit(summary.failed > 0 ? 1 : 0);
}
