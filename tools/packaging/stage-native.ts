// Copies the patched llama.cpp build from the native build cache into dist/native, where the installed
// extension tells the engine host to load it from (LAYER_DIAL_NATIVE_DIR): layer-dial-build.json, bins/
// (our addon and libllama, node-llama-cpp's ggml base and CPU variants) and backends/vulkan/. This is the
// only native build a VSIX ships: not node-llama-cpp's prebuilt addons, not the llama.cpp sources. It also
// writes dist/ThirdPartyNotices.txt (third-party-notices.ts).
// Usage: tsx tools/packaging/stage-native.ts [--require]   (--require: fail when there is no build)
import fs from "node:fs";
import path from "node:path";
import {buildDirectory, computeBuildKey, defaultBuildOptions, projectRoot, readBuildInfo} from "../../engine/native/build-record.js";
import {GPU_PROBE_MODEL_FILE} from "../../engine/native/gpu-probe.js";
import {renderNotices} from "./third-party-notices.js";

const required = process.argv.includes("--require");
const unknown = process.argv.slice(2).filter((arg) => arg !== "--require");
if (unknown.length > 0) {
    console.error(`stage-native: unknown argument ${unknown.join(" ")}; the only option is --require`);
    process.exit(2);
}

const key = computeBuildKey(defaultBuildOptions());
const source = buildDirectory(key);
const sourceInfo = readBuildInfo(source);
const target = path.join(projectRoot, "dist", "native");

if (sourceInfo === undefined) {
    const message = `stage-native: no patched llama.cpp build for ${key.id} at ${source}; run "npm run build:native" first.`;
    if (required) {
        console.error(message);
        process.exit(1);
    }
    console.warn(`${message} The extension will say so when a command needs the engine.`);
    process.exit(0);
}

// the licenses of what dist/ carries from others (llama.cpp's among them), rewritten on every staging
fs.mkdirSync(path.join(projectRoot, "dist"), {recursive: true});
fs.writeFileSync(path.join(projectRoot, "dist", "ThirdPartyNotices.txt"), renderNotices(source));

const staged = readBuildInfo(target);
// (a build staged before the GPU check's model was written beside it is staged again)
if (
    staged?.id === sourceInfo.id &&
    staged.builtAt === sourceInfo.builtAt &&
    fs.existsSync(path.join(target, "bins", "llama-addon.node")) &&
    fs.existsSync(path.join(source, GPU_PROBE_MODEL_FILE)) === fs.existsSync(path.join(target, GPU_PROBE_MODEL_FILE))
) {
    console.log(`stage-native: dist/native already holds ${sourceInfo.id}`);
    process.exit(0);
}

// a fresh folder, so files of an older build never linger next to the new ones
fs.rmSync(target, {recursive: true, force: true});
fs.cpSync(source, target, {recursive: true, dereference: true});
let bytes = 0;
for (const entry of fs.readdirSync(target, {withFileTypes: true, recursive: true}))
    if (entry.isFile()) bytes += fs.statSync(path.join(entry.parentPath, entry.name)).size;
console.log(`stage-native: copied ${sourceInfo.id} (${(bytes / 1e6).toFixed(1)} MB) into dist/native`);
