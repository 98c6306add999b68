// The GPU check (engine/native/gpu-probe.ts): a backend is tried in a process of its own before the engine
// loads it, because one with a device can still abort at its first kernel (node-llama-cpp 3.22.1's CUDA
// package did, on an H200 with driver 580). Here: Vulkan over lavapipe (a check that decodes), a model that
// does not load (a check that fails and says why), node-llama-cpp's real CUDA package on a machine without
// an NVIDIA driver (no device, and the engine runs on the next backend), and a CUDA backend whose check
// failed: it is never loaded, auto runs on Vulkan and says why, --gpu cuda is an error that says what to do.
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, before, describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import type {ModelSummary} from "../../common/engine-protocol.js";
import {buildDirectory, computeBuildKey, defaultBuildOptions, readBuildInfo} from "../../engine/native/build-record.js";
import {GPU_PROBE_MODEL_FILE, describeProbeFailure, keepGpuProbeReport, probeGpuBackend, type GpuProbeRequest} from "../../engine/native/gpu-probe.js";
import {EngineClient} from "../../extension/engine-client.js";
import {LAVAPIPE_ENVIRONMENT, useLavapipe} from "../fixtures/lavapipe.js";
import {cliBundle} from "./cli-bundle.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const stories = path.resolve(root, "../shared/models/stories260K.gguf");
const nativeDirectory = buildDirectory(computeBuildKey(defaultBuildOptions()));
const probeModel = path.join(nativeDirectory, GPU_PROBE_MODEL_FILE);

let scratch: string;
before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-gpu-probe-"));
    // the checks' children inherit this process's environment: lavapipe needs its settings
    useLavapipe();
});
after(() => fs.rmSync(scratch, {recursive: true, force: true}));

/** node-llama-cpp's own CUDA package, installed in a backends folder as `layer-dial gpu install cuda` lays it out */
function installRealCudaPackage(backends: string): string {
    // an optional dependency of node-llama-cpp that npm installs on linux-x64 (its exports hide package.json)
    const packageJson = path.join(root, "node_modules", "@node-llama-cpp", "linux-x64-cuda", "package.json");
    assert.ok(fs.existsSync(packageJson), `${packageJson} is missing: npm install brings it on linux-x64`);
    const bins = path.join(path.dirname(packageJson), "bins", "linux-x64-cuda");
    const directory = path.join(backends, "cuda-real-linux-x64");
    fs.mkdirSync(directory, {recursive: true});
    for (const name of fs.readdirSync(bins).filter((file) => file.startsWith("libggml-cuda")))
        fs.copyFileSync(path.join(bins, name), path.join(directory, name));
    const info = readBuildInfo(nativeDirectory)!;
    fs.writeFileSync(
        path.join(directory, "layer-dial-backend.json"),
        JSON.stringify({
            backend: "cuda",
            package: "@node-llama-cpp/linux-x64-cuda",
            version: (JSON.parse(fs.readFileSync(packageJson, "utf8")) as {version: string}).version,
            llamaCppRelease: info.llamaCppRelease,
            files: ["libggml-cuda.so"]
        })
    );
    return directory;
}

/** a check of the build's Vulkan backend (lavapipe here) decoding `modelPath` */
function vulkanRequest(modelPath: string): GpuProbeRequest {
    return {backend: "vulkan", backendDirectory: path.join(nativeDirectory, "backends", "vulkan"), nativeDirectory, modelPath};
}

/** node-llama-cpp's CUDA 12 build (its linux-x64-cuda-ext package) beside an install, as `gpu install cuda --fallback`
 *  lays it out; linked, not copied (375 MB) */
function addRealCuda12Build(directory: string): string {
    const library = path.join(root, "node_modules", "@node-llama-cpp", "linux-x64-cuda-ext", "bins", "linux-x64-cuda", "fallback", "libggml-cuda.so");
    assert.ok(fs.existsSync(library), `${library} is missing: npm install brings it on linux-x64`);
    fs.mkdirSync(path.join(directory, "fallback"));
    fs.symlinkSync(library, path.join(directory, "fallback", "libggml-cuda.so"));
    return path.join(directory, "fallback");
}

/** the answer the H200 gave for a CUDA install, kept where the engine looks first */
const H200_REPORT = {
    ok: false,
    noDevice: false,
    reason: "its check died of SIGABRT (CUDA error: the provided PTX was compiled with an unsupported toolchain.)"
} as const;
function keepH200Failure(directory: string, backends: string): void {
    keepGpuProbeReport(
        {backend: "cuda", backendDirectory: directory, installedBackendsDirectory: backends, nativeDirectory, modelPath: probeModel},
        H200_REPORT
    );
}

function gpuCheck(backends: string) {
    const run = spawnSync(process.execPath, [cliBundle(), "gpu", "check", "--dir", backends], {cwd: root, encoding: "utf8", timeout: 300_000});
    return {status: run.status, stdout: run.stdout, stderr: run.stderr};
}

