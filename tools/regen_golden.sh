#!/usr/bin/env bash
# Regenerates the committed PyTorch golden fixtures. Needs Debian's python3-torch,
# torchvision and PIL (apt-get install python3-torch python3-torchvision python3-pil) and a
# configured build directory (default: build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
cmake --build "$build" --target op_cases_json
"$build/tests/ops/op_cases_json" > "$build/op_cases.json"
cd "$root/tests/golden/gen"
/usr/bin/python3 gen_ops.py "$build/op_cases.json" "$root/tests/golden/fixtures/ops.safetensors"
/usr/bin/python3 gen_norm.py "$root/tests/golden/fixtures/norm.safetensors"
/usr/bin/python3 gen_transforms.py "$root/tests/golden/fixtures/transforms.safetensors"
/usr/bin/python3 gen_images.py "$root/tests/data/images" "$root/tests/golden/fixtures/images.safetensors"
/usr/bin/python3 gen_nn.py "$root/tests/golden/fixtures/nn.safetensors"
/usr/bin/python3 gen_resnet.py "$root/tests/golden/fixtures/resnet.safetensors"
/usr/bin/python3 gen_optim.py "$root/tests/golden/fixtures/optim.safetensors"
