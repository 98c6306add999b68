// What an installed GPU backend folder holds and where it came from, written last by the installer, so a
// folder with a manifest is a complete install and the loader can match it to the llama.cpp it runs.
import fs from "node:fs";
import path from "node:path";
import {writeFileAtomically} from "../cache-dir.js";

export const BACKEND_MANIFEST_FILE = "layer-dial-backend.json";

/** one npm package an install's files came from */
export type InstalledPackage = {
    name: string;
    /** the registry's SRI string its download was checked against */
    integrity: string;
    /** its files in the folder, `/`-separated */
    files: string[];
};

export type BackendManifest = {
    backend: "vulkan" | "cuda";
    /** the npm package the libraries came from, e.g. `@node-llama-cpp/linux-x64-cuda` */
    package: string;
    /** that package's version: node-llama-cpp's own version, which it publishes its backends at */
    version: string;
    /** the llama.cpp release the libraries were built from (the package's `_nlcBuildMetadata.json`);
     *  a ggml backend only loads next to the ggml-base of the same release */
    llamaCppRelease: string;
    /** paths relative to the folder, `/`-separated */
    files: string[];
    /** the registry's SRI string the download was checked against */
    integrity?: string;
    /** every package the files came from (the main one first); absent from manifests written before the installer recorded them */
    packages?: InstalledPackage[];
    installedAt?: string;
};

export function readBackendManifest(directory: string): BackendManifest | undefined {
    let value: unknown;
    try {
        value = JSON.parse(fs.readFileSync(path.join(directory, BACKEND_MANIFEST_FILE), "utf8"));
    } catch {
        return undefined;
    }
    return isBackendManifest(value) ? value : undefined;
}

export function writeBackendManifest(directory: string, manifest: BackendManifest): void {
    writeFileAtomically(path.join(directory, BACKEND_MANIFEST_FILE), `${JSON.stringify(manifest, null, 4)}\n`);
}

/** the complete installs under a backends folder (one subfolder each); folders without a manifest,
 *  such as an install still in progress (`.partial-*`), are not installs */
export function listInstalledBackends(root: string): {directory: string; manifest: BackendManifest}[] {
    let names: string[];
    try {
        names = fs
            .readdirSync(root)
            .filter((name) => !name.startsWith("."))
            .sort();
    } catch {
        return [];
    }
    const result: {directory: string; manifest: BackendManifest}[] = [];
    for (const name of names) {
        const directory = path.join(root, name);
        const manifest = readBackendManifest(directory);
        if (manifest != null) result.push({directory, manifest});
    }
    return result;
}

function isBackendManifest(value: unknown): value is BackendManifest {
    if (value == null || typeof value !== "object") return false;
    const manifest = value as Record<string, unknown>;
    return (
        (manifest.backend === "vulkan" || manifest.backend === "cuda") &&
        typeof manifest.package === "string" &&
        typeof manifest.version === "string" &&
        typeof manifest.llamaCppRelease === "string" &&
        Array.isArray(manifest.files) &&
        manifest.files.every((file) => typeof file === "string") &&
        (manifest.integrity === undefined || typeof manifest.integrity === "string") &&
        (manifest.packages === undefined || (Array.isArray(manifest.packages) && manifest.packages.every(isInstalledPackage))) &&
        (manifest.installedAt === undefined || typeof manifest.installedAt === "string")
    );
}

function isInstalledPackage(value: unknown): value is InstalledPackage {
    if (value == null || typeof value !== "object") return false;
    const installed = value as Record<string, unknown>;
    return (
        typeof installed.name === "string" &&
        typeof installed.integrity === "string" &&
        Array.isArray(installed.files) &&
        installed.files.every((file) => typeof file === "string")
    );
}
