// Installing the CUDA backend from an npm registry, offline: a local stub serves the per-version document and
// a tarball built here (a ustar archive with a GNU long name and a pax header, like npm's), and the tests
// check the files an install leaves: a good install, a wrong integrity, a download cut off half-way, a
// cancel, an unreachable registry, an entry outside the package, and the `layer-dial gpu` command.
import assert from "node:assert/strict";
import {randomBytes} from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type {AddressInfo} from "node:net";
import os from "node:os";
import path from "node:path";
import {after, test} from "node:test";
import {runGpuCommand} from "../../engine/cli/gpu-command.js";
import {BACKEND_MANIFEST_FILE, readBackendManifest, type BackendManifest} from "../../common/gpu-backends/backend-manifest.js";
import {
    GpuBackendInstallError,
    gpuBackendFolderName,
    installGpuBackend,
    type GpuBackendInstallErrorCode,
    type GpuBackendInstallProgress
} from "../../common/gpu-backends/install-backend.js";
import {nodeLlamaCppVersion} from "../../engine/native/build-record.js";
import {
    longNameEntry,
    paxEntry,
    sendAll,
    serveNpmPackage,
    sri,
    startRegistryStub,
    tarEntry,
    tgz,
    type RegistryStub,
    type Route
} from "../fixtures/npm-registry-stub.js";

const version = "3.22.1";
const cudaPackage = "@node-llama-cpp/linux-x64-cuda";
const cudaExtPackage = "@node-llama-cpp/linux-x64-cuda-ext";
const folderName = gpuBackendFolderName("cuda", version, "linux", "x64");
/** the library installs on this platform only; tests say so explicitly, so they run anywhere */
const linuxX64 = {platform: "linux", arch: "x64"} as const;
const metadata = {buildOptions: {customCmakeOptions: {}, gpu: "cuda", llamaCpp: {repo: "ggml-org/llama.cpp", release: "v0.5.0"}}};

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-gpu-install-"));
after(() => fs.rmSync(scratch, {recursive: true, force: true}));

function freshRoot(): string {
    return fs.mkdtempSync(path.join(scratch, "backends-"));
}

/** a CUDA package like the real one: the library, its build metadata, and files that must stay behind */
function cudaTarball(library: Buffer, extra: Buffer[] = []): Buffer {
    return tgz([
        tarEntry("package/package.json", JSON.stringify({name: cudaPackage, version})),
        tarEntry("package/bins", "", "5"),
        tarEntry("package/bins/linux-x64-cuda/libggml-base.so", "decoy: the CPU build's own ggml-base"),
        paxEntry("package/bins/linux-x64-cuda/_nlcBuildMetadata.json", "package/bins/linux-x64-cuda/_nlcBuildMetad", JSON.stringify(metadata)),
        tarEntry("package/bins/linux-x64-cuda/libggml-cuda.so", library),
        // after the library, under the library's name in its own header: only a reader that honours the
        // long name leaves the library alone
        longNameEntry(
            `package/bins/linux-x64-cuda/${"a-very-long-name-".repeat(8)}decoy.so`,
            "package/bins/linux-x64-cuda/libggml-cuda.so",
            "decoy behind a long name"
        ),
        ...extra
    ]);
}

// --- the registry stub, closed after the file's tests ---

async function startRegistry(): Promise<RegistryStub> {
    const registry = await startRegistryStub();
    after(registry.close);
    return registry;
}

type Registry = RegistryStub;

/** the package at this file's version */
function servePackage(registry: Registry, name: string, tarball: Buffer, options: {integrity?: string; route?: Route} = {}) {
    serveNpmPackage(registry, name, version, tarball, options);
}

/** install options that add the CUDA 12 build to the install in `root`, keeping what it holds */
function addingCuda12(root: string, registry: Registry) {
    return {backend: "cuda", targetRoot: root, registryUrl: registry.url, version, includeFallback: true, keepInstalledPackages: true, ...linuxX64} as const;
}

// --- what an install left ---

function listing(directory: string): string[] {
    return (fs.readdirSync(directory, {recursive: true}) as string[]).map((name) => name.split(path.sep).join("/")).sort();
}

function assertRejectsWith(code: GpuBackendInstallErrorCode, pattern: RegExp) {
    return (error: unknown) => {
        assert.ok(error instanceof GpuBackendInstallError, `expected a GpuBackendInstallError, got ${String(error)}`);
        assert.equal(error.code, code, error.message);
        assert.match(error.message, pattern);
        assert.doesNotMatch(error.message, /\n/);
        return true;
    };
}

