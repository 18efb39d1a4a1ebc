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
# Environment: ARCHS, PYTHON (interpreter with torch, default python3), ROUNDS (default 3),
# BUDGET (seconds for the whole script, default 3600: each stage is cut off with `timeout` at
# what is left, so a slow or hung stage still leaves a report), LOG_DIR (where each stage's
# output goes as it runs; a temporary folder by default: point it under the device tool's $OUT
# so a run cut short still brings its logs back).
# STAGES (default "tests bench bandwidth train ladders": the ones to run, e.g. to fit a lease).
# Only the targets the checks run are built (gpu_checks: the tests labelled cuda|gpu; the
# benchmarks).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$PATH:/usr/local/cuda/bin
archs=${ARCHS:-80;90}
python=${PYTHON:-python3}
rounds=${ROUNDS:-3}
build=build-gpu
stages=" ${STAGES:-tests bench bandwidth train ladders} "
want() { [[ $stages == *" $1 "* ]]; }
budget=${BUDGET:-3600}
left() { local l=$((budget - 15 - SECONDS)); echo $((l > 1 ? l : 1)); }
deps=()
[ -d .deps/include ] && deps=(-DMARROW_DEPS_DIR="$root/.deps")

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
[ -n "$gpu" ] || { echo "gpu_check: nvidia-smi finds no GPU" >&2; exit 1; }
slug=$(echo "$gpu" | tr -c 'A-Za-z0-9\n' '-' | tr -s '-' | sed 's/-$//')
report="docs/perf/$(date +%F)-$slug.md"
log=${LOG_DIR:-$(mktemp -d)}
mkdir -p "$log"

configure=(cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMARROW_CUDA=ON
           -DMARROW_CUDA_SIM=OFF "-DMARROW_CUDA_ARCHITECTURES=$archs" "${deps[@]}"
           -DMARROW_WERROR=OFF)  # the box's g++ is not CI's (g++ 13 false -Warray-bounds in fmt)
"${configure[@]}" >"$log/configure.txt" 2>&1 || { cat "$log/configure.txt"; exit 1; }
targets=(gpu_checks)  # the executables of the tests labelled cuda|gpu (tests/CMakeLists.txt)
targets+=(bench_ops bench_train bench_bandwidth)
timeout "$(left)" cmake --build "$build" -j "$(nproc)" --target "${targets[@]}" \
    >"$log/build.txt" 2>&1 || { tail -50 "$log/build.txt"; exit 1; }
echo "gpu_check: built in $SECONDS s"

# stage NAME LOG COMMAND...: runs COMMAND under what is left of the budget when NAME is in
# STAGES, output to $log/LOG; rc[NAME] is its exit code, or "skipped".
declare -A rc
stage() {
    local name=$1 out=$2
    shift 2
    if ! want "$name"; then
        rc[$name]=skipped
        echo "(skipped: not in STAGES)" >"$log/$out"
        return
    fi
    timeout "$(left)" "$@" >"$log/$out" 2>&1
    rc[$name]=$?
    echo "gpu_check: $name done at $SECONDS s (rc ${rc[$name]})"
}
train_models=(vit_s14:64:224 vit_s14:64:224:bf16 resnet50:64:224 resnet50:64:224:bf16)
ladders=("$build/tests/dev_gemm --m 4096 --n 4096 --k 4096"
         "$build/tests/dev_softmax --rows 4096 --d 4096")
stage tests ctest.txt ctest --test-dir "$build" -L "cuda|gpu" --output-on-failure
stage bench bench.txt "$python" bench/run_bench.py --build "$build" --device cuda \
    --rounds "$rounds" --python "$python"
stage bandwidth bandwidth.txt "$build/bench/bench_bandwidth" --mb 256
stage train train.txt "$python" bench/run_train_bench.py --build "$build" --device cuda \
    --rounds "$rounds" --python "$python" --models "${train_models[@]}"
stage ladders ladders.txt bash -c "for l in ${ladders[*]@Q}; do echo \"\\\$ \$l\"; \$l || exit 1; done"

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
    echo "cmake --build $build -j $(nproc) --target ${targets[*]}"
    echo "ctest --test-dir $build -L \"cuda|gpu\" --output-on-failure"
    echo "$python bench/run_bench.py --build $build --device cuda --rounds $rounds --python $python"
    echo "$build/bench/bench_bandwidth --mb 256"
    echo "$python bench/run_train_bench.py --build $build --device cuda --rounds $rounds --python $python --models ${train_models[*]}"
    printf '%s\n' "${ladders[@]}"
    echo '```'
    echo
    echo "## Tests (exit code ${rc[tests]})"
    echo '```'
    grep -E "tests passed|Passed|Failed|covered|waiting" "$log/ctest.txt" | sed 's/^.*MESSAGE: //'
    echo '```'
    echo
    echo "## Benchmarks vs PyTorch CUDA (exit code ${rc[bench]}; ratio = torch time / marrow time)"
    echo '```'
    grep -v '^round ' "$log/bench.txt"
    echo '```'
    echo
    echo "## Training steps vs PyTorch CUDA (exit code ${rc[train]}; ratio = ours / torch img/s)"
    echo '```'
    grep -v '^round ' "$log/train.txt"
    echo '```'
    echo
    echo "## Memory-bound kernels vs a float4 copy kernel (exit code ${rc[bandwidth]})"
    echo '```'
    cat "$log/bandwidth.txt"
    echo '```'
    echo
    echo "## Kernel ladders (cuda/dev/; exit code ${rc[ladders]})"
    echo '```'
    cat "$log/ladders.txt"
    echo '```'
} >"$report"
summary=$(for k in tests bench bandwidth train ladders; do printf '%s=%s ' "$k" "${rc[$k]}"; done)
echo "gpu_check: wrote $report ($summary)"
for k in "${!rc[@]}"; do [[ ${rc[$k]} == 0 || ${rc[$k]} == skipped ]] || exit 1; done
