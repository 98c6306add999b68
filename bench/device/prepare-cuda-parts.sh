#!/usr/bin/env bash
# Prepares, on the developer machine (network to the npm registry, `npm run build:native` done), what the
# CUDA check needs on the device machine, which has no network and takes at most 64 MiB of working tree
# per call (tracked + untracked files + the paths named in `carry`):
#   .device/parts/<tarball>.part-NN   node-llama-cpp's CUDA package (npm pack), checked against
#                                     package-lock.json's integrity, split into parts of at most 60 MiB
#   .device/runtime/node_modules.tar.xz   the runtime subset of node_modules (node-llama-cpp without its
#                                     llama.cpp sources, its dependencies, tsx, esbuild, the stock CPU
#                                     prebuilt for `bench speed`'s stock run); no CUDA/Vulkan/arm prebuilts
#   .device/runtime/native.tar.xz     the patched native build (layer-dial-build.json + bins/, no Vulkan)
#   .device/runtime/node.tar.xz       this machine's node binary, stripped (used only where the device has
#                                     no node >= 20)
#   .device/cuda-manifest.json        {file, integrity, parts: [...], runtime, calls}
#   .device/SHA256SUMS                every part and bundle, for the device to check what arrived
# and prints the `run` calls, in order, that carry them: the device keeps ignored files between calls
# only while it stays warm (30 s after a call), so make them back to back.
#   bash bench/device/prepare-cuda-parts.sh [--no-node]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
include_node=1
for argument in "$@"; do
    case "$argument" in
        --no-node) include_node=0 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "prepare-cuda-parts: unknown argument $argument (only --no-node)" >&2; exit 2 ;;
    esac
done

MiB=$((1024 * 1024))
limit_bytes=$((64 * MiB))
max_part_bytes=$((60 * MiB))
package=@node-llama-cpp/linux-x64-cuda
dev=.device

for tool in node npm npx split sha256sum tar xz git; do
    command -v "$tool" >/dev/null || { echo "prepare-cuda-parts: $tool is needed and not on PATH" >&2; exit 1; }
done

# .device/ must be ignored: untracked-not-ignored files travel in every call and count towards its 64 MiB
exclude_file=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude_file")"
touch "$exclude_file"
if ! grep -qxF "/$dev/" "$exclude_file"; then
    echo "/$dev/" >>"$exclude_file"
    echo "added /$dev/ to $exclude_file"
fi
mkdir -p "$dev/parts" "$dev/runtime" "$dev/pack"