test("a good tarball installs only the backend's files, with a manifest, and a reinstall replaces it", async () => {
    const registry = await startRegistry();
    const library = randomBytes(200_000);
    const tarball = cudaTarball(library);
    servePackage(registry, cudaPackage, tarball);
    const root = freshRoot();
    const progress: GpuBackendInstallProgress[] = [];

    const result = await installGpuBackend({
        backend: "cuda",
        targetRoot: root,
        registryUrl: `${registry.url}/`,
        version,
        ...linuxX64,
        onProgress: (step) => progress.push(step)
    });

    assert.equal(result.directory, path.join(root, "cuda-3.22.1-linux-x64"));
    assert.equal(result.downloadedBytes, tarball.length);
    assert.deepEqual(listing(root), [
        folderName,
        `${folderName}/_nlcBuildMetadata.json`,
        `${folderName}/${BACKEND_MANIFEST_FILE}`,
        `${folderName}/libggml-cuda.so`
    ]);
    assert.ok(fs.readFileSync(path.join(result.directory, "libggml-cuda.so")).equals(library));
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(result.directory, "_nlcBuildMetadata.json"), "utf8")), metadata);

    const manifest = readBackendManifest(result.directory);
    assert.deepEqual(manifest, result.manifest);
    assert.equal(manifest?.backend, "cuda");
    assert.equal(manifest?.package, cudaPackage);
    assert.equal(manifest?.version, version);
    assert.equal(manifest?.llamaCppRelease, "v0.5.0");
    assert.equal(manifest?.integrity, sri(tarball));
    assert.deepEqual([...manifest!.files].sort(), ["_nlcBuildMetadata.json", "libggml-cuda.so"]);
    assert.ok(!Number.isNaN(Date.parse(manifest?.installedAt ?? "")));

    assert.deepEqual(registry.requests, [`/@node-llama-cpp%2flinux-x64-cuda/${version}`, `/@node-llama-cpp%2flinux-x64-cuda/-/linux-x64-cuda-${version}.tgz`]);
    assert.deepEqual([...new Set(progress.map((step) => step.phase))], ["metadata", "download", "verify", "unpack"]);
    const downloads = progress.filter((step) => step.phase === "download");
    assert.equal(downloads.at(-1)?.receivedBytes, tarball.length);
    assert.ok(downloads.every((step) => step.totalBytes === tarball.length && step.package === cudaPackage));

    // a second install with another library replaces the first: one folder, the new bytes
    const newer = randomBytes(1000);
    servePackage(registry, cudaPackage, cudaTarball(newer));
    const second = await installGpuBackend({backend: "cuda", targetRoot: root, registryUrl: registry.url, version, ...linuxX64});
    assert.deepEqual(fs.readdirSync(root), [folderName]);
    assert.ok(fs.readFileSync(path.join(second.directory, "libggml-cuda.so")).equals(newer));
});

test("with includeFallback, the -cuda-ext package's CUDA 12 library goes into fallback/", async () => {
    const registry = await startRegistry();
    const library = randomBytes(5000);
    const fallback = randomBytes(7000);
    servePackage(registry, cudaPackage, cudaTarball(library));
    servePackage(
        registry,
        cudaExtPackage,
        tgz([
            tarEntry("package/package.json", JSON.stringify({name: cudaExtPackage, version})),
            tarEntry("package/bins/linux-x64-cuda/fallback/libggml-cuda.so", fallback),
            tarEntry("package/bins/linux-x64-cuda/fallback/libggml-base.so", "decoy")
        ])
    );
    const root = freshRoot();

    const result = await installGpuBackend({backend: "cuda", targetRoot: root, registryUrl: registry.url, version, includeFallback: true, ...linuxX64});

    assert.deepEqual(listing(result.directory), ["_nlcBuildMetadata.json", "fallback", "fallback/libggml-cuda.so", BACKEND_MANIFEST_FILE, "libggml-cuda.so"]);
    assert.ok(fs.readFileSync(path.join(result.directory, "fallback/libggml-cuda.so")).equals(fallback));
    assert.ok(fs.readFileSync(path.join(result.directory, "libggml-cuda.so")).equals(library));
    assert.ok(result.manifest.files.includes("fallback/libggml-cuda.so"));
    assert.deepEqual(fs.readdirSync(root), [folderName]);
});

