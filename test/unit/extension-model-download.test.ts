// Model downloads against a real HTTP server on 127.0.0.1 (node:http, never the network): the size
// comes from a HEAD request before anything is downloaded; progress counts up to the size; a cancelled
// download keeps its partial file, and the next one asks only for the rest with a Range request.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type {AddressInfo} from "node:net";
import os from "node:os";
import path from "node:path";
import {after, before, describe, test} from "node:test";
import {ModelDownloadFailedError, OperationCancelledError, UnsupportedModelUriError} from "../../extension/errors.js";
import {downloadFile, partialPath, probeDownload, remoteModelFile} from "../../extension/models/model-download.js";

const FILE = crypto.randomBytes(3 * 1024 * 1024 + 17);
const HALF = Math.floor(FILE.length / 2);

type Served = {method: string; url: string; range: string | undefined};

/**
 * /model.gguf: HEAD and GET with Range support. /stall.gguf: sends the first half of the file and then holds
 * the connection open until the client goes away (so a client can cancel mid-file without any timing).
 * /no-range.gguf ignores Range. /moved.gguf redirects to /model.gguf, as Hugging Face redirects to its CDN.
 */
class FileServer {
    readonly served: Served[] = [];
    private server: http.Server | undefined;

    async start(): Promise<string> {
        this.server = http.createServer((request, response) => this.answer(request, response));
        await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
        return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }

    async stop(): Promise<void> {
        this.server?.closeAllConnections();
        await new Promise<void>((resolve) => this.server?.close(() => resolve()));
    }

    private answer(request: http.IncomingMessage, response: http.ServerResponse): void {
        const url = request.url ?? "";
        this.served.push({method: request.method ?? "", url, range: request.headers.range});
        if (url === "/moved.gguf") {
            response.writeHead(302, {location: "/model.gguf"}).end();
            return;
        }
        if (url === "/stall.gguf" && request.method === "GET") {
            response.writeHead(200, {"content-length": FILE.length, "accept-ranges": "bytes"});
            response.write(FILE.subarray(0, HALF));
            return; // never ends: the client's cancel closes it
        }
        if (url !== "/model.gguf" && url !== "/no-range.gguf") {
            response.writeHead(404).end();
            return;
        }
        const rangeSupport = url === "/model.gguf";
        const range = rangeSupport ? /^bytes=(\d+)-$/.exec(request.headers.range ?? "") : null;
        const start = range === null ? 0 : Number(range[1]);
        const headers = {"content-length": FILE.length - start, ...(rangeSupport ? {"accept-ranges": "bytes"} : {})};
        if (range === null) response.writeHead(200, headers);
        else response.writeHead(206, {...headers, "content-range": `bytes ${start}-${FILE.length - 1}/${FILE.length}`});
        response.end(request.method === "HEAD" ? undefined : FILE.subarray(start));
    }
}