version=$(node -p 'require("./node_modules/node-llama-cpp/package.json").version')
expected=$(node -p "
    const entry = require('./package-lock.json').packages['node_modules/$package'];
    if (entry == null || entry.version !== '$version') throw new Error('package-lock.json has no $package@$version');
    const sri = entry.integrity.split(/\s+/).find((hash) => hash.startsWith('sha512-'));
    if (sri == null) throw new Error('package-lock.json gives no sha512 integrity for $package');
    sri")
sri_of() {
    node -e '
        const hash = require("crypto").createHash("sha512");
        const stream = require("fs").createReadStream(process.argv[1]);
        stream.on("data", (chunk) => hash.update(chunk));
        stream.on("end", () => console.log(`sha512-${hash.digest("base64")}`));' "$1"
}

# 1. the CUDA package, exactly as npm publishes it
tarball_name="node-llama-cpp-linux-x64-cuda-$version.tgz"
tarball="$dev/pack/$tarball_name"
if [[ ! -f "$tarball" || "$(sri_of "$tarball")" != "$expected" ]]; then
    rm -f "$tarball"
    echo "npm pack $package@$version ..."
    npm pack "$package@$version" --pack-destination "$dev/pack" --silent >/dev/null
    [[ -f "$tarball" ]] || { echo "prepare-cuda-parts: npm pack wrote no $tarball" >&2; exit 1; }
fi
actual=$(sri_of "$tarball")
if [[ "$actual" != "$expected" ]]; then
    echo "prepare-cuda-parts: $tarball is $actual, but package-lock.json expects $expected" >&2
    exit 1
fi
echo "$tarball_name: $(stat -c %s "$tarball") bytes, integrity matches package-lock.json"

# 2. what the device needs besides it, compressed with xz (tar.gz would take one call more)
native_dir=$(npx tsx -e 'import {buildDirectory, computeBuildKey, defaultBuildOptions} from "./engine/native/build-record.ts"; console.log(buildDirectory(computeBuildKey(defaultBuildOptions())))')
if [[ ! -f "$native_dir/layer-dial-build.json" || ! -f "$native_dir/bins/llama-addon.node" ]]; then
    echo "prepare-cuda-parts: no patched build at $native_dir; run npm run build:native first" >&2
    exit 1
fi
native_id=$(basename "$native_dir")
echo "packing the native build $native_id (bins/ only: CUDA comes from the package above)"
tar -C "$native_dir" -cf - layer-dial-build.json bins | xz -T0 -9 >"$dev/runtime/native.tar.xz.partial"
mv "$dev/runtime/native.tar.xz.partial" "$dev/runtime/native.tar.xz"

# the Vulkan backend of the same build, for `cuda-check.sh --vulkan` (ggml's Vulkan on the NVIDIA driver)
if [[ -f "$native_dir/backends/vulkan/libggml-vulkan.so" ]]; then
    echo "packing the Vulkan backend (for cuda-check.sh --vulkan)"
    tar -C "$native_dir" -cf - backends/vulkan | xz -T0 -9 >"$dev/runtime/vulkan.tar.xz.partial"
    mv "$dev/runtime/vulkan.tar.xz.partial" "$dev/runtime/vulkan.tar.xz"
fi
# the Vulkan loader and the GL dispatch libraries the NVIDIA driver's Vulkan ICD needs: the device image has
# neither (seen 2026-11-30: with libvulkan1 alone, "no Vulkan GPU device found"); Debian's amd64 packages
mkdir -p "$dev/gl"
if command -v apt-get >/dev/null && ! ls "$dev/gl/"libglvnd0_*.deb >/dev/null 2>&1; then
    apt_options=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/layer-dial-apt-lists)
    mkdir -p /tmp/layer-dial-apt-lists/partial
    apt-get "${apt_options[@]}" update >/dev/null 2>&1 || true
    (cd "$dev/gl" && apt-get "${apt_options[@]}" download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 libopengl0 libgles2 >/dev/null 2>&1) ||
        echo "prepare-cuda-parts: could not download the Vulkan loader's packages; the --vulkan call needs them in $dev/gl" >&2
fi
# the trained models for the Lossless bench travel from ../shared/models through a link (read there, never copied in)
if [[ -d ../shared/models && ! -e "$dev/models" ]]; then ln -s ../../shared/models "$dev/models"; fi

# node_modules: package.json's dependencies and their dependency closure (npm's own resolution, read from
# package-lock.json), tsx's closure, and the stock CPU prebuilt; nothing the check does not load
node --input-type=module >"$dev/pack/node_modules.list" <<'EOF'
import fs from "node:fs";
const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
const root = JSON.parse(fs.readFileSync("package.json", "utf8"));
const skip = (name) => name === "typescript" || (name.startsWith("@node-llama-cpp/") && name !== "@node-llama-cpp/linux-x64");
const seen = new Set();
// node's lookup: <from>/node_modules/<name>, then each folder above
function resolve(from, name) {
    for (let base = from; ; ) {
        const candidate = `${base === "" ? "" : `${base}/`}node_modules/${name}`;
        if (lock[candidate] != null && fs.existsSync(candidate))
            return candidate;
        if (base === "")
            return undefined;
        const index = base.lastIndexOf("/node_modules/");
        base = index < 0 ? "" : base.slice(0, index);
    }
}
function walk(location) {
    if (seen.has(location))
        return;
    seen.add(location);
    const entry = lock[location];
    for (const name of Object.keys({...entry.dependencies, ...entry.optionalDependencies, ...entry.peerDependencies})) {
        if (skip(name))
            continue;
        const found = resolve(location, name);
        if (found != null)
            walk(found);
    }
}
for (const name of [...Object.keys(root.dependencies ?? {}), "tsx", "@node-llama-cpp/linux-x64"]) {
    const found = resolve("", name);
    if (found == null)
        throw new Error(`node_modules/${name} is missing: run npm ci`);
    walk(found);
}
console.log([...seen].sort().join("\n"));
EOF
echo "packing $(wc -l <"$dev/pack/node_modules.list") packages of node_modules"
tar -cf - --exclude=node_modules/node-llama-cpp/llama/llama.cpp --exclude=node_modules/node-llama-cpp/llama/gitRelease.bundle \
    --exclude='*.map' --exclude='*.d.ts' -T "$dev/pack/node_modules.list" | xz -T0 -9 >"$dev/runtime/node_modules.tar.xz.partial"
