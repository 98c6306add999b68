#!/usr/bin/env bash
# The Vulkan tests run node-llama-cpp's prebuilt Vulkan backend on Mesa's software driver (lavapipe), so
# they need the Vulkan loader and Mesa's drivers from Debian. Idempotent: does nothing when both are there.
set -euo pipefail
if [ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] && ldconfig -p | grep -q 'libvulkan\.so\.1 '; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends libvulkan1 mesa-vulkan-drivers
