// layer-dial gpu: install node-llama-cpp's prebuilt CUDA backend when asked, list what is installed, and check
// that it runs here.
//   layer-dial gpu install cuda [--registry URL] [--dir DIR] [--fallback] [--json [FILE]]
//   layer-dial gpu list [--dir DIR] [--json [FILE]]
//   layer-dial gpu check [--dir DIR] [--json [FILE]]
import path from "node:path";
import {parseArgs} from "node:util";
import {layerDialCacheDir} from "../../common/cache-dir.js";
import {listInstalledBackends} from "../../common/gpu-backends/backend-manifest.js";
import {nodeLlamaCppVersion} from "../native/build-record.js";
import {checkInstalledCudaBackends} from "../native/loader.js";
import {emitJson, extractJsonOption, type JsonOption} from "./json-option.js";
import {CliUsageError} from "./usage-error.js";
import {DEFAULT_REGISTRY_URL, GpuBackendInstallError, installGpuBackend, type GpuBackendInstallProgress} from "../../common/gpu-backends/install-backend.js";

export type GpuCommandIo = {stdout: (text: string) => void; stderr: (text: string) => void};

const usage = `Usage: layer-dial gpu <command> [options]

Commands:
  install cuda   download node-llama-cpp's prebuilt CUDA backend (about 160 MB) from the npm registry
  list           the GPU backends installed
  check          run each installed CUDA build in a process of its own: does it find a device and decode
                 on it? (exit 0 when one does, 1 when none does or none is installed)

Options:
  --dir DIR        where backends are installed (default ${layerDialCacheDir("backends")})
  --registry URL   install: the npm registry or mirror (default ${DEFAULT_REGISTRY_URL})
  --fallback       install: also the CUDA 12 build, for older drivers (about 375 MB more); a CUDA
                   build already installed is kept while the registry serves the same file
  --json [FILE]    print one JSON object instead of the text; with FILE (ending in .json, or
                   --json=FILE), write it there and keep the text
`;

const options = {
    dir: {type: "string"},
    registry: {type: "string"},
    fallback: {type: "boolean"},
    help: {type: "boolean", short: "h"}
} as const;

class GpuUsageError extends Error {
    override name = "GpuUsageError";
}

/** `gpu …` with `argv` the words after `gpu`; resolves with the exit code */
export async function runGpuCommand(argv: string[], io: GpuCommandIo): Promise<number> {
    try {
        const {args, json} = extractJsonOption(argv);
        const {values, positionals} = parseArgs({args, options, allowPositionals: true, strict: true});
        const [command, backend, extra] = positionals;
        if (values.help) {
            io.stdout(usage);
            return 0;
        }
        if (command == null) throw new GpuUsageError("gpu needs a command: install cuda, list or check");
        const root = path.resolve(values.dir ?? layerDialCacheDir("backends"));
        if (command === "list") {
            if (backend != null || values.registry != null || values.fallback) throw new GpuUsageError("gpu list takes only --dir and --json");
            return list(root, json, io);
        }
        if (command === "check") {
            if (backend != null || values.registry != null || values.fallback) throw new GpuUsageError("gpu check takes only --dir and --json");
            return await check(root, json, io);
        }
        if (command !== "install") throw new GpuUsageError(`unknown gpu command "${command}" (install, list or check)`);
        if (backend !== "cuda" || extra != null)
            throw new GpuUsageError(
                backend == null || backend === "cuda"
                    ? "gpu install needs one backend: gpu install cuda"
                    : `Layer Dial can install the cuda backend only, not "${backend}" (Vulkan and the CPU come with the extension)`
            );
        return await install(root, values, json, io);
    } catch (error) {
        if (error instanceof GpuUsageError || error instanceof CliUsageError || isParseArgsError(error)) {
            io.stderr(`layer-dial: ${(error as Error).message}; see layer-dial gpu --help\n`);
            return 1;
        }
        if (error instanceof GpuBackendInstallError) {
            io.stderr(`layer-dial: ${error.message}\n`);
            return 1;
        }
        throw error;
    }
}

type Values = ReturnType<typeof parseArgs<{options: typeof options; allowPositionals: true}>>["values"];

function isParseArgsError(error: unknown): boolean {
    return typeof (error as NodeJS.ErrnoException)?.code === "string" && (error as NodeJS.ErrnoException).code!.startsWith("ERR_PARSE_ARGS_");
}

