#!/usr/bin/env bash
# Stages the header-only dependencies (fmt, nlohmann-json, doctest, CLI11) from this Debian
# machine into .deps/include (git-ignored), so a GPU machine that has only the CUDA toolkit,
# CMake and ninja can build marrow offline: tools/gpu_check.sh uses .deps when it exists.
# With the device tool, carry ".deps" along with the working tree.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/setup.sh"
need_packages libfmt-dev nlohmann-json3-dev doctest-dev libcli11-dev
rm -rf "$root/.deps"
mkdir -p "$root/.deps/include"
for d in fmt nlohmann doctest CLI; do cp -r "/usr/include/$d" "$root/.deps/include/"; done
echo "staged $(du -sh "$root/.deps" | cut -f1) of headers in $root/.deps"
