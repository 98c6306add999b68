#!/usr/bin/env bash
# The CUDA check, run ON the device machine from the repo root, fed by prepare-cuda-parts.sh's calls:
#   bash bench/device/cuda-check.sh --stage   (every call but the last) keeps what the call carried in
#       /tmp/layer-dial-device (the device keeps nothing in the repo between calls), sets up node,
#       node_modules and the patched build from .device/runtime, writes the fixtures (the 1.3 GB bench model
#       takes seconds), and says which CUDA parts are still to come
#   bash bench/device/cuda-check.sh           (the last call) the same, then: reassembles the CUDA tarball,
#       checks its sha512 against the manifest (package-lock.json's integrity), installs it with
#       `layer-dial gpu install cuda` from a loopback registry (bench/device/local-registry.ts) into
#       /tmp/backends, prints nvidia-smi, runs bench/device/cuda-exactness.ts, then the benches below
#   bash bench/device/cuda-check.sh --vulkan  (one call, no CUDA parts) the same checks and benches through
#       ggml's Vulkan backend on the NVIDIA driver, with the loader's packages from .device/gl
# The benches: `layer-dial-bench speed` on the bench model, then `lossless` on the trained models carried in
# .device/models (pycode-16L, stories260K) and on the bench model, each within its share of the time.
# Results go to $OUT (cuda-check.log, summary.txt, exactness[-vulkan].json, speed-<gpu>.json,
# lossless-*.json). Exit status: 0 all passed; 1 a step failed; 2 parts missing or corrupt.
# Environment: SPEED_RUNS (bench speed --runs, default 3), SPEED_SECONDS (its share, default 230),
# CHECK_DEADLINE_S (default 570: the whole script ends before the device's 600 s limit), BACKENDS_DIR
# (/tmp/backends), DEVICE_STASH (/tmp/layer-dial-device).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
stage=0
gpu=cuda
case "${1:-}" in
    --stage) stage=1 ;;
    # the same checks through ggml's Vulkan backend on the NVIDIA driver, in one call: carry .device/runtime
    # (with vulkan.tar.xz, the backend from node-llama-cpp's Vulkan package) and .device/gl (the Vulkan loader's .deb)
    --vulkan) gpu=vulkan ;;
    "") ;;
    *) echo "cuda-check: unknown argument $1 (only --stage or --vulkan)" >&2; exit 2 ;;
esac