async function install(root: string, values: Values, json: JsonOption, io: GpuCommandIo): Promise<number> {
    const controller = new AbortController();
    const onInterrupt = () => controller.abort();
    process.once("SIGINT", onInterrupt);
    try {
        const result = await installGpuBackend({
            backend: "cuda",
            version: nodeLlamaCppVersion(),
            targetRoot: root,
            registryUrl: values.registry,
            includeFallback: values.fallback ?? false,
            // adding the CUDA 12 build to an install need not download the CUDA build again
            keepInstalledPackages: values.fallback ?? false,
            signal: controller.signal,
            onProgress: progressPrinter(io.stderr)
        });
        emitJson(json, result, io.stdout);
        if (!json.stdout)
            io.stdout(
                `CUDA backend installed in ${result.directory} (node-llama-cpp ${result.manifest.version}, ` +
                    `llama.cpp ${result.manifest.llamaCppRelease}, ${megabytes(result.downloadedBytes)} downloaded` +
                    `${result.keptPackages.length > 0 ? `; ${result.keptPackages.join(" and ")} kept from the install before` : ""})\n`
            );
        return 0;
    } finally {
        process.off("SIGINT", onInterrupt);
    }
}

function list(root: string, json: JsonOption, io: GpuCommandIo): number {
    const installs = listInstalledBackends(root);
    emitJson(json, installs, io.stdout);
    if (json.stdout) return 0;
    if (installs.length === 0) {
        io.stdout(`No GPU backend installed in ${root}. Install CUDA with: layer-dial gpu install cuda\n`);
        return 0;
    }
    for (const {directory, manifest} of installs) {
        const fallback = manifest.files.some((file) => file.startsWith("fallback/")) ? ", with the CUDA 12 fallback" : "";
        io.stdout(`${manifest.backend} ${manifest.version} (llama.cpp ${manifest.llamaCppRelease}${fallback}): ${directory}\n`);
    }
    return 0;
}

async function check(root: string, json: JsonOption, io: GpuCommandIo): Promise<number> {
    const installs = await checkInstalledCudaBackends({installedBackendsDirectory: root, onProgress: (message) => io.stderr(`${message}\n`)});
    emitJson(json, {installs}, io.stdout);
    const runs = installs.some((install) => install.ok);
    if (json.stdout) return runs ? 0 : 1;
    if (installs.length === 0) io.stdout(`No CUDA backend installed in ${root}. Install it with: layer-dial gpu install cuda\n`);
    for (const install of installs) {
        const when = install.seconds === 0 ? "kept from an earlier check" : `checked in ${install.seconds.toFixed(1)} s`;
        const label = install.build === "cuda-12" ? "cuda 12 build" : "cuda";
        io.stdout(`${label} (${install.directory}): ${install.ok ? `runs on ${install.deviceNames.join(", ")}` : `cannot run: ${install.reason}`} (${when})\n`);
    }
    return runs ? 0 : 1;
}

/** one line per phase, and during a download at most one per 5% (or per 10 MB without a known size) */
function progressPrinter(write: (text: string) => void): (progress: GpuBackendInstallProgress) => void {
    let key = "";
    let lastStep = -1;
    return (progress) => {
        const phaseKey = `${progress.phase} ${progress.package}`;
        const firstOfPhase = phaseKey !== key;
        if (firstOfPhase) {
            key = phaseKey;
            lastStep = -1;
        }
        if (progress.phase !== "download") {
            if (firstOfPhase) write(`${phaseTitles[progress.phase]} ${progress.package}\n`);
            return;
        }
        const total = progress.totalBytes;
        const step = total != null && total > 0 ? Math.floor((progress.receivedBytes * 20) / total) : Math.floor(progress.receivedBytes / 10e6);
        if (step <= lastStep) return;
        lastStep = step;
        write(
            total != null && total > 0
                ? `downloading ${progress.package}: ${step * 5}% (${megabytes(progress.receivedBytes)} of ${megabytes(total)})\n`
                : `downloading ${progress.package}: ${megabytes(progress.receivedBytes)}\n`
        );
    };
}

const phaseTitles: Record<Exclude<GpuBackendInstallProgress["phase"], "download">, string> = {
    metadata: "asking the npm registry for",
    verify: "checking the integrity of",
    unpack: "unpacking",
    keep: "keeping the installed files of"
};

function megabytes(bytes: number): string {
    return `${(bytes / 1e6).toFixed(1)} MB`;
}
