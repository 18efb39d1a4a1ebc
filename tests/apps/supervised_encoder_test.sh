#!/usr/bin/env bash
# The supervised_encoder app end to end on a tiny synthetic cohort (10 patients, ~50 cells of
# 16 px, a ResNet-18 with the small-input stem; seconds): it trains on the cell types of
# cells.csv, records the held-out accuracy, writes an encoder file extract_features reads;
# a run stopped and resumed in a new process writes the same encoder, byte for byte, as an
# uninterrupted one; and clear errors for an unknown cells.csv column and a warm-up longer
# than the run.
#   supervised_encoder_test.sh <supervised_encoder> <synth_cohort> <extract_features> <work dir>
set -euo pipefail
app=$1
synth=$2
extract=$3
work=$4
rm -rf "$work" && mkdir -p "$work"
fail() { echo "supervised_encoder_test: $*" >&2; exit 1; }
py=/usr/bin/python3
[ -x "$py" ] || py=python3

"$synth" --out "$work/synth" --patients-per-class 2 --min-cells 4 --max-cells 6 --size 16 \
    --seed 0 >/dev/null
args=(--data "$work/synth" --cell-labels cell_type --arch resnet18 --stem small --image-size 16
      --epochs 2 --batch-size 8 --workers 1)
run() { "$app" "${args[@]}" "$@" >"$work/out.txt" 2>&1 || { cat "$work/out.txt" >&2; fail "failed: $*"; }; }

run --out "$work/full"
[ -s "$work/full/encoder.safetensors" ] || fail "no encoder file"
$py - "$work/full/run.json" <<'PY' || fail "run.json"
import json, sys
r = json.load(open(sys.argv[1]))
acc = r["result"]["held_out_accuracy"]
assert 0 <= acc <= 1, acc
assert r["flags"]["cell_labels"] == "cell_type" and r["flags"]["held_out"] > 0, r["flags"]
PY
"$extract" --encoder "$work/full/encoder.safetensors" --data "$work/synth" --cell-labels cell_type \
    --out "$work/feats.safetensors" --workers 1 >"$work/out.txt" 2>&1 ||
    { cat "$work/out.txt" >&2; fail "extract_features could not read the encoder"; }

# Stop after 3 steps, resume in a new process: the same encoder as the uninterrupted run.
run --out "$work/resumed" --stop-after-steps 3
grep -q "resume with --resume" "$work/out.txt" || fail "no stop message"
run --out "$work/resumed" --resume
cmp -s "$work/full/encoder.safetensors" "$work/resumed/encoder.safetensors" ||
    fail "a resumed run wrote another encoder than the uninterrupted one"

expect_error() {  # message args...
    if "$app" "${@:2}" >"$work/out.txt" 2>&1; then fail "no error for: ${*:2}"; fi
    grep -q "$1" "$work/out.txt" || { cat "$work/out.txt" >&2; fail "error without \"$1\""; }
}
expect_error "no_such_column" --data "$work/synth" --cell-labels no_such_column --out "$work/e1"
expect_error "warmup-epochs 5 > --epochs 2" "${args[@]}" --warmup-epochs 5 --out "$work/e2"
echo "supervised_encoder: ok"
