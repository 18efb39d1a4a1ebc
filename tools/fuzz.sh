#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz/ (clang, ASan+UBSan: the "fuzz" preset, build-fuzz/).
#   tools/fuzz.sh [seconds] [name...]   each target for `seconds` (default 1800), all by default
#   tools/fuzz.sh 30                    what CI runs (.ci/run)
# Each target starts from its committed corpus and regression inputs; inputs it finds go to
# build-fuzz/fuzz-work/<name>/ (not the repository). A crash, sanitizer report, leak, input
# slower than FUZZ_TIMEOUT s (default 10) or allocation over FUZZ_MEMORY_MB (default 2048, as
# one malloc or as RSS) is a finding: its input is saved to build-fuzz/fuzz-findings/<name>/,
# and the script exits 1. Targets run FUZZ_JOBS at a time (default: half the cores).
# FUZZ_RUNS=N stops each target after N executions instead (`seconds` still caps the time):
#   FUZZ_RUNS=10000000 tools/fuzz.sh 3600 image_bmp    the README's long-run target
# A fixed finding's minimal input belongs in tests/fuzz/regressions/<name>/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. tools/setup.sh
need_packages "${BUILD_PACKAGES[@]}" "${CLANG_PACKAGES[@]}"
seconds=${1:-1800}
shift || true
memory=${FUZZ_MEMORY_MB:-2048}
timeout=${FUZZ_TIMEOUT:-10}
runs=${FUZZ_RUNS:--1}
jobs=${FUZZ_JOBS:-$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))}

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for src in tests/fuzz/fuzz_*.cpp; do
        n=$(basename "$src" .cpp)
        names+=("${n#fuzz_}")
    done
fi

run_one() {  # name -> build-fuzz/fuzz-logs/<name>.log, exit status of libFuzzer
    local name=$1 work=build-fuzz/fuzz-work/$1 findings=build-fuzz/fuzz-findings/$1
    mkdir -p "$work" "$findings"
    local seeds=(tests/fuzz/corpus/"$name")
    [ -d tests/fuzz/regressions/"$name" ] && seeds+=(tests/fuzz/regressions/"$name")
    build-fuzz/tests/fuzz/fuzz_"$name" -max_total_time="$seconds" -runs="$runs" -rss_limit_mb="$memory" \
        -malloc_limit_mb="$memory" -timeout="$timeout" -print_final_stats=1 \
        -artifact_prefix="$findings/" "$work" "${seeds[@]}" \
        >build-fuzz/fuzz-logs/"$name".log 2>&1
}

mkdir -p build-fuzz/fuzz-logs
pids=()
for name in "${names[@]}"; do
    [ -x build-fuzz/tests/fuzz/fuzz_"$name" ] || { echo "no fuzz target '$name'" >&2; exit 1; }
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
    echo "fuzzing $name for $seconds s"
    run_one "$name" &
    pids+=($!)
done
status=()
for pid in "${pids[@]}"; do
    if wait "$pid"; then status+=(ok); else status+=(FINDING); fi
done

failed=0
printf '\n%-16s %10s %14s %10s  %s\n' target seconds execs execs/s result
for i in "${!names[@]}"; do
    name=${names[$i]}
    log=build-fuzz/fuzz-logs/$name.log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    rate=$(( ${execs:-0} / (${took:-$seconds} > 0 ? ${took:-$seconds} : 1) ))
    printf '%-16s %10s %14s %10s  %s\n' "$name" "${took:-?}" "${execs:-?}" "$rate" "${status[$i]}"
    if [ "${status[$i]}" != ok ]; then
        failed=1
        { grep -E "ERROR|SUMMARY|Test unit written|^    #[0-9]" "$log" || true; } | head -20 |
            sed 's/^/    /'
    fi
done
exit $failed
