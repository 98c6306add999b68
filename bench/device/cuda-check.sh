#!/usr/bin/env bash
# The CUDA check, run ON the device machine from the repo root, fed by prepare-cuda-parts.sh's calls:
#   bash bench/device/cuda-check.sh --stage   (every call but the last) checks what has arrived, sets up
#       node, node_modules and the patched build from .device/runtime, writes the fixtures (the 1.3 GB
#       bench model takes seconds), and says which CUDA parts are still to come
#   bash bench/device/cuda-check.sh           (the last call) the same, then: reassembles the CUDA tarball,
#       checks its sha512 against the manifest (package-lock.json's integrity), installs it with
#       `layer-dial gpu install cuda` from a loopback registry (bench/device/local-registry.ts) into
#       /tmp/backends, prints nvidia-smi, runs bench/device/cuda-exactness.ts, then
#       `layer-dial-bench speed --gpu cuda` (bench/bin.mjs) on the bench model
# Logs and results go to $OUT (cuda-check.log, env.txt, install.json, exactness.json, speed-cuda.json,
# summary.txt). Exit status: 0 all passed; 1 a step failed; 2 parts missing or corrupt.
# Environment: SPEED_RUNS (bench speed --runs, default 3), CHECK_DEADLINE_S (default 570: the whole
# script ends before the device's 600 s limit; the bench gets what is left), BACKENDS_DIR (/tmp/backends).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
stage=0
case "${1:-}" in
    --stage) stage=1 ;;
    "") ;;
    *) echo "cuda-check: unknown argument $1 (only --stage)" >&2; exit 2 ;;
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
stamp_matches() { [[ -f "$dev/.unpacked-$1" && "$(cat "$dev/.unpacked-$1")" == "$2" ]]; }
sum_of() { awk -v file="$1" '$2 == file {print $1}' "$dev/SHA256SUMS"; }

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
} | tee "$OUT/env.txt"

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
        echo "here:    $file ($(stat -c %s "$file") bytes)"
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
        extract_xz "$node_bundle" "$dev"
        sum_of "$node_bundle" >"$dev/.unpacked-node.tar.xz"
    fi
    [[ -x "$dev/node/bin/node" ]] || stop 2 "no node >= 20 here and no carried node ($node_bundle, in call 1)"
    export PATH="$PWD/$dev/node/bin:$PATH"
fi
note "node $(node --version) at $(command -v node)"

step "node_modules"
modules_bundle=$dev/runtime/node_modules.tar.xz
# never replaces a node_modules that is there: on a developer's machine that is the real one
if [[ -d node_modules/node-llama-cpp && -d node_modules/tsx ]]; then
    echo "node_modules is here"
elif [[ -f "$modules_bundle" ]]; then
    extract_xz "$modules_bundle" .
    sum_of "$modules_bundle" >"$dev/.unpacked-node_modules.tar.xz"
    echo "unpacked $modules_bundle"
else
    stop 2 "no node_modules and no $modules_bundle: the machine was recycled since call 1; start again at call 1"
fi

step "patched native build"
native_id=$(node -p "require('./$manifest').runtime.native.id")
native_dir=$dev/native/$native_id
native_bundle=$dev/runtime/native.tar.xz
if [[ ! -f "$native_dir/bins/llama-addon.node" ]]; then
    [[ -f "$native_bundle" ]] || stop 2 "no $native_bundle: start again at call 1"
    extract_xz "$native_bundle" "$native_dir"
    sum_of "$native_bundle" >"$dev/.unpacked-native.tar.xz"
fi
export LAYER_DIAL_NATIVE_DIR=$PWD/$native_dir
echo "LAYER_DIAL_NATIVE_DIR=$LAYER_DIAL_NATIVE_DIR"

step "fixtures"
node --import tsx bench/device/write-fixtures.ts --bench

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
if node --import tsx engine/cli/bin.ts gpu install cuda --registry "http://127.0.0.1:$(cat "$work/port")" --dir "$backends" --json "$OUT/install.json"; then
    note "installed: $(node -p "const r = require('$OUT/install.json'); r.directory + ' (' + r.manifest.package + '@' + r.manifest.version + ', llama.cpp ' + r.manifest.llamaCppRelease + ')'")"
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
(ldd "$cuda_lib" | grep -E 'cud|cublas' || true) | tee -a "$OUT/env.txt"
if [[ -n "$(unresolved)" ]]; then
    stop 1 "libggml-cuda.so needs $(unresolved | tr '\n' ' ')and they are not on this machine"
fi

step "nvidia-smi"
nvidia-smi || failures+=("nvidia-smi")

step "exactness on CUDA (bench/device/cuda-exactness.ts)"
status=0
timeout --kill-after=10 "$(( $(left) > 240 ? 240 : $(left) ))" node --import tsx bench/device/cuda-exactness.ts --backends "$backends" --json "$OUT/exactness.json" || status=$?
if (( status == 0 )); then
    note "exactness: $(node -p "const s = require('$OUT/exactness.json'); s.passed + ' of ' + (s.passed + s.failed) + ' passed on ' + s.backend.devices.join(', ')")"
else
    failures+=("exactness")
    [[ -f "$OUT/exactness.json" ]] && note "exactness: $(node -p "const s = require('$OUT/exactness.json'); s.failed + ' failed: ' + s.results.filter((r) => !r.ok).map((r) => r.name + ' (' + r.error + ')').join('; ')")" \
        || note "exactness: exit status $status, no results (CUDA did not load, or it ran out of time)"
fi

step "bench speed on CUDA"
budget=$(( $(left) - 10 ))
if (( budget < 60 )); then
    note "bench speed: skipped, only ${budget} s left"
    failures+=("bench-skipped")
else
    status=0
    timeout --kill-after=10 "$budget" node bench/bin.mjs speed --model test/.fixtures/bench-llama-24L-2048.gguf --gpu cuda \
        --runs "${SPEED_RUNS:-3}" --json "$OUT/speed-cuda.json" || status=$?
    if (( status == 0 )); then
        note "bench speed: $(node -p "const r = require('$OUT/speed-cuda.json'); r.rows.map((row) => 'x' + row.target + '/b' + row.batch + ' ' + row.tokensPerSecond.toFixed(0) + ' tok/s (achieved ' + row.achieved.toFixed(2) + ', predicted ' + row.predicted.toFixed(2) + ')').join('; ')")"
    else
        note "bench speed: exit status $status$( (( status == 124 || status == 137 )) && echo " (out of time after ${budget} s; try SPEED_RUNS=1)")"
        failures+=("bench")
    fi
fi

finish "all passed"