describe("model download", () => {
    const server = new FileServer();
    let base = "";
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), "layer-dial-download-"));
    before(async () => {
        base = await server.start();
    });
    after(async () => {
        await server.stop();
        fs.rmSync(directory, {recursive: true, force: true});
    });
    const target = (name: string) => path.join(directory, name);

    test("hf: file URIs become Hugging Face resolve URLs; the quant form and other schemes are refused with the form to use", () => {
        assert.deepEqual(remoteModelFile("hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"), {
            uri: "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            url: "https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            fileName: "Qwen__Qwen2.5-Coder-1.5B-Instruct-GGUF__qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
        });
        assert.equal(remoteModelFile("hf:a/b/dir/m.gguf#dev").url, "https://huggingface.co/a/b/resolve/dev/dir/m.gguf");
        assert.equal(remoteModelFile("https://example.org/x/My%20Model.gguf").fileName, "My_Model.gguf");
        assert.throws(
            () => remoteModelFile("hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF:Q4_K_M"),
            (error: Error) => error instanceof UnsupportedModelUriError && /hf:<owner>\/<repo>\/<file>\.gguf/.test(error.message)
        );
        for (const bad of ["file:///etc/passwd", "ftp://host/m.gguf", "http://example.org/m.gguf", "https://example.org/m.bin", "hf:a/b/../c.gguf"])
            assert.throws(() => remoteModelFile(bad), UnsupportedModelUriError, bad);
    });

    test("the probe is one HEAD request: the size and Range support, nothing downloaded", async () => {
        server.served.length = 0;
        const probe = await probeDownload({url: `${base}/model.gguf`, filePath: target("probe.gguf")});
        assert.deepEqual(probe, {url: `${base}/model.gguf`, totalBytes: FILE.length, partialBytes: 0, resumable: true});
        assert.deepEqual(server.served, [{method: "HEAD", url: "/model.gguf", range: undefined}]);
        assert.equal(fs.existsSync(target("probe.gguf")), false);
        assert.equal((await probeDownload({url: `${base}/no-range.gguf`, filePath: target("probe.gguf")})).resumable, false);
        await assert.rejects(
            probeDownload({url: `${base}/missing.gguf`, filePath: target("probe.gguf")}),
            (error: Error) => error instanceof ModelDownloadFailedError && /404/.test(error.message)
        );
    });

    test("downloads through a redirect, reporting progress up to the size, and leaves no partial file", async () => {
        const progress: number[] = [];
        const file = await downloadFile({
            url: `${base}/moved.gguf`,
            filePath: target("full.gguf"),
            totalBytes: FILE.length,
            onProgress: (bytes) => progress.push(bytes)
        });
        assert.equal(file, target("full.gguf"));
        assert.ok(fs.readFileSync(file).equals(FILE));
        assert.equal(fs.existsSync(partialPath(file)), false);
        assert.equal(progress.at(-1), FILE.length);
        assert.ok(
            progress.every((bytes, index) => index === 0 || bytes >= progress[index - 1]),
            "progress went backwards"
        );
    });

    test("cancel keeps the partial file; the next download asks for the rest with a Range request and completes the file", async () => {
        const file = target("resumed.gguf");
        const controller = new AbortController();
        await assert.rejects(
            downloadFile({
                url: `${base}/stall.gguf`,
                filePath: file,
                totalBytes: FILE.length,
                signal: controller.signal,
                onProgress: (bytes) => {
                    if (bytes >= HALF) controller.abort();
                }
            }),
            OperationCancelledError
        );
        const kept = fs.statSync(partialPath(file)).size;
        assert.ok(kept > 0 && kept <= HALF, `kept ${kept} bytes`);
        assert.ok(fs.readFileSync(partialPath(file)).equals(FILE.subarray(0, kept)), "the partial file is not the start of the file");
        assert.equal(fs.existsSync(file), false);

        const probe = await probeDownload({url: `${base}/model.gguf`, filePath: file});
        assert.equal(probe.partialBytes, kept, "the confirmation can say how much is already here");
        server.served.length = 0;
        const progress: number[] = [];
        await downloadFile({url: `${base}/model.gguf`, filePath: file, totalBytes: FILE.length, onProgress: (bytes) => progress.push(bytes)});
        assert.deepEqual(server.served, [{method: "GET", url: "/model.gguf", range: `bytes=${kept}-`}]);
        assert.equal(progress[0], kept, "progress starts where the partial file ends");
        assert.ok(fs.readFileSync(file).equals(FILE));
        assert.equal(fs.existsSync(partialPath(file)), false);
    });

    test("a server that ignores Range sends the whole file again, and the result is still the file", async () => {
        const file = target("no-range.gguf");
        fs.writeFileSync(partialPath(file), FILE.subarray(0, 1000));
        await downloadFile({url: `${base}/no-range.gguf`, filePath: file, totalBytes: FILE.length});
        assert.ok(fs.readFileSync(file).equals(FILE));
    });

    test("a partial file longer than the file on the server is not a prefix of it: the download starts over", async () => {
        const file = target("stale.gguf");
        fs.writeFileSync(partialPath(file), Buffer.alloc(FILE.length + 5));
        await downloadFile({url: `${base}/model.gguf`, filePath: file, totalBytes: FILE.length});
        assert.ok(fs.readFileSync(file).equals(FILE));
    });

    test("an unreachable server is a named error that says to check the connection", async () => {
        const closed = new FileServer();
        const url = await closed.start();
        await closed.stop();
        await assert.rejects(
            downloadFile({url: `${url}/model.gguf`, filePath: target("unreachable.gguf")}),
            (error: Error) => error instanceof ModelDownloadFailedError && /network connection/.test(error.message)
        );
    });
});