test("keepInstalledPackages: adding the CUDA 12 build copies the installed CUDA build, unless the registry's file changed", async () => {
    const registry = await startRegistry();
    const library = randomBytes(5000);
    const cudaTar = cudaTarball(library);
    servePackage(registry, cudaPackage, cudaTar);
    const root = freshRoot();
    const first = await installGpuBackend({backend: "cuda", targetRoot: root, registryUrl: registry.url, version, ...linuxX64});
    assert.deepEqual(first.manifest.packages, [{name: cudaPackage, integrity: sri(cudaTar), files: ["libggml-cuda.so", "_nlcBuildMetadata.json"]}]);

    const fallback = randomBytes(7000);
    const extTar = tgz([tarEntry("package/bins/linux-x64-cuda/fallback/libggml-cuda.so", fallback)]);
    servePackage(registry, cudaExtPackage, extTar);
    registry.requests.length = 0;
    const progress: GpuBackendInstallProgress[] = [];
    const options = addingCuda12(root, registry);
    const added = await installGpuBackend({...options, onProgress: (step) => progress.push(step)});

    // the registry was asked for both packages' integrity, and only the CUDA 12 tarball was downloaded
    assert.deepEqual(registry.requests, [
        `/@node-llama-cpp%2flinux-x64-cuda/${version}`,
        `/@node-llama-cpp%2flinux-x64-cuda-ext/${version}`,
        `/@node-llama-cpp%2flinux-x64-cuda-ext/-/linux-x64-cuda-ext-${version}.tgz`
    ]);
    assert.equal(added.downloadedBytes, extTar.length);
    assert.deepEqual(added.keptPackages, [cudaPackage]);
    assert.deepEqual(
        progress.filter((step) => step.phase === "keep").map((step) => step.package),
        [cudaPackage, cudaPackage]
    );
    assert.ok(fs.readFileSync(path.join(added.directory, "libggml-cuda.so")).equals(library));
    assert.ok(fs.readFileSync(path.join(added.directory, "fallback/libggml-cuda.so")).equals(fallback));
    assert.deepEqual(
        added.manifest.packages?.map((installed) => [installed.name, installed.integrity]),
        [
            [cudaPackage, sri(cudaTar)],
            [cudaExtPackage, sri(extTar)]
        ]
    );
    assert.deepEqual(readBackendManifest(added.directory), added.manifest);
    assert.deepEqual(fs.readdirSync(root), [folderName]);

    // the registry now serves another CUDA build: it is downloaded, and the CUDA 12 build is kept
    const newer = randomBytes(6000);
    const newerTar = cudaTarball(newer);
    servePackage(registry, cudaPackage, newerTar);
    const changed = await installGpuBackend(options);
    assert.deepEqual(changed.keptPackages, [cudaExtPackage]);
    assert.equal(changed.downloadedBytes, newerTar.length);
    assert.ok(fs.readFileSync(path.join(changed.directory, "libggml-cuda.so")).equals(newer));
    assert.ok(fs.readFileSync(path.join(changed.directory, "fallback/libggml-cuda.so")).equals(fallback));

    // a kept file that is gone is downloaded again; without the option, everything is
    fs.rmSync(path.join(changed.directory, "fallback/libggml-cuda.so"));
    assert.deepEqual((await installGpuBackend(options)).keptPackages, [cudaPackage]);
    const reinstall = await installGpuBackend({...options, keepInstalledPackages: false});
    assert.deepEqual(reinstall.keptPackages, []);
    assert.equal(reinstall.downloadedBytes, newerTar.length + extTar.length);
});

test("keepInstalledPackages: a manifest from before packages were recorded keeps its main package when its integrity matches", async () => {
    const registry = await startRegistry();
    const cudaTar = cudaTarball(randomBytes(3000));
    servePackage(registry, cudaPackage, cudaTar);
    servePackage(registry, cudaExtPackage, tgz([tarEntry("package/bins/linux-x64-cuda/fallback/libggml-cuda.so", randomBytes(100))]));
    const root = freshRoot();
    const first = await installGpuBackend({backend: "cuda", targetRoot: root, registryUrl: registry.url, version, ...linuxX64});
    const {packages: _recorded, ...older} = first.manifest;
    fs.writeFileSync(path.join(first.directory, BACKEND_MANIFEST_FILE), JSON.stringify(older));

    const options = addingCuda12(root, registry);
    assert.deepEqual((await installGpuBackend(options)).keptPackages, [cudaPackage]);

    // another version in the same folder name is never kept (the folder name carries the version, so a
    // manifest saying otherwise is not trusted)
    fs.writeFileSync(path.join(first.directory, BACKEND_MANIFEST_FILE), JSON.stringify({...older, version: "3.21.0"}));
    assert.deepEqual((await installGpuBackend(options)).keptPackages, []);
});

