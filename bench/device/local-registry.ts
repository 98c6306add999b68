// A loopback stand-in for the npm registry, serving one package tarball, so `layer-dial gpu install cuda
// --registry http://127.0.0.1:PORT` runs the project's own installer (download, integrity check, unpack)
// on a machine without network: the device machine, with the tarball carried there in parts.
//   node --import tsx bench/device/local-registry.ts --tarball FILE [--integrity sha512-…] [--version V]
//        [--name @node-llama-cpp/linux-x64-cuda] [--port N] [--port-file FILE]
// Serves the per-version document `/<name with the slash as %2f>/<version>` (what installGpuBackend asks
// for) with `dist.tarball` pointing back at itself and `dist.integrity` as given (or the file's own sha512
// when none is given, which then checks only the transfer), and the tarball at `/-/<file name>`. Prints
// its address, writes the port to --port-file once listening, and runs until killed.
import {createHash} from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type {AddressInfo} from "node:net";
import path from "node:path";
import {pathToFileURL} from "node:url";
import {parseArgs} from "node:util";

export type LocalRegistryOptions = {
    /** the package tarball to serve */
    tarball: string;
    /** Defaults to `@node-llama-cpp/linux-x64-cuda`. */
    name?: string;
    /** the version the document is served at */
    version: string;
    /** the SRI string put in `dist.integrity`. Defaults to the tarball's own sha512. */
    integrity?: string;
    /** Defaults to 0: any free port. */
    port?: number;
    /** one line per request */
    log?: (line: string) => void;
};

export type LocalRegistry = {url: string; port: number; integrity: string; close: () => Promise<void>};

export const defaultPackageName = "@node-llama-cpp/linux-x64-cuda";

export async function sha512Integrity(file: string): Promise<string> {
    const hash = createHash("sha512");
    for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
    return `sha512-${hash.digest("base64")}`;
}

export async function startLocalRegistry(options: LocalRegistryOptions): Promise<LocalRegistry> {
    const tarball = path.resolve(options.tarball);
    const size = fs.statSync(tarball).size;
    const name = options.name ?? defaultPackageName;
    const integrity = options.integrity ?? (await sha512Integrity(tarball));
    const fileName = path.basename(tarball);
    const log = options.log ?? (() => undefined);
    // npm spells a scoped name in a URL with the slash escaped; clients differ in the case of %2f
    const documentPaths = new Set([
        `/${name.replace("/", "%2f")}/${options.version}`,
        `/${name.replace("/", "%2F")}/${options.version}`,
        `/${name}/${options.version}`
    ]);
    const tarballPath = `/-/${encodeURIComponent(fileName)}`;

    let base = "";
    const server = http.createServer((request, response) => {
        const url = new URL(request.url ?? "/", "http://127.0.0.1");
        log(`${request.method} ${url.pathname}`);
        if (request.method !== "GET" && request.method !== "HEAD") {
            response.writeHead(405).end();
            return;
        }
        if (documentPaths.has(url.pathname)) {
            const body = JSON.stringify({name, version: options.version, dist: {tarball: `${base}${tarballPath}`, integrity}});
            response.writeHead(200, {"content-type": "application/json", "content-length": Buffer.byteLength(body)});
            response.end(request.method === "HEAD" ? undefined : body);
            return;
        }
        if (url.pathname === tarballPath) {
            response.writeHead(200, {"content-type": "application/octet-stream", "content-length": size});
            if (request.method === "HEAD") {
                response.end();
                return;
            }
            const stream = fs.createReadStream(tarball);
            stream.on("error", (error) => response.destroy(error));
            stream.pipe(response);
            return;
        }
        response.writeHead(404, {"content-type": "application/json"}).end(JSON.stringify({error: "not found"}));
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    return {
        url: base,
        port,
        integrity,
        close: () =>
            new Promise<void>((resolve, reject) => {
                server.closeAllConnections();
                server.close((error) => (error != null ? reject(error) : resolve()));
            })
    };
}

/** the version in an `npm pack` file name: <name>-<version>.tgz */
function versionFromFileName(file: string): string | undefined {
    return /-(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\.tgz$/.exec(path.basename(file))?.[1];
}

async function main(): Promise<void> {
    const {values} = parseArgs({
        options: {
            tarball: {type: "string"},
            name: {type: "string"},
            version: {type: "string"},
            integrity: {type: "string"},
            port: {type: "string"},
            "port-file": {type: "string"}
        },
        strict: true
    });
    if (values.tarball == null) throw new Error("--tarball FILE is required");
    const version = values.version ?? versionFromFileName(values.tarball);
    if (version == null) throw new Error(`--version is required: none in the file name ${path.basename(values.tarball)}`);
    const port = values.port != null ? Number(values.port) : 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number (got "${values.port}")`);

    const registry = await startLocalRegistry({
        tarball: values.tarball,
        name: values.name,
        version,
        integrity: values.integrity,
        port,
        log: (line) => process.stderr.write(`local-registry: ${line}\n`)
    });
    if (values["port-file"] != null) {
        // written whole, then renamed: a reader never sees half a number
        const partial = `${values["port-file"]}.partial`;
        fs.writeFileSync(partial, `${registry.port}\n`);
        fs.renameSync(partial, values["port-file"]);
    }
    console.log(`local-registry: serving ${values.name ?? defaultPackageName}@${version} (${registry.integrity.slice(0, 20)}…) at ${registry.url}`);
    const stop = () => void registry.close().finally(() => process.exit(0));
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
}

if (process.argv[1] != null && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main();
