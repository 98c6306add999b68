// The GPU check's own process (gpu-probe.ts starts it with a GpuProbeRequest as its one argument): loads
// the patched build with that one backend folder, puts every layer of the probe model on its device and
// decodes a few tokens. It prints one LAYER-DIAL-GPU-PROBE line, unless the backend aborts it first, which
// is what the check is for.
import type {Token} from "node-llama-cpp";
import {GPU_PROBE_RESULT_PREFIX, type GpuProbeChildReport, type GpuProbeRequest} from "./gpu-probe.js";
import {GpuBackendUnavailableError, loadPatchedLlama} from "./loader.js";

async function check(request: GpuProbeRequest): Promise<GpuProbeChildReport> {
    let loaded;
    try {
        loaded = await loadPatchedLlama({
            nativeDirectory: request.nativeDirectory,
            gpu: request.backend,
            onlyBackendDirectory: request.backendDirectory,
            // an installed CUDA backend is found where the asking process found it
            ...(request.installedBackendsDirectory != null ? {installedBackendsDirectory: request.installedBackendsDirectory} : {}),
            fallbackToCpu: false,
            probeGpu: false
        });
    } catch (error) {
        if (error instanceof GpuBackendUnavailableError) return {ok: false, noDevice: true, reason: error.message};
        throw error;
    }
    const {llama, backend} = loaded;
    const model = await llama.loadModel({modelPath: request.modelPath, gpuLayers: "max"});
    const context = await model.createContext({contextSize: 64, sequences: 1});
    try {
        // the probe model's vocabulary has 512 tokens; two generated tokens run the decode graph twice
        let generated = 0;
        for await (const token of context.getSequence().evaluate([1, 2, 3, 4] as Token[])) {
            void token;
            if (++generated >= 2) break;
        }
    } finally {
        await context.dispose();
        await model.dispose();
    }
    return {ok: true, deviceNames: backend.deviceNames};
}

const request = JSON.parse(process.argv[2] ?? "{}") as GpuProbeRequest;
let report: GpuProbeChildReport;
try {
    report = await check(request);
} catch (error) {
    report = {ok: false, noDevice: false, reason: error instanceof Error ? `${error.name}: ${error.message}` : String(error)};
}
process.stdout.write(`${GPU_PROBE_RESULT_PREFIX}${JSON.stringify(report)}\n`);
process.exit(0);