test("a tarball that does not match the registry's integrity is refused and leaves nothing", async () => {
    const registry = await startRegistry();
    const tarball = cudaTarball(randomBytes(10_000));
    servePackage(registry, cudaPackage, tarball, {integrity: sri(Buffer.from("some other tarball"))});
    const root = freshRoot();

    await assert.rejects(
        installGpuBackend({backend: "cuda", targetRoot: root, registryUrl: registry.url, version, ...linuxX64}),
        assertRejectsWith("integrity", /CUDA backend download .* did not match the registry's integrity .*nothing was installed/)
    );
    assert.deepEqual(fs.readdirSync(root), []);
});

test("a download cut off half-way leaves nothing half-installed, and a failed reinstall keeps the previous install", async () => {
    const registry = await startRegistry();
    const library = randomBytes(400_000); // incompressible, so half the tarball is half the library
    const tarball = cudaTarball(library);
    const halfSent = (_: http.IncomingMessage, response: http.ServerResponse) => {
        response.writeHead(200, {"content-type": "application/octet-stream", "content-length": tarball.length});
        response.write(tarball.subarray(0, tarball.length >> 1), () => response.socket?.destroy());
    };
    servePackage(registry, cudaPackage, tarball, {route: halfSent});
    const root = freshRoot();

    await assert.rejects(
        installGpuBackend({backend: "cuda", targetRoot: root, registryUrl: registry.url, version, ...linuxX64}),
        assertRejectsWith("interrupted", /download of the CUDA backend .* broke off .*Nothing was installed.*Enable CUDA again/)
    );
    assert.deepEqual(fs.readdirSync(root), []);

    // a good install, then a reinstall that breaks off: the good one is still there, byte for byte
    servePackage(registry, cudaPackage, tarball);
    const good = await installGpuBackend({backend: "cuda", targetRoot: root, registryUrl: registry.url, version, ...linuxX64});
    const before = listing(root);
    servePackage(registry, cudaPackage, tarball, {route: halfSent});
    await assert.rejects(
        installGpuBackend({backend: "cuda", targetRoot: root, registryUrl: registry.url, version, ...linuxX64}),
        assertRejectsWith("interrupted", /broke off/)
    );
    assert.deepEqual(listing(root), before);
    assert.ok(fs.readFileSync(path.join(good.directory, "libggml-cuda.so")).equals(library));
    assert.deepEqual(readBackendManifest(good.directory), good.manifest);
});

test("aborting during the download rejects as cancelled and leaves nothing", async () => {
    const registry = await startRegistry();
    const tarball = cudaTarball(randomBytes(300_000));
    let connectionClosed!: Promise<void>;
    // half the tarball, then nothing until the client goes away: only the abort can end this download
    servePackage(registry, cudaPackage, tarball, {
        route: (_, response) => {
            connectionClosed = new Promise((resolve) => response.once("close", () => resolve()));
            response.writeHead(200, {"content-type": "application/octet-stream", "content-length": tarball.length});
            response.write(tarball.subarray(0, tarball.length >> 1));
        }
    });
    const root = freshRoot();
    const controller = new AbortController();
    let receivedWhenAborted = 0;

    await assert.rejects(
        installGpuBackend({
            backend: "cuda",
            targetRoot: root,
            registryUrl: registry.url,
            version,
            ...linuxX64,
            signal: controller.signal,
            onProgress: (progress) => {
                if (progress.phase === "download" && progress.receivedBytes > 0 && !controller.signal.aborted) {
                    receivedWhenAborted = progress.receivedBytes;
                    controller.abort();
                }
            }
        }),
        assertRejectsWith("cancelled", /CUDA backend install was cancelled; nothing was installed/)
    );
    assert.ok(receivedWhenAborted > 0 && receivedWhenAborted < tarball.length);
    assert.deepEqual(fs.readdirSync(root), []);
    await connectionClosed; // the download's connection was closed, not left open
});

/** a port nothing listens on: one the system just gave out and took back */
async function closedPort(): Promise<number> {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
}

test("an unreachable registry gives a clear error and leaves nothing", async () => {
    const port = await closedPort();
    const root = freshRoot();

    await assert.rejects(
        installGpuBackend({backend: "cuda", targetRoot: root, registryUrl: `http://127.0.0.1:${port}`, version, ...linuxX64}),
        assertRejectsWith(
            "offline",
            new RegExp(
                `^Could not reach the npm registry at http://127\\.0\\.0\\.1:${port} \\(.*ECONNREFUSED.*\\)\\. ` +
                    "Check the connection or proxy, then run Layer Dial: Enable CUDA again\\.$"
            )
        )
    );
    assert.deepEqual(fs.readdirSync(root), []);
});

test("a tar entry with ../ is refused, and nothing is written inside or outside the target", async () => {
    const registry = await startRegistry();
    const tarball = cudaTarball(randomBytes(1000), [tarEntry("package/../../escaped.txt", "outside")]);
    servePackage(registry, cudaPackage, tarball);
    const root = freshRoot();

    await assert.rejects(
        installGpuBackend({backend: "cuda", targetRoot: root, registryUrl: registry.url, version, ...linuxX64}),
        assertRejectsWith("bad-package", /entry outside its folder \("package\/\.\.\/\.\.\/escaped\.txt"\).*nothing was installed/)
    );
    assert.deepEqual(fs.readdirSync(root), []);
    assert.ok(!fs.existsSync(path.join(root, "..", "escaped.txt")));
    assert.ok(!fs.existsSync(path.join(root, "escaped.txt")));
});

test("a package without the library is refused; an unsupported platform is refused before any request", async () => {
    const registry = await startRegistry();
    servePackage(registry, cudaPackage, tgz([tarEntry("package/bins/linux-x64-cuda/_nlcBuildMetadata.json", JSON.stringify(metadata))]));
    const root = freshRoot();
    await assert.rejects(
        installGpuBackend({backend: "cuda", targetRoot: root, registryUrl: registry.url, version, ...linuxX64}),
        assertRejectsWith("bad-package", /has no bins\/linux-x64-cuda\/libggml-cuda\.so/)
    );
    assert.deepEqual(fs.readdirSync(root), []);

    const requestsBefore = registry.requests.length;
    await assert.rejects(
        installGpuBackend({backend: "cuda", targetRoot: root, registryUrl: registry.url, version, platform: "darwin", arch: "arm64"}),
        assertRejectsWith("unsupported-platform", /Linux x64 only, not for darwin-arm64/)
    );
    assert.equal(registry.requests.length, requestsBefore);
});

function captureIo() {
    const stdout: string[] = [];
    const stderr: string[] = [];
    return {io: {stdout: (text: string) => void stdout.push(text), stderr: (text: string) => void stderr.push(text)}, stdout, stderr};
}

test(
    "layer-dial gpu install cuda / list, and bad usage",
    {skip: process.platform !== "linux" || process.arch !== "x64" ? "the CUDA package exists for linux-x64 only" : false},
    async () => {
        const pinned = nodeLlamaCppVersion();
        const registry = await startRegistry();
        const library = randomBytes(250_000);
        const tarball = cudaTarball(library);
        const documentPath = `/${cudaPackage.replace("/", "%2f")}/${pinned}`;
        const tarballPath = "/tarballs/cuda.tgz";
        registry.routes.set(documentPath, (_, response) =>
            response
                .writeHead(200, {"content-type": "application/json"})
                .end(JSON.stringify({name: cudaPackage, version: pinned, dist: {tarball: `${registry.url}${tarballPath}`, integrity: sri(tarball)}}))
        );
        registry.routes.set(tarballPath, sendAll(tarball));
        const dir = freshRoot();

        const install = captureIo();
        assert.equal(await runGpuCommand(["install", "cuda", "--registry", registry.url, "--dir", dir], install.io), 0, install.stderr.join(""));
        const directory = path.join(dir, gpuBackendFolderName("cuda", pinned));
        assert.match(
            install.stdout.join(""),
            new RegExp(`^CUDA backend installed in ${directory.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} .*llama\\.cpp v0\\.5\\.0`)
        );
        assert.ok(fs.readFileSync(path.join(directory, "libggml-cuda.so")).equals(library));
        const downloadLines = install.stderr
            .join("")
            .split("\n")
            .filter((line) => line.startsWith("downloading"));
        assert.ok(downloadLines.length >= 1 && downloadLines.length <= 21, downloadLines.join("\n"));
        assert.match(downloadLines.at(-1)!, /100%/);

        const list = captureIo();
        assert.equal(await runGpuCommand(["list", "--dir", dir], list.io), 0);
        assert.equal(list.stdout.join(""), `cuda ${pinned} (llama.cpp v0.5.0): ${directory}\n`);

        const listJson = captureIo();
        assert.equal(await runGpuCommand(["list", "--dir", dir, "--json"], listJson.io), 0);
        const installs = JSON.parse(listJson.stdout.join("")) as {directory: string; manifest: BackendManifest}[];
        assert.deepEqual(
            installs.map((entry) => [entry.directory, entry.manifest.backend, entry.manifest.llamaCppRelease]),
            [[directory, "cuda", "v0.5.0"]]
        );

        // --json FILE: the result goes to the file
        const jsonFile = path.join(scratch, "install.json");
        const installJson = captureIo();
        assert.equal(await runGpuCommand(["install", "cuda", "--registry", registry.url, "--dir", dir, "--json", jsonFile], installJson.io), 0);
        const written = JSON.parse(fs.readFileSync(jsonFile, "utf8")) as {directory: string; manifest: BackendManifest; downloadedBytes: number};
        assert.equal(written.directory, directory);
        assert.equal(written.downloadedBytes, tarball.length);

        // --fallback adds the CUDA 12 build and keeps the CUDA build the registry still serves
        const extTarball = tgz([tarEntry("package/bins/linux-x64-cuda/fallback/libggml-cuda.so", randomBytes(1000))]);
        registry.routes.set(`/${cudaExtPackage.replace("/", "%2f")}/${pinned}`, (_, response) =>
            response.writeHead(200, {"content-type": "application/json"}).end(
                JSON.stringify({
                    name: cudaExtPackage,
                    version: pinned,
                    dist: {tarball: `${registry.url}/tarballs/cuda-ext.tgz`, integrity: sri(extTarball)}
                })
            )
        );
        registry.routes.set("/tarballs/cuda-ext.tgz", sendAll(extTarball));
        const withFallback = captureIo();
        assert.equal(
            await runGpuCommand(["install", "cuda", "--fallback", "--registry", registry.url, "--dir", dir], withFallback.io),
            0,
            withFallback.stderr.join("")
        );
        assert.match(
            withFallback.stdout.join(""),
            new RegExp(`${(extTarball.length / 1e6).toFixed(1)} MB downloaded; ${cudaPackage} kept from the install before\\)\n$`)
        );
        assert.ok(withFallback.stderr.join("").includes(`keeping the installed files of ${cudaPackage}\n`), withFallback.stderr.join(""));
        assert.ok(fs.readFileSync(path.join(directory, "libggml-cuda.so")).equals(library));
        assert.ok(fs.existsSync(path.join(directory, "fallback/libggml-cuda.so")));

        const empty = captureIo();
        assert.equal(await runGpuCommand(["list", "--dir", freshRoot()], empty.io), 0);
        assert.match(empty.stdout.join(""), /^No GPU backend installed/);

        for (const argv of [
            [],
            ["install"],
            ["install", "vulkan"],
            ["install", "cuda", "extra"],
            ["frobnicate"],
            ["install", "cuda", "--bogus"],
            ["list", "cuda"],
            ["install", "cuda", "--registry", "ftp://example", "--dir", dir],
            ["install", "cuda", "--registry", `http://127.0.0.1:${await closedPort()}`, "--dir", freshRoot()]
        ]) {
            const bad = captureIo();
            assert.equal(await runGpuCommand(argv, bad.io), 1, `gpu ${argv.join(" ")}`);
            const lines = bad.stderr
                .join("")
                .split("\n")
                .filter((line) => line.length > 0 && !line.startsWith("asking"));
            assert.equal(lines.length, 1, `gpu ${argv.join(" ")}: ${bad.stderr.join("")}`);
            assert.match(lines[0], /^layer-dial: /);
            assert.equal(bad.stdout.join(""), "");
        }
    }
);
