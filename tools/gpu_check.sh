#!/usr/bin/env bash
# The one script to run on a machine with an NVIDIA GPU. It
#   1. configures and builds the nvcc configuration (build-gpu/; MARROW_CUDA_ARCHITECTURES,
#      default "80;90", can be overridden: ARCHS=90 tools/gpu_check.sh),
#   2. runs the CUDA tests natively (ctest -L "cuda|gpu": the parity suite on the GPU),
#   3. runs the benchmarks on the GPU against PyTorch CUDA (bench/run_bench.py --device cuda)
#      and the memory-bound kernels against a float4 copy kernel (bench_bandwidth),
#   4. runs the kernel ladders (cuda/dev/: each version vs cuBLAS or a copy kernel),
#   5. times ViT-S/14 and ResNet-50 training steps, float32 and bf16 autocast, against
#      PyTorch CUDA (AMP for bf16) (bench/run_train_bench.py --device cuda),
#   6. writes docs/perf/<date>-<gpu>.md with the results and the exact commands.
# A bare GPU box (CUDA toolkit, CMake, ninja, PyTorch; none of our Debian packages) builds
# from the headers staged by tools/stage_deps.sh in .deps/ (carry it with the tree).
# Environment: ARCHS, PYTHON (interpreter with torch, default python3), ROUNDS (default 3).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$PATH:/usr/local/cuda/bin
archs=${ARCHS:-80;90}
python=${PYTHON:-python3}
rounds=${ROUNDS:-3}
build=build-gpu
deps=()
[ -d .deps/include ] && deps=(-DMARROW_DEPS_DIR="$root/.deps")

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
[ -n "$gpu" ] || { echo "gpu_check: nvidia-smi finds no GPU" >&2; exit 1; }
slug=$(echo "$gpu" | tr -c 'A-Za-z0-9\n' '-' | tr -s '-' | sed 's/-$//')
report="docs/perf/$(date +%F)-$slug.md"
log=$(mktemp -d)

configure=(cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMARROW_CUDA=ON
           -DMARROW_CUDA_SIM=OFF "-DMARROW_CUDA_ARCHITECTURES=$archs" "${deps[@]}")
"${configure[@]}" >"$log/configure.txt" 2>&1 || { cat "$log/configure.txt"; exit 1; }
cmake --build "$build" -j "$(nproc)" >"$log/build.txt" 2>&1 || { tail -50 "$log/build.txt"; exit 1; }
ctest --test-dir "$build" -L "cuda|gpu" --output-on-failure >"$log/ctest.txt" 2>&1
ctest_rc=$?
"$python" bench/run_bench.py --build "$build" --device cuda --rounds "$rounds" \
    --python "$python" >"$log/bench.txt" 2>"$log/bench_err.txt"
bench_rc=$?
"$build/bench/bench_bandwidth" --mb 256 >"$log/bandwidth.txt" 2>&1
bandwidth_rc=$?
train_models=(vit_s14:64:224 vit_s14:64:224:bf16 resnet50:64:224 resnet50:64:224:bf16)
"$python" bench/run_train_bench.py --build "$build" --device cuda --rounds "$rounds" \
    --python "$python" --models "${train_models[@]}" >"$log/train.txt" 2>"$log/train_err.txt"
train_rc=$?
ladders=("$build/tests/dev_gemm --m 4096 --n 4096 --k 4096" "$build/tests/dev_softmax --rows 4096 --d 4096")
ladder_rc=0
for l in "${ladders[@]}"; do
    echo "\$ $l" >>"$log/ladders.txt"
    $l >>"$log/ladders.txt" 2>&1 || ladder_rc=1
done

{
    echo "# GPU check: $gpu, $(date +%F)"
    echo
    echo "Produced by \`tools/gpu_check.sh\` (commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'))."
    echo
    echo "## Machine"
    echo '```'
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
    nvcc --version | tail -2
    "$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" 2>&1
    echo '```'
    echo
    echo "## Commands"
    echo '```'
    echo "${configure[*]}"
    echo "cmake --build $build -j $(nproc)"
    echo "ctest --test-dir $build -L \"cuda|gpu\" --output-on-failure"
    echo "$python bench/run_bench.py --build $build --device cuda --rounds $rounds --python $python"
    echo "$build/bench/bench_bandwidth --mb 256"
    echo "$python bench/run_train_bench.py --build $build --device cuda --rounds $rounds --python $python --models ${train_models[*]}"
    printf '%s\n' "${ladders[@]}"
    echo '```'
    echo
    echo "## Tests (exit code $ctest_rc)"
    echo '```'
    grep -E "tests passed|Passed|Failed|covered|waiting" "$log/ctest.txt" | sed 's/^.*MESSAGE: //'
    echo '```'
    echo
    echo "## Benchmarks vs PyTorch CUDA (exit code $bench_rc; ratio = torch time / marrow time)"
    echo '```'
    cat "$log/bench.txt"
    tail -5 "$log/bench_err.txt"
    echo '```'
    echo
    echo "## Training steps vs PyTorch CUDA (exit code $train_rc; ratio = ours / torch img/s)"
    echo '```'
    cat "$log/train.txt"
    tail -5 "$log/train_err.txt"
    echo '```'
    echo
    echo "## Memory-bound kernels vs a float4 copy kernel (exit code $bandwidth_rc)"
    echo '```'
    cat "$log/bandwidth.txt"
    echo '```'
    echo
    echo "## Kernel ladders (cuda/dev/; exit code $ladder_rc)"
    echo '```'
    cat "$log/ladders.txt"
    echo '```'
} >"$report"
echo "gpu_check: wrote $report (tests rc=$ctest_rc, bench rc=$bench_rc, train rc=$train_rc)"
[ $ctest_rc -eq 0 ] && [ $bench_rc -eq 0 ] && [ $train_rc -eq 0 ] && [ $bandwidth_rc -eq 0 ] && [ $ladder_rc -eq 0 ]
