// Choosing the compute backend, as a user meets it through the CLI: Vulkan over Mesa's software driver,
// the Vulkan library without a driver, CUDA missing, of another version or broken, and native pieces that
// do not belong together. Each gets a message that names the backend and what to do; the CPU keeps working.
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {after, before, describe, test} from "node:test";
import {fileURLToPath} from "node:url";
import {buildDirectory, computeBuildKey, defaultBuildOptions} from "../../engine/native/build-record.js";
import type {ModelSummary} from "../../common/engine-protocol.js";
import {LAVAPIPE_ENVIRONMENT} from "../fixtures/lavapipe.js";
import {cliBundle} from "./cli-bundle.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const stories = path.resolve(root, "../shared/models/stories260K.gguf");
const noDriver = {VK_ICD_FILENAMES: "/nonexistent/icd.json", VK_DRIVER_FILES: "/nonexistent/icd.json"};

let scratch: string;
before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-gpu-"));
});
after(() => fs.rmSync(scratch, {recursive: true, force: true}));

function layerDial(args: string[], env: Record<string, string> = {}) {
    const result = spawnSync(process.execPath, [cliBundle(), ...args], {
        cwd: root,
        encoding: "utf8",
        timeout: 120_000,
        // lavapipe with the settings it needs (lavapipe.ts); no installed CUDA unless a test says so
        env: {...process.env, ...LAVAPIPE_ENVIRONMENT, LAYER_DIAL_BACKENDS_DIR: path.join(scratch, "none"), ...env}
    });
    return {status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr};
}

function info(gpu: string, env: Record<string, string> = {}) {
    const run = layerDial(["info", "--model", stories, "--threads", "1", "--gpu", gpu, "--json"], env);
    return {...run, summary: run.status === 0 ? (JSON.parse(run.stdout.trim().split("\n").at(-1)!) as ModelSummary) : undefined};
}

