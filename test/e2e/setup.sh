#!/usr/bin/env bash
# Installs what the end-to-end tests need, offline except for npm and Debian's apt: chromium, the apt
# packages code-server's native modules build against, and code-server 4.100.3 in test/e2e/node_modules
# (its own lockfile, so the main install stays small). Idempotent and fast when everything is in place:
# a stamp holds the lockfile's hash, so a changed lockfile reinstalls.
# The fixes below are the ones in ../shared/docs/vscode-e2e-offline.md, each seen failing without them.
set -euo pipefail
E2E_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO_ROOT="$(cd "$E2E_DIR/../.." && pwd)"
STAMP="$E2E_DIR/node_modules/.layer-dial-e2e-stamp"
CODE_SERVER_VSCODE="$E2E_DIR/node_modules/code-server/lib/vscode"

# @vscode/ripgrep's postinstall would download rg from GitHub; it takes a cached download instead. These
# two versions are the ones code-server 4.100.3 pins (@vscode/ripgrep 1.15.11 downloads ripgrep v13.0.0-10).
RIPGREP_PKG_VERSION="1.15.11"
RIPGREP_VERSION="v13.0.0-10"

log() { printf 'e2e setup: %s\n' "$*"; }

bash "$REPO_ROOT/test/webview/ensure-chromium.sh"

# libkrb5-dev + pkg-config: code-server's kerberos module compiles against gssapi.h.
# ripgrep: the rg binary that stands in for the GitHub download.
missing=()
for pkg in libkrb5-dev pkg-config ripgrep; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

lock_hash="$(sha256sum "$E2E_DIR/package-lock.json" | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$lock_hash" ] \
    && [ -x "$E2E_DIR/node_modules/.bin/code-server" ] \
    && [ -x "$CODE_SERVER_VSCODE/node_modules/@vscode/ripgrep/bin/rg" ] \
    && [ -f "$E2E_DIR/node_modules/mocha/package.json" ]; then
    exit 0
fi

# A private TMPDIR holds the ripgrep "download" (postinstall looks in $TMPDIR/vscode-ripgrep-cache-<pkg>/).
work_tmp="$(mktemp -d)"
trap 'rm -rf "$work_tmp"' EXIT
rg_cache="$work_tmp/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION"
mkdir -p "$rg_cache"
tar -C "$(dirname "$(command -v rg)")" -czf "$rg_cache/ripgrep-$RIPGREP_VERSION-x86_64-unknown-linux-musl.tar.gz" rg

log "npm ci in test/e2e (code-server 4.100.3; about a minute cold)"
# unsafe_perm: as root, code-server's postinstall refuses to run without it.
# yes: node-pty's postinstall runs `npx node-gyp`, which aborts without a TTY when the global npmrc says yes=false.
(cd "$E2E_DIR" && TMPDIR="$work_tmp" npm_config_unsafe_perm=true npm_config_yes=true \
    npm ci --no-audit --no-fund --loglevel=error)

if [ ! -x "$CODE_SERVER_VSCODE/node_modules/@vscode/ripgrep/bin/rg" ]; then
    echo "e2e setup: code-server's ripgrep is missing after npm ci; did @vscode/ripgrep change version (expected $RIPGREP_PKG_VERSION)?" >&2
    exit 1
fi
printf '%s' "$lock_hash" > "$STAMP"
log "done"
