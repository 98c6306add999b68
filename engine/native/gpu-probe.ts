// Checks, in a process of its own, that a GPU backend can run its kernels here before the engine loads it.
// A backend that has a device can still abort at its first kernel, and take the process with it. Measured
// on an NVIDIA H200 with driver 580.159 (CUDA 13.0): node-llama-cpp 3.22.1's CUDA package, built with CUDA
// 13.1, carries machine code for sm_86, sm_89, sm_120 and sm_121 only, so on sm_90 the driver must compile
// its PTX, refuses ("the provided PTX was compiled with an unsupported toolchain"), and ggml aborts. So the
// loader asks this check first (CUDA only: Vulkan drivers compile their own shaders) and, when it fails,
// runs on the next backend and says why. The answer is kept per backend install, patched build and NVIDIA
// driver, so a driver update or a new Enable CUDA checks again.
import {spawn} from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {layerDialCacheDir, writeFileAtomically} from "../../common/cache-dir.js";
import {projectRoot} from "./build-record.js";

/** what the build folder holds for the check: a two-layer llama written by npm run build:native */
export const GPU_PROBE_MODEL_FILE = "gpu-probe.gguf";
/** the child's one line of result on stdout */
export const GPU_PROBE_RESULT_PREFIX = "LAYER-DIAL-GPU-PROBE ";

export type GpuProbeRequest = {
    backend: "cuda" | "vulkan";
    /** the backend's folder (an installed CUDA backend, or a build's backends/vulkan) */
    backendDirectory: string;
    /** where installed backends are looked for (the loader's installedBackendsDirectory); CUDA only */
    installedBackendsDirectory?: string;
    /** the patched build folder (layer-dial-build.json, bins/) */
    nativeDirectory: string;
    /** the model the check decodes, every layer on the device */
    modelPath: string;
};

/** the child's report (gpu-probe-child.ts) */
export type GpuProbeChildReport = {ok: true; deviceNames: string[]} | {ok: false; noDevice: boolean; reason: string};

export type GpuProbeResult = GpuProbeChildReport & {
    /** seconds the check took (0 when it was kept from an earlier one) */
    seconds: number;
    /** true when this answer was kept from an earlier check */
    cached: boolean;
};

export type GpuProbeOptions = {
    /** Defaults to ~/.cache/layer-dial/gpu-probes. */
    cacheDirectory?: string;
    /** Defaults to 120 s: a first CUDA load compiles kernels and can take a while. */
    timeoutMs?: number;
    /** Called when a check starts (not for a kept answer): a few seconds the user may want to hear about. */
    onCheckStart?: () => void;
};

const DEFAULT_TIMEOUT_MS = 120_000;

/** where the answer for a key is kept; the file holds the key too, so a changed install is checked again */
function cacheFileOf(key: string, cacheDirectory = layerDialCacheDir("gpu-probes")): string {
    return path.join(cacheDirectory, `${crypto.createHash("sha256").update(key).digest("hex").slice(0, 24)}.json`);
}

function keep(key: string, report: GpuProbeChildReport, cacheDirectory: string | undefined): void {
    writeFileAtomically(cacheFileOf(key, cacheDirectory), JSON.stringify({key, report}));
}

/** keeps a check's answer (probeGpuBackend does; a test can seed one) */
export function keepGpuProbeReport(request: GpuProbeRequest, report: GpuProbeChildReport, cacheDirectory?: string): void {
    keep(probeKey(request), report, cacheDirectory);
}

export async function probeGpuBackend(request: GpuProbeRequest, options: GpuProbeOptions = {}): Promise<GpuProbeResult> {
    const key = probeKey(request);
    const kept = readKept(cacheFileOf(key, options.cacheDirectory), key);
    if (kept !== undefined) return {...kept, seconds: 0, cached: true};

    options.onCheckStart?.();
    const started = performance.now();
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const child = await runChild([...probeChildCommand(), JSON.stringify(request)], timeoutMs);
    const seconds = (performance.now() - started) / 1000;
    const reportLine = child.stdout.split("\n").find((line) => line.startsWith(GPU_PROBE_RESULT_PREFIX));
    if (reportLine !== undefined) {
        const report = JSON.parse(reportLine.slice(GPU_PROBE_RESULT_PREFIX.length)) as GpuProbeChildReport;
        keep(key, report, options.cacheDirectory);
        return {...report, seconds, cached: false};
    }
    const reason = child.timedOut
        ? `its check did not finish in ${Math.round(timeoutMs / 1000)} s`
        : describeProbeFailure(child.stderr, child.signal, child.status);
    const report: GpuProbeChildReport = {ok: false, noDevice: false, reason};
    // a check that ran out of time may only have met a busy machine: ask again next time
    if (!child.timedOut) keep(key, report, options.cacheDirectory);
    return {...report, seconds, cached: false};
}

