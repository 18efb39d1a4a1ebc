#!/usr/bin/env bash
# Quick start #1: set up, build, and train the demo CNN on Fashion-MNIST (Debian's
# dataset-fashion-mnist). Extra arguments go to the app (try --help).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. tools/setup.sh
need_packages "${BUILD_PACKAGES[@]}" dataset-fashion-mnist
cmake --preset release >/dev/null
cmake --build --preset release --target fashion_mnist_cnn
exec build/apps/fashion_mnist_cnn "$@"
