// dist/ThirdPartyNotices.txt (written by stage-native.ts, next to dist/native): the licenses of what the VSIX carries outside node_modules, where a
// package's own LICENSE file would otherwise travel with it. llama.cpp and ggml ship as the libraries in
// dist/native, vscode-jsonrpc is bundled into dist/*.cjs/*.mjs, and the codicon font is copied into
// dist/webview. (node-llama-cpp and its dependencies keep their LICENSE files under node_modules.)
import fs from "node:fs";
import path from "node:path";
import {LLAMA_CPP_LICENSE_FILE} from "../../engine/native/build-record.js";

const root = path.resolve(import.meta.dirname, "../..");

type Notice = {name: string; what: string; version: string; licenseFiles: string[]};

function packageVersion(packageDirectory: string): string {
    return (JSON.parse(fs.readFileSync(path.join(root, packageDirectory, "package.json"), "utf8")) as {version: string}).version;
}

function llamaCppRelease(): string {
    const info = JSON.parse(fs.readFileSync(path.join(root, "node_modules/node-llama-cpp/llama/llama.cpp.info.json"), "utf8")) as {tag?: string};
    return info.tag ?? "unknown";
}

/** each entry's license files, relative to the repository; a missing one fails the package step */
function notices(nativeBuildDirectory: string): Notice[] {
    return [
        {
            name: "llama.cpp (with ggml)",
            what: "the libraries in dist/native, built from node-llama-cpp's bundled release with Layer Dial's patches",
            version: llamaCppRelease(),
            // the native build keeps it: a cached build leaves no llama.cpp sources in node_modules
            licenseFiles: [path.join(nativeBuildDirectory, LLAMA_CPP_LICENSE_FILE)]
        },
        {
            name: "vscode-jsonrpc",
            what: "bundled into dist/extension.cjs and dist/engine/host.mjs",
            version: packageVersion("node_modules/vscode-jsonrpc"),
            licenseFiles: ["node_modules/vscode-jsonrpc/License.txt"]
        },
        {
            name: "@vscode/codicons",
            what: "the icon font and stylesheet in dist/webview/codicons (the font under CC BY 4.0, the code under MIT)",
            version: packageVersion("node_modules/@vscode/codicons"),
            licenseFiles: ["node_modules/@vscode/codicons/LICENSE", "node_modules/@vscode/codicons/LICENSE-CODE"]
        }
    ];
}

/** the notices, with llama.cpp's license taken from the native build folder being staged */
export function renderNotices(nativeBuildDirectory: string): string {
    const sections = notices(nativeBuildDirectory).map((entry) => {
        const texts = entry.licenseFiles.map((file) => {
            const full = path.resolve(root, file);
            if (!fs.existsSync(full)) throw new Error(`${file} is missing: run npm run build:native -- --force, then package again`);
            return fs
                .readFileSync(full, "utf8")
                .replace(/^\uFEFF/, "")
                .trim();
        });
        return [`${entry.name} ${entry.version}`, `(${entry.what})`, "", ...texts.flatMap((text) => [text, ""])].join("\n");
    });
    return [
        "Layer Dial includes the third-party software below. Its own license is in LICENSE.",
        "",
        ...sections.flatMap((section) => ["=".repeat(78), section])
    ].join("\n");
}
