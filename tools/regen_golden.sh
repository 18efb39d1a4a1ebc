#!/usr/bin/env bash
# Regenerates the committed golden fixtures (PyTorch, scikit-learn, umap-learn). Needs Debian's python3-torch,
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
/usr/bin/python3 gen_vit.py "$root/tests/golden/fixtures/vit.safetensors"
/usr/bin/python3 gen_ssl_heads.py "$root/tests/golden/fixtures/ssl_heads.safetensors"
/usr/bin/python3 gen_optim.py "$root/tests/golden/fixtures/optim.safetensors"
/usr/bin/python3 gen_pth.py "$root/tests/golden/fixtures/pth"
/usr/bin/python3 gen_autocast.py "$root/tests/golden/fixtures/autocast.safetensors"
# eval/'s scikit-learn fixtures (python3-sklearn) and umap-learn's (a venv with umap-learn
# from PyPI: see gen_umap.py; skipped when the venv is absent).
/usr/bin/python3 gen_metrics.py "$root/tests/golden/fixtures/metrics.safetensors"
/usr/bin/python3 gen_probe.py "$root/tests/golden/fixtures/probe.safetensors"
/usr/bin/python3 gen_forest.py "$root/tests/golden/fixtures/forest.safetensors"
/usr/bin/python3 gen_pca.py "$root/tests/golden/fixtures/pca.safetensors"
umap_python=${UMAP_PYTHON:-/work/venv-umap/bin/python}
if [ -x "$umap_python" ]; then
    "$umap_python" gen_umap.py "$root/tests/golden/fixtures/umap.safetensors"
else
    echo "regen_golden: $umap_python not found; umap.safetensors left as it is" >&2
fi