function info(gpu: string, env: Record<string, string>) {
    const run = spawnSync(process.execPath, [cliBundle(), "info", "--model", stories, "--threads", "1", "--gpu", gpu, "--json"], {
        cwd: root,
        encoding: "utf8",
        timeout: 180_000,
        env: {...process.env, ...LAVAPIPE_ENVIRONMENT, ...env}
    });
    return {
        status: run.status,
        signal: run.signal,
        stderr: run.stderr,
        summary: run.status === 0 ? (JSON.parse(run.stdout.trim().split("\n").at(-1)!) as ModelSummary) : undefined
    };
}

describe("the GPU check, in a process of its own", () => {
    test("the build carries the check's model", () => {
        assert.ok(fs.existsSync(probeModel), `${probeModel} is missing: npm run build:native writes it`);
    });

    test("a backend that runs: the check decodes on its device, and the answer is kept until the install changes", async () => {
        const model = path.join(scratch, "probe-copy.gguf");
        fs.copyFileSync(probeModel, model);
        const request = vulkanRequest(model);
        const cacheDirectory = path.join(scratch, "kept");
        const first = await probeGpuBackend(request, {cacheDirectory});
        assert.equal(first.ok, true, JSON.stringify(first));
        assert.equal(first.cached, false);
        assert.match(first.ok ? first.deviceNames.join() : "", /llvmpipe/);
        const again = await probeGpuBackend(request, {cacheDirectory});
        assert.deepEqual({ok: again.ok, cached: again.cached, seconds: again.seconds}, {ok: true, cached: true, seconds: 0});
        // a changed file among what the answer depends on: checked again
        const later = new Date(Date.now() + 60_000);
        fs.utimesSync(model, later, later);
        assert.equal((await probeGpuBackend(request, {cacheDirectory})).cached, false);
    });

    test("a check whose decode cannot run says why, and names no device problem", async () => {
        const truncated = path.join(scratch, "truncated.gguf");
        fs.writeFileSync(truncated, fs.readFileSync(probeModel).subarray(0, 4096));
        const result = await probeGpuBackend(vulkanRequest(truncated), {cacheDirectory: path.join(scratch, "kept")});
        assert.equal(result.ok, false);
        assert.equal(!result.ok && result.noDevice, false);
        assert.match(!result.ok ? result.reason : "", /load|model/i);
    });

    test("a check that outlives its time is killed, says so, and is asked again next time", async () => {
        const request = vulkanRequest(probeModel);
        const cacheDirectory = path.join(scratch, "kept-timeout");
        // 50 ms: node has not even loaded the addon by then
        const first = await probeGpuBackend(request, {cacheDirectory, timeoutMs: 50});
        assert.deepEqual({ok: first.ok, cached: first.cached}, {ok: false, cached: false});
        assert.match(!first.ok ? first.reason : "", /did not finish in 0 s/);
        assert.equal(fs.existsSync(cacheDirectory) ? fs.readdirSync(cacheDirectory).length : 0, 0);
    });

    test("a check that died: how it ended and the backend's own last words (recorded on the H200)", () => {
        const stderr = [
            "load_backend: loaded CUDA backend from /tmp/backends/cuda-3.22.1-linux-x64/libggml-cuda.so",
            "/home/runner/work/node-llama-cpp/node-llama-cpp/llama/llama.cpp/ggml/src/ggml-cuda/ggml-cuda.cu:108: CUDA error",
            "/tmp/backends/cuda-3.22.1-linux-x64/libggml-cuda.so(_Z27ggml_cuda_op_rms_norm_fusedR25ggml_backend_cuda_contextP11ggml_tensorS2_+0x1ca)[0x7f8cb7265f1a]",
            "CUDA error: the provided PTX was compiled with an unsupported toolchain.",
            "  current device: 0, in function ggml_cuda_kernel_can_use_pdl at ggml/src/ggml-cuda/common.cuh:1679",
            "  cudaFuncGetAttributes(&attr, kernel)"
        ].join("\n");
        assert.equal(
            describeProbeFailure(stderr, "SIGABRT", null),
            "its check died of SIGABRT (CUDA error: the provided PTX was compiled with an unsupported toolchain.)"
        );
        assert.equal(describeProbeFailure("", null, 7), "its check exited with status 7");
    });

    test("node-llama-cpp's real CUDA package without an NVIDIA driver: no device, and auto runs on Vulkan", () => {
        const backends = path.join(scratch, "backends-real");
        installRealCudaPackage(backends);
        const auto = info("auto", {LAYER_DIAL_BACKENDS_DIR: backends});
        assert.equal(auto.status, 0, auto.stderr);
        assert.equal(auto.summary!.compute.backend, "vulkan");
        assert.match(auto.summary!.compute.fallbackReason ?? "", /cuda: no CUDA device found/);
        assert.match(auto.stderr, /checking the CUDA backend in .*cuda-real-linux-x64 in a separate process/);
        // asked once: the second load reads the kept answer and says nothing of a check
        const again = info("auto", {LAYER_DIAL_BACKENDS_DIR: backends});
        assert.equal(again.summary!.compute.backend, "vulkan");
        assert.doesNotMatch(again.stderr, /checking the CUDA backend/);
    });

    test("a CUDA backend whose check failed is passed over: auto runs on Vulkan and says why; --gpu cuda says what to do", () => {
        const backends = path.join(scratch, "backends-failed");
        const directory = installRealCudaPackage(backends);
        // the answer the H200 gave (its own check would find no device here)
        keepH200Failure(directory, backends);
        const auto = info("auto", {LAYER_DIAL_BACKENDS_DIR: backends});
        assert.equal(auto.status, 0, auto.stderr);
        assert.equal(auto.summary!.compute.backend, "vulkan");
        assert.match(
            auto.summary!.compute.fallbackReason ?? "",
            /cuda: the CUDA backend in .* has a device but cannot run on it: its check died of SIGABRT \(CUDA error: the provided PTX/
        );
        const cuda = info("cuda", {LAYER_DIAL_BACKENDS_DIR: backends});
        assert.equal(cuda.status, 1);
        assert.equal(cuda.signal, null);
        assert.match(cuda.stderr, /cuda was requested, but it cannot run here: .*unsupported toolchain.*Update the NVIDIA driver/);
    });

    test("gpu check: each installed build in the engine's order, with what it needs (no NVIDIA driver here), and exit 1 when none runs", () => {
        const backends = path.join(scratch, "backends-check");
        const none = gpuCheck(backends);
        assert.equal(none.status, 1);
        assert.match(none.stdout, /No CUDA backend installed in .*layer-dial gpu install cuda/);

        const directory = installRealCudaPackage(backends);
        const plain = gpuCheck(backends);
        assert.equal(plain.status, 1, plain.stderr);
        assert.match(plain.stdout, /^cuda \(.*cuda-real-linux-x64\): cannot run: no CUDA device found \(an NVIDIA driver and the CUDA 13 runtime/m);

        // the CUDA 12 build beside it: it needs the CUDA 12 runtime, and the CUDA build's failure says it is tried next
        addRealCuda12Build(directory);
        keepH200Failure(directory, backends);
        const both = gpuCheck(backends);
        assert.equal(both.status, 1, both.stderr);
        const lines = both.stdout.trim().split("\n");
        assert.equal(lines.length, 2, both.stdout);
        assert.match(
            lines[0]!,
            /^cuda \(.*\): cannot run: the CUDA backend in .* has a device but cannot run on it: .*unsupported toolchain.*its CUDA 12 build, installed beside it, is tried next.*\(kept from an earlier check\)$/
        );
        assert.match(
            lines[1]!,
            /^cuda 12 build \(.*fallback\): cannot run: no CUDA device found for the CUDA 12 build \(.*libcudart\.so\.12.*\(checked in [\d.]+ s\)$/
        );
        assert.match(both.stderr, /checking the CUDA backend in .*fallback in a separate process/);
    });

    test("layerDial/checkCuda through the real engine host: the installed builds' checks, a kept answer served as it was kept, nothing loaded", async () => {
        const backends = path.join(scratch, "backends-host");
        const directory = installRealCudaPackage(backends);
        // a kept pass (as a machine with a working GPU would leave it) is served without a new check
        keepGpuProbeReport(
            {backend: "cuda", backendDirectory: directory, installedBackendsDirectory: backends, nativeDirectory, modelPath: probeModel},
            {ok: true, deviceNames: ["NVIDIA H200"]}
        );
        const client = new EngineClient({
            hostModule: path.join(root, "engine/host/main.ts"),
            execArgv: ["--import", "tsx"],
            env: {...process.env, LAYER_DIAL_BACKENDS_DIR: backends}
        });
        try {
            const first = await client.checkCuda();
            assert.deepEqual(first.installs, [{directory, build: "cuda", ok: true, noDevice: false, deviceNames: ["NVIDIA H200"], seconds: 0}]);
            // a new folder in the install makes its kept answer stale: keep the H200's after adding it
            const cuda12 = addRealCuda12Build(directory);
            keepH200Failure(directory, backends);
            const second = await client.checkCuda();
            assert.deepEqual(
                second.installs.map(({directory: folder, build, ok, noDevice}) => ({folder, build, ok, noDevice})),
                [
                    {folder: directory, build: "cuda", ok: false, noDevice: false},
                    {folder: cuda12, build: "cuda-12", ok: false, noDevice: true}
                ]
            );
            assert.match(second.installs[0]!.reason ?? "", /unsupported toolchain/);
            const info = await client.info();
            assert.equal(info.openModels, 0, "checking loads no model");
        } finally {
            await client.dispose();
        }
    });
});
