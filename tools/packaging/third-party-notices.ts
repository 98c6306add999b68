// dist/ThirdPartyNotices.txt (written by stage-native.ts, next to dist/native): the licenses of what the VSIX carries outside node_modules, where a
// package's own LICENSE file would otherwise travel with it. llama.cpp and ggml ship as the libraries in
// dist/native, vscode-jsonrpc is bundled into dist/*.cjs/*.mjs, and the codicon font is copied into
// dist/webview. (node-llama-cpp and its dependencies keep their LICENSE files under node_modules.)
import fs from "node:fs";
import path from "node:path";

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
function notices(): Notice[] {
    return [
        {
            name: "llama.cpp (with ggml)",
            what: "the libraries in dist/native, built from node-llama-cpp's bundled release with Layer Dial's patches",
            version: llamaCppRelease(),
            licenseFiles: ["node_modules/node-llama-cpp/llama/llama.cpp/LICENSE"]
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

export function renderNotices(entries: readonly Notice[] = notices()): string {
    const sections = entries.map((entry) => {
        const texts = entry.licenseFiles.map((file) => {
            const full = path.join(root, file);
            if (!fs.existsSync(full)) throw new Error(`${file} is missing: run npm run build:native (it unpacks llama.cpp) before packaging`);
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
