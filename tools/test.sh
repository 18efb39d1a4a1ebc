#!/usr/bin/env bash
# Quick start #2: set up, build and run the whole test suite.
#   tools/test.sh          Release build in build/, all tests
#   tools/test.sh --asan   ASan+UBSan build in build-asan/ (the "asan" preset), all but the
#                          install check (a sanitized static library can't link an
#                          unsanitized consumer)
#   tools/test.sh --nvcc   the nvcc build in build-nvcc/ (warnings are errors); runs the CPU
#                          suite but the "slow" tests, which the release build runs with the
#                          same g++ code (the CUDA tests need a GPU: tools/gpu_check.sh)
#   tools/test.sh --clang  Release built by clang++ in build-clang/ (warnings are errors), all
#                          tests
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. tools/setup.sh
need_packages "${BUILD_PACKAGES[@]}"
preset=release
case "${1:-}" in
    --asan) preset=asan ;;
    --nvcc) preset=nvcc ;;
    --clang) preset=clang; need_packages "${CLANG_PACKAGES[@]}" ;;
esac
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
build=build
[ "$preset" = release ] || build=build-$preset
ctest --preset "$preset" -j2
# The op-case registry's modes report their coverage.
grep -h "covered" "$build/Testing/Temporary/LastTest.log" | sed 's/^.*MESSAGE: /  /' | sort -u
