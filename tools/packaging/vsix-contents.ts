// Reads the file list of a VSIX (a zip) from its central directory, and checks it against what the
// extension needs at run time and what it must not ship. No 'vscode', no dependencies: unit-testable.
import fs from "node:fs";

export type ZipEntry = {name: string; compressedSize: number; size: number};

export class VsixFormatError extends Error {
    override name = "VsixFormatError";
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_HEADER = 0x02014b50;

export function readZipEntries(file: string): ZipEntry[] {
    const data = fs.readFileSync(file);
    // the end record is in the last 22 bytes plus at most a 64 KiB comment
    let end = -1;
    for (let offset = data.length - 22; offset >= Math.max(0, data.length - 22 - 0xffff); offset--) {
        if (data.readUInt32LE(offset) === END_OF_CENTRAL_DIRECTORY) {
            end = offset;
            break;
        }
    }
    if (end < 0) throw new VsixFormatError(`${file} is not a zip file (no end of central directory)`);
    const count = data.readUInt16LE(end + 10);
    let offset = data.readUInt32LE(end + 16);
    const entries: ZipEntry[] = [];
    for (let index = 0; index < count; index++) {
        if (data.readUInt32LE(offset) !== CENTRAL_DIRECTORY_HEADER) throw new VsixFormatError(`${file}: bad central directory entry ${index}`);
        const compressedSize = data.readUInt32LE(offset + 20);
        const size = data.readUInt32LE(offset + 24);
        const nameLength = data.readUInt16LE(offset + 28);
        const extraLength = data.readUInt16LE(offset + 30);
        const commentLength = data.readUInt16LE(offset + 32);
        entries.push({name: data.toString("utf8", offset + 46, offset + 46 + nameLength), compressedSize, size});
        offset += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
}

/** The budget: a linux-x64 VSIX (CPU variants and Vulkan) of at most 60 MB. */
export const MAX_VSIX_BYTES = 60 * 1000 * 1000;

/** The VSIX targets the release workflow builds (.github/workflows/release.yml), each on its own runner. */
export const VSIX_TARGETS = ["linux-x64", "linux-arm64", "darwin-arm64", "darwin-x64", "win32-x64"] as const;
export type VsixTarget = (typeof VSIX_TARGETS)[number];

export function isVsixTarget(value: string): value is VsixTarget {
    return (VSIX_TARGETS as readonly string[]).includes(value);
}

/**
 * What every target's VSIX holds: the bundles, the build record and our addon, the panel, node-llama-cpp's
 * JavaScript, and the Marketplace's documents (vsce stores README.md as readme.md, CHANGELOG.md as
 * changelog.md and LICENSE as LICENSE.txt), with the notices of the third-party code outside node_modules.
 */
export const COMMON_REQUIRED_FILES = [
    "extension/package.json",
    "extension/readme.md",
    "extension/changelog.md",
    "extension/LICENSE.txt",
    "extension/dist/ThirdPartyNotices.txt",
    "extension/dist/extension.cjs",
    "extension/dist/engine/host.mjs",
    // the GPU check's process and its model (engine/native/gpu-probe.ts)
    "extension/dist/engine/gpu-probe.mjs",
    "extension/dist/native/gpu-probe.gguf",
    "extension/dist/native/layer-dial-build.json",
    "extension/dist/native/bins/llama-addon.node",
    "extension/dist/native/bins/_nlcBuildMetadata.json",
    "extension/dist/webview/panel.js",
    "extension/dist/webview/panel.css",
    "extension/dist/webview/codicons/codicon.css",
    "extension/node_modules/node-llama-cpp/package.json",
    "extension/node_modules/node-llama-cpp/dist/index.js",
    "extension/node_modules/node-llama-cpp/llama/binariesGithubRelease.json"
] as const;

/**
 * The native libraries a target must ship, as far as they are known from a build made here: linux-x64 is
 * built and packaged by every `npm run package`. The other targets' library names come from their own
 * runners' builds (the release workflow); until one has been inspected, only the common files are required.
 */
export const TARGET_REQUIRED_FILES: Readonly<Record<VsixTarget, readonly string[]>> = {
    "linux-x64": [
        "extension/dist/native/bins/libggml-base.so",
        // the CPU variants: the baseline every x86-64 runs, and the AMX one that our own compile got wrong
        "extension/dist/native/bins/libggml-cpu-x64.so",
        "extension/dist/native/bins/libggml-cpu-sapphirerapids.so",
        "extension/dist/native/backends/vulkan/libggml-vulkan.so",
        "extension/dist/native/backends/vulkan/layer-dial-backend.json"
    ],
    "linux-arm64": [],
    "darwin-arm64": [],
    "darwin-x64": [],
    "win32-x64": []
};

/** The linux-x64 VSIX's required files (the default target's). */
export const REQUIRED_FILES = [...COMMON_REQUIRED_FILES, ...TARGET_REQUIRED_FILES["linux-x64"]] as const;

/**
 * The images README.md shows from the package itself (relative paths such as media/panel.png), which the
 * VSIX must hold: vsce points the Marketplace page at them, and VS Code's extension page reads them.
 * Absolute http(s) and data: sources are not the package's and are left out.
 */
export function readmeImagePaths(markdown: string): string[] {
    const sources = [
        ...[...markdown.matchAll(/!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => match[1]),
        ...[...markdown.matchAll(/<img\b[^>]*\bsrc=["']([^"']+)["']/gi)].map((match) => match[1])
    ];
    const relative = sources.filter((source) => !/^[a-z][a-z0-9+.-]*:/i.test(source) && !source.startsWith("#"));
    return [...new Set(relative.map((source) => source.replace(/^\.\//, "")))];
}

export type VsixCheckOptions = {
    /** Which target's native files are required. Defaults to linux-x64. */
    target?: VsixTarget;
    /** README.md's images (readmeImagePaths), each required under extension/. Defaults to none. */
    readmeImages?: readonly string[];
};

export const FORBIDDEN_PATTERNS: readonly {pattern: RegExp; why: string}[] = [
    {pattern: /^extension\/node_modules\/@node-llama-cpp\//, why: "node-llama-cpp's prebuilt binaries (dist/native is the one build)"},
    {
        pattern: /^extension\/node_modules\/node-llama-cpp\/llama\/(?!(binariesGithubRelease|llama\.cpp\.info|package)\.json$)/,
        why: "llama.cpp sources and local builds"
    },
    {pattern: /^extension\/(test|native|engine|extension|webview|bench)\//, why: "sources, tests and patches"},
    {pattern: /^extension\/(CONTRIBUTING|ARCHITECTURE)\.md$|^extension\/\.(github|ci)\//, why: "developer documents and CI (README.md is the user's page)"},
    {pattern: /\.ts$/, why: "TypeScript sources"},
    {pattern: /\.map$/, why: "source maps"}
];

export function checkVsix(entries: readonly ZipEntry[], fileBytes: number, options: VsixCheckOptions = {}): string[] {
    const problems: string[] = [];
    if (fileBytes > MAX_VSIX_BYTES) problems.push(`the VSIX is ${(fileBytes / 1e6).toFixed(1)} MB, over the ${MAX_VSIX_BYTES / 1e6} MB budget`);
    const names = new Set(entries.map((entry) => entry.name));
    for (const required of [...COMMON_REQUIRED_FILES, ...TARGET_REQUIRED_FILES[options.target ?? "linux-x64"]]) {
        if (!names.has(required)) problems.push(`missing ${required}`);
    }
    for (const image of options.readmeImages ?? []) {
        if (!names.has(`extension/${image}`)) problems.push(`missing extension/${image}, an image README.md shows (is it left out by .vscodeignore?)`);
    }
    const addons = entries.filter((entry) => entry.name.endsWith("/llama-addon.node"));
    if (addons.length !== 1) problems.push(`expected exactly one llama-addon.node, found ${addons.length}: ${addons.map((entry) => entry.name).join(", ")}`);
    for (const entry of entries) {
        const forbidden = FORBIDDEN_PATTERNS.find(({pattern}) => pattern.test(entry.name));
        if (forbidden !== undefined) problems.push(`${entry.name} should not ship (${forbidden.why})`);
    }
    return problems;
}