mv "$dev/runtime/node_modules.tar.xz.partial" "$dev/runtime/node_modules.tar.xz"

if [[ $include_node == 1 ]]; then
    node_binary=$(node -p 'process.execPath')
    node_version=$(node --version)
    echo "packing node $node_version ($node_binary)"
    rm -rf "$dev/pack/node"
    mkdir -p "$dev/pack/node/bin"
    if command -v strip >/dev/null; then
        strip -o "$dev/pack/node/bin/node" "$node_binary"
    else
        cp "$node_binary" "$dev/pack/node/bin/node"
    fi
    chmod 755 "$dev/pack/node/bin/node"
    echo "$node_version" >"$dev/pack/node/VERSION"
    tar -C "$dev/pack" -cf - node | xz -T0 -9 >"$dev/runtime/node.tar.xz.partial"
    mv "$dev/runtime/node.tar.xz.partial" "$dev/runtime/node.tar.xz"
    rm -rf "$dev/pack/node"
else
    rm -f "$dev/runtime/node.tar.xz"
fi

# 3. the parts, sized so one part, the manifest and the working tree fit one call
tree_bytes=$( (git ls-files -z --cached --others --exclude-standard | xargs -0 stat -c %s 2>/dev/null || true) | awk '{sum += $1} END {print sum + 0}')
slack=$((256 * 1024))
part_bytes=$(( (limit_bytes - tree_bytes - slack) / MiB * MiB ))
(( part_bytes > max_part_bytes )) && part_bytes=$max_part_bytes
if (( part_bytes < 8 * MiB )); then
    echo "prepare-cuda-parts: the working tree alone is $((tree_bytes / 1024)) KiB; too little of the 64 MiB is left for parts" >&2
    exit 1
fi
rm -f "$dev/parts/"*
split -b "$part_bytes" -d -a 2 "$tarball" "$dev/parts/$tarball_name.part-"
echo "split into parts of at most $((part_bytes / MiB)) MiB (the working tree is $((tree_bytes / 1024)) KiB)"

