#!/usr/bin/env bash
# Quick start #1: set up, build, and run the SSL + attention-MIL experiment (aml_ssl_mil) on a
# freshly rendered synthetic AML cohort: five encoder rows (SimCLR, SwAV, DINO, supervised on
# cell types, random), SCEMILA's class-wise attention MIL cross-validated over patients, and
# report.html, in about 7 minutes on 2 cores. Extra arguments go to the app (try --help; --out
# replaces runs/aml_demo). `tools/demo.sh --fashion-mnist [args]` trains the small CNN on
# Fashion-MNIST instead (Debian's dataset-fashion-mnist).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. tools/setup.sh
if [ "${1:-}" = --fashion-mnist ]; then
    shift
    need_packages "${BUILD_PACKAGES[@]}" dataset-fashion-mnist
    cmake --preset release >/dev/null
    cmake --build --preset release --target fashion_mnist_cnn
    exec build/apps/fashion_mnist_cnn "$@"
fi
need_packages "${BUILD_PACKAGES[@]}"
cmake --preset release >/dev/null
cmake --build --preset release --target aml_ssl_mil
out=(--out runs/aml_demo)
for a in "$@"; do [ "$a" = --out ] && out=(); done
exec build/apps/aml_ssl_mil --synthetic 16 --cells 48 --image-size 32 --epochs 2 --supervised-epochs 2 \
    --batch-size 64 --ssl-set out_dim=1024 --ssl-set local_crops=2 --preset seed000 --mil-epochs 60 \
    --seeds 0 --umap-cells 1000 "${out[@]}" "$@"