type ChildOutcome = {stdout: string; stderr: string; status: number | null; signal: NodeJS.Signals | null; timedOut: boolean};

/** the check's process, without blocking this one's event loop (the engine host keeps answering meanwhile);
 *  killed when it outlives `timeoutMs`. Keeps the last 64 KB of stderr: a crash prints its reason last. */
function runChild(args: string[], timeoutMs: number): Promise<ChildOutcome> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, args, {cwd: projectRoot, env: process.env, stdio: ["ignore", "pipe", "pipe"]});
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
        child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr = (stderr + text).slice(-65_536)));
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, timeoutMs);
        child.on("error", (error) => {
            clearTimeout(timer);
            reject(error);
        });
        child.on("close", (status, signal) => {
            clearTimeout(timer);
            resolve({stdout, stderr, status, signal, timedOut});
        });
    });
}

/** one line from a check that died: how it ended and what the backend printed last about it */
export function describeProbeFailure(stderr: string, signal: NodeJS.Signals | null, status: number | null): string {
    const lines = stderr.split("\n").map((line) => line.trim());
    const ending = signal != null ? `its check died of ${signal}` : `its check exited with status ${status ?? "unknown"}`;
    // ggml's CUDA backend prints "CUDA error: <what>" before it aborts; other backends, their own error line
    const detail =
        lines.find((line) => line.startsWith("CUDA error:")) ??
        lines.find((line) => /error/i.test(line) && !line.startsWith("at ")) ??
        [...lines].reverse().find((line) => line !== "");
    return detail !== undefined ? `${ending} (${detail})` : ending;
}

/** the child's node arguments: in a checkout, the TypeScript source under the loader this process runs with
 *  (its --import/--require flags); else the bundle beside this one */
function probeChildCommand(): string[] {
    const here = fileURLToPath(import.meta.url);
    if (here.endsWith(".ts")) return [...moduleLoaderArguments(process.execArgv), path.join(path.dirname(here), "gpu-probe-child.ts")];
    // dist/engine/host.mjs has it beside; dist/cli/layer-dial.mjs one folder over
    for (const candidate of [path.join(path.dirname(here), "gpu-probe.mjs"), path.join(path.dirname(here), "..", "engine", "gpu-probe.mjs")])
        if (fs.existsSync(candidate)) return [candidate];
    throw new Error(`The GPU check's script (gpu-probe.mjs) is not beside ${here}: reinstall the extension, or run npm run build.`);
}

/** the flags that load code before the entry (a TypeScript loader), and nothing else of this process's own */
function moduleLoaderArguments(execArgv: readonly string[]): string[] {
    const kept: string[] = [];
    for (let index = 0; index < execArgv.length; index++) {
        const flag = execArgv[index];
        if (["--import", "--require", "-r", "--loader", "--experimental-loader"].includes(flag) && index + 1 < execArgv.length)
            kept.push(flag, execArgv[++index]);
        else if (/^--(import|require|loader|experimental-loader)=/.test(flag)) kept.push(flag);
    }
    return kept;
}

/** what the answer depends on: the backend's files, the patched build, the model, and the NVIDIA driver */
function probeKey(request: GpuProbeRequest): string {
    const stamp = (file: string) => {
        try {
            const stat = fs.statSync(file);
            return `${path.basename(file)}:${stat.size}:${Math.round(stat.mtimeMs)}`;
        } catch {
            return `${path.basename(file)}:missing`;
        }
    };
    const backendFiles = fs.existsSync(request.backendDirectory)
        ? fs
              .readdirSync(request.backendDirectory)
              .sort()
              .map((name) => stamp(path.join(request.backendDirectory, name)))
        : ["missing"];
    return JSON.stringify({
        request,
        backendFiles,
        addon: stamp(path.join(request.nativeDirectory, "bins", "llama-addon.node")),
        model: stamp(request.modelPath),
        driver: nvidiaDriverVersion()
    });
}

/** the loaded NVIDIA kernel module's version line (Linux), or "" where there is none */
function nvidiaDriverVersion(): string {
    try {
        return fs.readFileSync("/proc/driver/nvidia/version", "utf8").split("\n")[0].trim();
    } catch {
        return "";
    }
}

function readKept(cacheFile: string, key: string): GpuProbeChildReport | undefined {
    try {
        const kept = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as {key?: string; report?: GpuProbeChildReport};
        return kept.key === key ? kept.report : undefined;
    } catch {
        return undefined;
    }
}