(cd "$dev" && sha256sum parts/* runtime/* | sed 's|  |  .device/|') >"$dev/SHA256SUMS"

# 4. the manifest, with the calls: the runtime bundles and the smallest parts first (the first call sets up
#    node, node_modules and the fixtures while the rest is on its way), then one call per remaining part
TREE_BYTES=$tree_bytes LIMIT_BYTES=$limit_bytes VERSION=$version INTEGRITY=$expected TARBALL="$tarball" \
NATIVE_ID=$native_id PACKAGE=$package INCLUDE_NODE=$include_node node --input-type=module <<'EOF'
import fs from "node:fs";
import path from "node:path";
const env = process.env;
const MiB = 1024 * 1024;
const sums = new Map(fs.readFileSync(".device/SHA256SUMS", "utf8").trim().split("\n").map((line) => {
    const [hash, file] = line.split(/\s+/);
    return [file, hash];
}));
const describe = (file) => ({file, bytes: fs.statSync(file).size, sha256: sums.get(file)});
const parts = fs.readdirSync(".device/parts").sort().map((name) => describe(`.device/parts/${name}`));
const runtime = {
    node: env.INCLUDE_NODE === "1" ? {...describe(".device/runtime/node.tar.xz"), version: process.version} : null,
    nodeModules: describe(".device/runtime/node_modules.tar.xz"),
    native: {...describe(".device/runtime/native.tar.xz"), id: env.NATIVE_ID},
    vulkan: fs.existsSync(".device/runtime/vulkan.tar.xz") ? describe(".device/runtime/vulkan.tar.xz") : null
};
const meta = [".device/cuda-manifest.json", ".device/SHA256SUMS"];
const metaBytes = 64 * 1024; // the manifest and the sums, generously
const capacity = Number(env.LIMIT_BYTES) - Number(env.TREE_BYTES) - metaBytes;

const calls = [{paths: [".device/runtime"], bytes: Object.values(runtime).reduce((sum, item) => sum + (item?.bytes ?? 0), 0)}];
for (const part of [...parts].sort((a, b) => a.bytes - b.bytes)) {
    const call = calls.find((candidate) => candidate.bytes + part.bytes <= capacity && candidate.paths.length + meta.length < 8);
    if (call != null) {
        call.paths.push(part.file);
        call.bytes += part.bytes;
    } else
        calls.push({paths: [part.file], bytes: part.bytes});
}
if (calls[0].bytes > capacity)
    throw new Error(`the runtime bundles alone are ${(calls[0].bytes / MiB).toFixed(1)} MiB, over the ${(capacity / MiB).toFixed(1)} MiB a call can carry`);
const manifest = {
    package: env.PACKAGE,
    version: env.VERSION,
    file: path.basename(env.TARBALL),
    bytes: fs.statSync(env.TARBALL).size,
    integrity: env.INTEGRITY,
    parts,
    runtime,
    calls: calls.map((call, index) => ({
        carry: [...meta, ...call.paths],
        command: index < calls.length - 1 ? "bash bench/device/cuda-check.sh --stage" : "bash bench/device/cuda-check.sh",
        timeout_s: index === 0 ? 240 : index < calls.length - 1 ? 120 : 600,
        carriedMiB: Number(((call.bytes + Number(env.TREE_BYTES)) / MiB).toFixed(1))
    }))
};
fs.writeFileSync(".device/cuda-manifest.json", `${JSON.stringify(manifest, null, 2)}\n`);

const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;
console.log(`\n${manifest.file}: ${mib(manifest.bytes)} in ${parts.length} parts (${parts.map((part) => mib(part.bytes)).join(", ")})`);
for (const [name, item] of Object.entries(runtime))
    if (item != null)
        console.log(`${name}: ${item.file} ${mib(item.bytes)}`);
console.log(`working tree that travels with every call: ${mib(Number(env.TREE_BYTES))}`);
console.log(`\nMake these ${manifest.calls.length} device calls back to back (each call finds only what it carries in the repo; cuda-check.sh keeps what arrived in /tmp, which lasts while the machine stays warm, 30 s after a call):`);
for (const [index, call] of manifest.calls.entries())
    console.log(`${index + 1}. run ${JSON.stringify({command: call.command, carry: call.carry, timeout_s: call.timeout_s})}   # ${call.carriedMiB} MiB with the tree`);
console.log("Each stage call says which parts have arrived; if one says an earlier part is missing, the machine was recycled: start again at call 1.");
console.log("The trained models for the Lossless bench (.device/models/pycode-16L.gguf, 12.5 MiB; stories260K.gguf, 1.1 MiB) ride in a stage call of their own, or beside the smallest part.");
const vulkanCarry = [...meta, ".device/runtime", ".device/gl", ".device/models/pycode-16L.gguf", ".device/models/stories260K.gguf"];
console.log(`\nVulkan on the NVIDIA driver instead, in one call:\n   run ${JSON.stringify({command: "bash bench/device/cuda-check.sh --vulkan", carry: vulkanCarry, timeout_s: 540})}`);
EOF