describe("compute backend", () => {
    test("--gpu vulkan runs on the Vulkan device with every layer offloaded, and info says so", () => {
        const {status, stderr, summary} = info("vulkan");
        assert.equal(status, 0, stderr);
        assert.equal(summary!.compute.backend, "vulkan");
        assert.match(summary!.compute.deviceNames.join(), /llvmpipe/);
        assert.equal(summary!.compute.offloadedLayers, summary!.layerCount + 1);
        assert.equal(summary!.compute.offloadableLayers, summary!.layerCount + 1);
        // the speed calibration decodes only token ids inside this 512-token vocabulary; on a busy machine
        // it may still refuse timings too spread to carry a prediction, and then it says so and no more
        if (summary!.speedCalibrationError === undefined) assert.equal(summary!.costModelSource, "calibrated");
        else assert.match(summary!.speedCalibrationError, /^decode steps at \d+ layers( and \d+ cached tokens)? stayed too spread to time/);
    });

    test("--gpu-layers offloads at most that many; --gpu cpu offloads none", () => {
        const partial = info("vulkan", {}).summary;
        assert.ok(partial !== undefined);
        const two = layerDial(["info", "--model", stories, "--threads", "1", "--gpu", "vulkan", "--gpu-layers", "2", "--json"]);
        assert.equal(two.status, 0, two.stderr);
        assert.equal((JSON.parse(two.stdout) as ModelSummary).compute.offloadedLayers, 2);
        const cpu = info("cpu");
        assert.equal(cpu.status, 0, cpu.stderr);
        assert.deepEqual(cpu.summary!.compute, {backend: "cpu", deviceNames: [], offloadedLayers: 0, offloadableLayers: cpu.summary!.layerCount + 1});
    });

    test("the Vulkan library without a driver: auto runs on the CPU and says why; --gpu vulkan is a clear error", () => {
        const auto = info("auto", noDriver);
        assert.equal(auto.status, 0, auto.stderr);
        assert.equal(auto.summary!.compute.backend, "cpu");
        assert.match(auto.summary!.compute.fallbackReason ?? "", /vulkan: no Vulkan GPU device found/);
        assert.match(auto.stderr, /running on the CPU: vulkan/);

        const generate = layerDial(["generate", "--model", stories, "--prompt", "Once upon a time", "--max-tokens", "8", "--threads", "1"], noDriver);
        assert.equal(generate.status, 0, generate.stderr);
        assert.match(generate.stderr, /\[cpu, 5\/5 layers/);

        const vulkan = info("vulkan", noDriver);
        assert.equal(vulkan.status, 1);
        assert.equal(vulkan.signal, null);
        assert.match(vulkan.stderr, /^layer-dial: vulkan was requested, but it cannot run here: vulkan: no Vulkan GPU device found.*--gpu auto or --gpu cpu/m);
        assert.doesNotMatch(vulkan.stderr, /\n\s+at /, "no stack trace");
    });

    test("CUDA not installed, of another version, or broken: errors that say what to do; auto still runs", () => {
        const missing = info("cuda");
        assert.equal(missing.status, 1);
        assert.match(missing.stderr, /CUDA is not installed: run Layer Dial: Enable CUDA \(layer-dial gpu install cuda\)/);

        const backends = path.join(scratch, "backends");
        const stale = path.join(backends, "cuda-3.21.1-linux-x64");
        fs.mkdirSync(stale, {recursive: true});
        fs.writeFileSync(path.join(stale, "libggml-cuda.so"), "not a library");
        fs.writeFileSync(
            path.join(stale, "layer-dial-backend.json"),
            JSON.stringify({
                backend: "cuda",
                package: "@node-llama-cpp/linux-x64-cuda",
                version: "3.21.1",
                llamaCppRelease: "b6800",
                files: ["libggml-cuda.so"]
            })
        );
        const other = info("cuda", {LAYER_DIAL_BACKENDS_DIR: backends});
        assert.equal(other.status, 1);
        assert.match(
            other.stderr,
            /@node-llama-cpp\/linux-x64-cuda@3\.21\.1 \(llama\.cpp b6800\).*run Layer Dial: Enable CUDA \(layer-dial gpu install cuda\) again/
        );
        const autoWithStale = info("auto", {LAYER_DIAL_BACKENDS_DIR: backends});
        assert.equal(autoWithStale.status, 0, autoWithStale.stderr);
        assert.equal(autoWithStale.summary!.compute.backend, "vulkan");

        // the right version, but a library that does not load (here: not a library at all)
        fs.rmSync(stale, {recursive: true});
        const broken = path.join(backends, "cuda-current-linux-x64");
        fs.mkdirSync(broken, {recursive: true});
        fs.writeFileSync(path.join(broken, "libggml-cuda.so"), "not a library");
        const key = computeBuildKey(defaultBuildOptions());
        const release = (JSON.parse(fs.readFileSync(path.join(buildDirectory(key), "layer-dial-build.json"), "utf8")) as {llamaCppRelease: string})
            .llamaCppRelease;
        fs.writeFileSync(
            path.join(broken, "layer-dial-backend.json"),
            JSON.stringify({
                backend: "cuda",
                package: "@node-llama-cpp/linux-x64-cuda",
                version: key.nodeLlamaCppVersion,
                llamaCppRelease: release,
                files: ["libggml-cuda.so"]
            })
        );
        const cuda = info("cuda", {LAYER_DIAL_BACKENDS_DIR: backends});
        assert.equal(cuda.status, 1);
        assert.equal(cuda.signal, null);
        assert.match(cuda.stderr, /cuda: no CUDA device found \(an NVIDIA driver and the CUDA 13 runtime/);
        const auto = info("auto", {LAYER_DIAL_BACKENDS_DIR: backends, ...noDriver});
        assert.equal(auto.status, 0, auto.stderr);
        assert.equal(auto.summary!.compute.backend, "cpu");
        assert.match(auto.summary!.compute.fallbackReason ?? "", /cuda: no CUDA device found.*vulkan: no Vulkan GPU device found/);
    });

    test("an unknown backend is a usage error", () => {
        const bad = info("tpu");
        assert.equal(bad.status, 1);
        assert.match(bad.stderr, /--gpu must be one of auto, cpu, vulkan, cuda, metal \(got "tpu"\)/);
    });
});

describe("native pieces that do not belong together are refused, naming what to do", () => {
    const build = buildDirectory(computeBuildKey(defaultBuildOptions()));

    function copyOfBuild(name: string): string {
        const copy = path.join(scratch, name);
        fs.cpSync(build, copy, {recursive: true});
        return copy;
    }

    test("ggml libraries of another release: a missing symbol is named, not a crash", () => {
        const copy = copyOfBuild("foreign-ggml");
        // a libggml-base that exports nothing our libllama needs, as one of another release might
        const source = path.join(scratch, "empty.c");
        fs.writeFileSync(source, "int layer_dial_unrelated(void) { return 0; }\n");
        const compiled = spawnSync("cc", ["-shared", "-fPIC", "-Wl,-soname,libggml-base.so", "-o", path.join(copy, "bins", "libggml-base.so"), source], {
            encoding: "utf8"
        });
        assert.equal(compiled.status, 0, compiled.stderr);
        const run = info("cpu", {LAYER_DIAL_NATIVE_DIR: copy});
        assert.equal(run.status, 1);
        assert.equal(run.signal, null);
        assert.match(run.stderr, /do not belong together: (ggml|gguf)_\w+ is missing from the ggml libraries/);
    });

    test("a build record whose backend package is of another release", () => {
        const copy = copyOfBuild("foreign-record");
        const recordPath = path.join(copy, "layer-dial-build.json");
        const record = JSON.parse(fs.readFileSync(recordPath, "utf8")) as {backendOrigins: {cpu: {llamaCppRelease: string}}};
        record.backendOrigins.cpu.llamaCppRelease = "b1234";
        fs.writeFileSync(recordPath, JSON.stringify(record));
        const run = info("cpu", {LAYER_DIAL_NATIVE_DIR: copy});
        assert.equal(run.status, 1);
        assert.match(run.stderr, /The cpu ggml libraries come from @node-llama-cpp\/linux-x64@[\d.]+ \(llama\.cpp b1234\).*npm run build:native -- --force/);
    });
});
