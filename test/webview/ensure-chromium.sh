#!/usr/bin/env bash
# The webview test drives Debian's chromium through playwright-core (no bundled browser download, which
# would need the internet). Idempotent: does nothing when the binary is already there.
set -euo pipefail
CHROMIUM="${LAYER_DIAL_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
"$CHROMIUM" --version