OUT=${OUT:-/tmp/cuda-check-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
summary=$OUT/summary.txt
exec > >(tee -a "$OUT/cuda-check.log") 2>&1
tee_pid=$!
registry_pid=""
cleanup() {
    if [[ -n "$registry_pid" ]]; then kill "$registry_pid" 2>/dev/null || true; fi
    # let tee write the last lines before the call collects $OUT
    exec 1>&- 2>&-
    wait "$tee_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo "cuda-check: FAILED at line $LINENO: $BASH_COMMAND" | tee -a "$summary"' ERR

deadline=${CHECK_DEADLINE_S:-570}
backends=${BACKENDS_DIR:-/tmp/backends}
dev=.device
manifest=$dev/cuda-manifest.json
failures=()
: >"$summary"

step() { printf '\n=== [%4ds] %s\n' "$SECONDS" "$*"; }
note() { echo "$*" | tee -a "$summary"; }
left() { echo $((deadline - SECONDS)); }
finish() {
    if (( ${#failures[@]} > 0 )); then
        note "RESULT: FAILED (${failures[*]}) after ${SECONDS} s"
        exit 1
    fi
    note "RESULT: $1 after ${SECONDS} s"
    exit 0
}
# stop with status $1 and the reason: 2 = what the calls carried is missing or corrupt, 1 = a step failed
stop() {
    note "RESULT: STOPPED: $2 after ${SECONDS} s"
    exit "$1"
}

# xz through tar when there is an xz, else through python3's tarfile (the device image has python3)
extract_xz() {
    local archive=$1 target=$2
    mkdir -p "$target"
    if command -v xz >/dev/null; then
        tar -C "$target" -xJf "$archive"
    elif command -v python3 >/dev/null; then
        python3 - "$archive" "$target" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1], "r:xz") as archive:
    try:
        archive.extractall(sys.argv[2], filter="tar")
    except TypeError:
        archive.extractall(sys.argv[2])
EOF
    else
        echo "cuda-check: neither xz nor python3 is here to unpack $archive" >&2
        return 1
    fi
}

# a bundle is unpacked once per device machine: its stamp holds the bundle's sha256
stamp_matches() { [[ -f "$stash/.unpacked-$1" && "$(cat "$stash/.unpacked-$1")" == "$2" ]]; }
sum_of() { awk -v file="$1" '$2 == file {print $1}' "$dev/SHA256SUMS"; }

# The device does not keep what a call carried into the repo (ignored or not) for the next call, but /tmp
# stays while the machine is warm: keep every carried file there, and put back what an earlier call brought
stash=${DEVICE_STASH:-/tmp/layer-dial-device}
step "keep what was carried (in $stash)"
mkdir -p "$stash"
for kept in "$dev/parts" "$dev/runtime" "$dev/models" "$dev/gl"; do
    if [[ -d "$kept" ]]; then
        while IFS= read -r -d '' file; do
            [[ -L "$file" ]] && continue
            mkdir -p "$stash/$(dirname "$file")"
            cp -f "$file" "$stash/$file"
            echo "kept:     $file"
        done < <(find "$kept" -type f -print0)
    fi
    if [[ -d "$stash/$kept" ]]; then
        while IFS= read -r -d '' file; do
            local_path=${file#"$stash/"}
            [[ -e "$local_path" ]] && continue
            mkdir -p "$(dirname "$local_path")"
            ln -s "$file" "$local_path"
            echo "restored: $local_path"
        done < <(find "$stash/$kept" -type f -print0)
    fi
done

step "machine"
{
    echo "date: $(date -u +%FT%TZ)"
    echo "host: $(uname -srm)"
    grep -m1 'model name' /proc/cpuinfo || true
    echo "cores: $(nproc)"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || echo "nvidia-smi: not working"
    echo "system node: $(command -v node >/dev/null && node --version || echo none)"
    echo "xz: $(command -v xz || echo none); python3: $(command -v python3 || echo none)"
    # libggml-cuda.so needs the CUDA 13 runtime (libcudart.so.13, libcublas.so.13) and the driver's libcuda.so.1
    echo "CUDA libraries in the loader cache: $(ldconfig -p 2>/dev/null | grep -oE 'lib(cudart|cublas|cublasLt|cuda)\.so\.[0-9]+' | sort -u | tr '\n' ' ')"
    echo "disk: $(df -h . | awk 'NR == 2 {print $4 " free"}')"
} | tee /tmp/cuda-check-env.txt

step "what has arrived"
[[ -f "$manifest" && -f "$dev/SHA256SUMS" ]] || stop 2 "missing $manifest or $dev/SHA256SUMS: carry both in every call"
missing=()
corrupt=()
while read -r hash file; do
    if [[ ! -f "$file" ]]; then
        # a runtime bundle already unpacked on this machine is not needed again
        [[ "$file" == "$dev/runtime/"* ]] && stamp_matches "$(basename "$file")" "$hash" && { echo "unpacked earlier: $file"; continue; }
        missing+=("$file")
        echo "missing: $file"
    elif [[ "$(sha256sum "$file" | cut -d' ' -f1)" != "$hash" ]]; then
        corrupt+=("$file")
        echo "CORRUPT: $file"
    else
        echo "here:    $file ($(stat -L -c %s "$file") bytes)"
    fi
done <"$dev/SHA256SUMS"
if (( ${#corrupt[@]} > 0 )); then
    stop 2 "corrupt: ${corrupt[*]}: carry them again"
fi

step "node"
node_ok() { command -v node >/dev/null && (( $(node -p 'process.versions.node.split(".")[0]') >= 20 )); }
if ! node_ok; then
    node_bundle=$dev/runtime/node.tar.xz
    if [[ -f "$node_bundle" ]] && ! stamp_matches node.tar.xz "$(sum_of "$node_bundle")"; then
        extract_xz "$node_bundle" "$stash"
        sum_of "$node_bundle" >"$stash/.unpacked-node.tar.xz"
    fi
    [[ -x "$stash/node/bin/node" ]] || stop 2 "no node >= 20 here and no carried node ($node_bundle, in call 1)"
    export PATH="$stash/node/bin:$PATH"
fi
note "node $(node --version) at $(command -v node)"

step "node_modules"
modules_bundle=$dev/runtime/node_modules.tar.xz
# never replaces a node_modules that is there: on a developer's machine that is the real one
if [[ -d node_modules/node-llama-cpp && -d node_modules/tsx ]]; then
    echo "node_modules is here"
elif [[ -f "$modules_bundle" ]]; then
    if ! stamp_matches node_modules.tar.xz "$(sum_of "$modules_bundle")"; then
        rm -rf "$stash/modules"
        extract_xz "$modules_bundle" "$stash/modules"
        sum_of "$modules_bundle" >"$stash/.unpacked-node_modules.tar.xz"
        echo "unpacked $modules_bundle"
    fi
    rm -rf node_modules
    ln -s "$stash/modules/node_modules" node_modules
else
    stop 2 "no node_modules and no $modules_bundle: the machine was recycled since call 1; start again at call 1"
fi

step "patched native build"
native_id=$(node -p "require('./$manifest').runtime.native.id")
native_dir=$stash/native/$native_id
native_bundle=$dev/runtime/native.tar.xz
if [[ ! -f "$native_dir/bins/llama-addon.node" ]]; then
    [[ -f "$native_bundle" ]] || stop 2 "no $native_bundle: start again at call 1"
    extract_xz "$native_bundle" "$native_dir"
    sum_of "$native_bundle" >"$stash/.unpacked-native.tar.xz"
fi
export LAYER_DIAL_NATIVE_DIR=$native_dir
echo "LAYER_DIAL_NATIVE_DIR=$LAYER_DIAL_NATIVE_DIR"

if [[ $gpu == vulkan ]]; then
    step "Vulkan: the backend and the loader"
    vulkan_bundle=$dev/runtime/vulkan.tar.xz
    [[ -f "$vulkan_bundle" ]] || stop 2 "no $vulkan_bundle: carry .device/runtime"
    [[ -f "$native_dir/backends/vulkan/libggml-vulkan.so" ]] || extract_xz "$vulkan_bundle" "$native_dir"
    # the Vulkan loader and the GL dispatch libraries (libglvnd) that NVIDIA's Vulkan driver loads through:
    # the device image has none of them, and with the loader alone no device is found
    if compgen -G "$dev/gl/*.deb" >/dev/null; then
        for deb in "$dev"/gl/*.deb; do dpkg -x "$deb" /; done
        ldconfig
    fi
    icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    if [[ -f "$icd" && -z "${VK_DRIVER_FILES:-}" ]]; then export VK_DRIVER_FILES=$icd; fi
    note "Vulkan loader: $(ldconfig -p | grep -o 'libvulkan.so.1 .*' | head -1); VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
fi

step "fixtures"
node --import tsx bench/device/write-fixtures.ts --bench

if [[ $gpu == vulkan ]]; then
    step "exactness on Vulkan (bench/device/cuda-exactness.ts --gpu vulkan)"
    status=0
    timeout --kill-after=10 90 node --import tsx bench/device/cuda-exactness.ts --gpu vulkan --json "$OUT/exactness-vulkan.json" || status=$?
    (( status == 0 )) || failures+=("exactness")
    note "exactness on Vulkan: exit status $status"
else

parts_missing=()
for part in $(node -p "require('./$manifest').parts.map((part) => part.file).join(' ')"); do
    [[ -f "$part" ]] || parts_missing+=("$part")
done
if (( stage == 1 )); then
    if (( ${#parts_missing[@]} > 0 )); then
        finish "stage ready; CUDA parts still to come: ${parts_missing[*]}"
    fi
    finish "stage ready; every CUDA part is here: run the last call (cuda-check.sh without --stage)"
fi
if (( ${#parts_missing[@]} > 0 )); then
    stop 2 "CUDA parts missing: ${parts_missing[*]}. Carry them (the machine keeps parts only while warm, 30 s after a call)"
fi

step "reassemble and check the CUDA tarball"
tarball_name=$(node -p "require('./$manifest').file")
integrity=$(node -p "require('./$manifest').integrity")
work=/tmp/cuda-check
mkdir -p "$work"
tarball=$work/$tarball_name
# shellcheck disable=SC2046
cat $(node -p "require('./$manifest').parts.map((part) => part.file).join(' ')") >"$tarball"
actual=$(node -e '
    const hash = require("crypto").createHash("sha512");
    const stream = require("fs").createReadStream(process.argv[1]);
    stream.on("data", (chunk) => hash.update(chunk));
    stream.on("end", () => console.log(`sha512-${hash.digest("base64")}`));' "$tarball")
if [[ "$actual" != "$integrity" ]]; then
    stop 2 "the reassembled $tarball_name is $actual, not the manifest's $integrity"
fi
note "$tarball_name: $(stat -c %s "$tarball") bytes, sha512 matches the manifest"

step "install with layer-dial gpu install cuda from a loopback registry"
rm -f "$work/port"
node --import tsx bench/device/local-registry.ts --tarball "$tarball" --integrity "$integrity" --port-file "$work/port" &
registry_pid=$!
for _ in $(seq 1 100); do
    [[ -s "$work/port" ]] && break
    kill -0 "$registry_pid" 2>/dev/null || stop 1 "the loopback registry exited"
    sleep 0.1
done
[[ -s "$work/port" ]] || stop 1 "the loopback registry did not start"
# the installer replaces an earlier install by rename, so a rerun on a warm machine needs no clean-up
if node --import tsx engine/cli/bin.ts gpu install cuda --registry "http://127.0.0.1:$(cat "$work/port")" --dir "$backends" --json /tmp/cuda-check-install.json; then
    note "installed: $(node -p "const r = require('/tmp/cuda-check-install.json'); r.directory + ' (' + r.manifest.package + '@' + r.manifest.version + ', llama.cpp ' + r.manifest.llamaCppRelease + ')'")"
else
    stop 1 "gpu install cuda failed"
fi
kill "$registry_pid" 2>/dev/null || true
registry_pid=""
rm -f "$tarball"
export LAYER_DIAL_BACKENDS_DIR=$backends

step "CUDA runtime libraries"
cuda_lib=$(ls "$backends"/cuda-*/libggml-cuda.so | head -1)
unresolved() { ldd "$cuda_lib" | awk '/not found/ && $1 != "libggml-base.so" {print $1}'; }
if [[ -n "$(unresolved)" ]]; then
    # libcudart.so.13 and libcublas(Lt).so.13: the CUDA 13 toolkit, or the nvidia-* Python wheels
    roots=(/usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib64 /usr/local/cuda-13*/lib
        /usr/local/nvidia/lib64 /usr/local/nvidia/lib)
    if command -v python3 >/dev/null; then
        site=$(python3 -c 'import nvidia, os; print(os.path.dirname(list(nvidia.__path__)[0]))' 2>/dev/null || true)
        if [[ -n "$site" ]]; then roots+=("$site/nvidia"); fi
    fi
    for library in $(unresolved); do
        found=$(find "${roots[@]}" -name "$library" 2>/dev/null | head -1 || true)
        if [[ -n "$found" ]]; then export LD_LIBRARY_PATH="$(dirname "$found")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
    done
    echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
fi
(ldd "$cuda_lib" | grep -E 'cud|cublas' || true) 
if [[ -n "$(unresolved)" ]]; then
    stop 1 "libggml-cuda.so needs $(unresolved | tr '\n' ' ')and they are not on this machine"
fi

step "nvidia-smi"
nvidia-smi || failures+=("nvidia-smi")

step "exactness on CUDA (bench/device/cuda-exactness.ts)"
status=0
timeout --kill-after=10 "$(( $(left) > 150 ? 150 : $(left) ))" node --import tsx bench/device/cuda-exactness.ts --backends "$backends" --json "$OUT/exactness.json" || status=$?
if (( status == 0 )); then
    note "exactness: $(node -p "const s = require('$OUT/exactness.json'); s.passed + ' of ' + (s.passed + s.failed) + ' passed on ' + s.backend.devices.join(', ')")"
else
    failures+=("exactness")
    [[ -f "$OUT/exactness.json" ]] && note "exactness: $(node -p "const s = require('$OUT/exactness.json'); s.failed + ' failed: ' + s.results.filter((r) => !r.ok).map((r) => r.name + ' (' + r.error + ')').join('; ')")" \
        || note "exactness: exit status $status, no results (CUDA did not load, or it ran out of time)"
fi

fi

# one benchmark: at most $2 seconds and never past the deadline; its JSON goes to $3
bench() {
    local name=$1 cap=$2 json=$3
    shift 3
    local budget=$(( $(left) - 10 ))
    (( budget > cap )) && budget=$cap
    if (( budget < 30 )); then
        note "$name: skipped, only $(( $(left) - 10 )) s left"
        failures+=("$name-skipped")
        return
    fi
    step "$name (at most $budget s)"
    local started=$SECONDS status=0
    timeout --kill-after=10 "$budget" "$@" --json "$json" || status=$?
    if (( status == 0 )); then
        note "$name: done in $((SECONDS - started)) s, $(basename "$json")"
    else
        note "$name: exit status $status after $((SECONDS - started)) s$( (( status == 124 || status == 137 )) && echo " (out of time)")"
        failures+=("$name")
    fi
}

bench_model=test/.fixtures/bench-llama-24L-2048.gguf
models=$dev/models
# the dial's promises on CUDA: every target at batch 1 and 4, short and long context (issue 16)
bench "bench speed" "${SPEED_SECONDS:-230}" "$OUT/speed-$gpu.json" node bench/bin.mjs speed --model "$bench_model" --gpu "$gpu" \
    --runs "${SPEED_RUNS:-3}" --rounds 3 --tokens 32
# Lossless against Quality on CUDA (issue 14): the trained models where they were carried, then the bench model
if [[ -f "$models/pycode-16L.gguf" ]]; then
    bench "lossless pycode-16L" 70 "$OUT/lossless-pycode.json" node bench/bin.mjs lossless --model "$models/pycode-16L.gguf" --gpu "$gpu" \
        --runs 8 --tokens 128 --drafter-state off
fi
if [[ -f "$models/stories260K.gguf" ]]; then
    bench "lossless stories260K" 50 "$OUT/lossless-stories.json" node bench/bin.mjs lossless --model "$models/stories260K.gguf" --gpu "$gpu" \
        --text bench/texts/story.txt --runs 8 --tokens 128 --drafter-state off
fi
bench "lossless 24L" 80 "$OUT/lossless-24L.json" node bench/bin.mjs lossless --model "$bench_model" --gpu "$gpu" \
    --runs 4 --tokens 64 --drafter-state off

finish "all passed"
