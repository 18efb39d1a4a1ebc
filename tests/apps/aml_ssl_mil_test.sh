#!/usr/bin/env bash
# aml_ssl_mil end to end on a tiny synthetic cohort: every encoder kind (one epoch, 16 px
# crops), one MIL seed over SCEMILA's 5 folds, every promised file and its content; a second
# run reuses a written encoder (--encoder) and an extracted features file (--features);
# dinobloom_eval scores one of the encoders on the cells and the patients; bad input stops
# with a message naming it.
#   aml_ssl_mil_test.sh <aml_ssl_mil> <extract_features> <dinobloom_eval> <work dir>
set -euo pipefail
app=$1
extract=$2
dinobloom=$3
work=$4
rm -rf "$work" && mkdir -p "$work"
fail() { echo "aml_ssl_mil_test: $*" >&2; exit 1; }
py=/usr/bin/python3
[ -x "$py" ] || py=python3

tiny=(--image-size 16 --cells 6 --epochs 1 --batch-size 8 --workers 0 --mil-epochs 2 --seeds 0
      --umap-cells 40 --ssl-set out_dim=32 --ssl-set head_hidden=32 --ssl-set bottleneck=16
      --ssl-set 'projection=[32,16]' --ssl-set local_crops=2 --ssl-set swav:freeze_prototypes_iters=0)
run=$work/run
"$app" --synthetic 5 "${tiny[@]}" --out "$run" >"$work/run.log" 2>&1 ||
    { cat "$work/run.log" >&2; fail "the run failed"; }
for f in run.json metrics.jsonl results.json report.html; do
    [ -s "$run/$f" ] || fail "$f missing or empty"
done
for e in simclr swav dino supervised random; do
    [ -s "$run/encoders/$e/encoder.safetensors" ] || fail "no $e encoder"
    [ -s "$run/${e}_attention.csv" ] || fail "no ${e}_attention.csv"
done
[ "$(wc -l <"$run/metrics.jsonl")" -eq 5 ] || fail "expected 5 encoder lines in metrics.jsonl"
grep -q "report: $run/report.html" "$work/run.log" || fail "the run did not print the report path"
head -1 "$run/dino_attention.csv" | grep -qx \
    "patient,cell,label,predicted,head,attention_raw,attention,relative_attention,occlusion,solitary_probability" ||
    fail "unexpected attention CSV header: $(head -1 "$run/dino_attention.csv")"
"$py" - "$run/results.json" <<'PY' || fail "results.json does not hold what it should"
import json, sys
rows = json.load(open(sys.argv[1]))
assert [r["encoder"] for r in rows] == ["simclr", "swav", "dino", "supervised", "random"], rows
for r in rows:
    cv = r["cross_validation"]
    assert cv["summary"]["f1_macro"]["n"] == 5, cv["summary"]
    assert len(cv["runs"]) == 5 and all(run["test"] == 5 for run in cv["runs"]), cv["runs"]
    assert r["attention_audit"]["overall"]["n"] >= 1, r["attention_audit"]
    assert r["relative_attention_by_cell_type"], r
PY
"$py" - "$run/encoders" <<'PY' || fail "the encoders' global crops do not follow the crop rule"
import json, sys
for name, scale in [("simclr", [0.5, 1]), ("swav", [0.5, 1]), ("dino", [0, 0])]:
    config = json.load(open(f"{sys.argv[1]}/{name}/run.json"))["flags"]["config"]
    assert config["global_scale"] == scale, (name, config["global_scale"])
PY

# reuse: an encoder file and a features file (the default encoders are then not trained)
"$extract" --encoder "$run/encoders/supervised/encoder.safetensors" --data "$run/cohort" \
    --per-bag --out "$work/supervised.safetensors" >/dev/null 2>&1 || fail "extract_features failed"
"$app" --data "$run/cohort" --features sup="$work/supervised.safetensors" \
    --encoder rnd="$run/encoders/random/encoder.safetensors" --image-size 16 --mil-epochs 1 \
    --seeds 0 --umap-cells 0 --workers 0 --max-instances 3 --out "$work/reuse" \
    >"$work/reuse.log" 2>&1 ||
    { cat "$work/reuse.log" >&2; fail "the reuse run failed"; }
grep -q "^rnd " "$work/reuse.log" && grep -q "^sup " "$work/reuse.log" ||
    fail "the reuse run lacks a row: $(cat "$work/reuse.log")"
[ ! -d "$work/reuse/encoders" ] || fail "the reuse run trained encoders: $(ls "$work/reuse/encoders")"
"$py" -c 'import json, sys; assert json.load(open(sys.argv[1]))["flags"]["mil"]["max_instances"] == 3' \
    "$work/reuse/run.json" || fail "run.json does not record --max-instances 3"

# dinobloom_eval on the same cohort: kNN / probe on the cell types, ABMIL on the patients
"$dinobloom" --encoder "$run/encoders/dino/encoder.safetensors" --cells "$run/cohort" \
    --cell-labels cell_type --aml "$run/cohort" --mil-epochs 1 --out "$work/dbe" \
    >"$work/dbe.log" 2>&1 || { cat "$work/dbe.log" >&2; fail "dinobloom_eval failed"; }
for f in run.json cells/report.html cells/results.json abmil/report.html abmil/results.json \
    abmil/attention.csv; do
    [ -s "$work/dbe/$f" ] || fail "dinobloom_eval: $f missing or empty"
done
grep -q "^ABMIL: weighted F1" "$work/dbe.log" && grep -q "^20-NN" "$work/dbe.log" ||
    fail "dinobloom_eval did not print its tables: $(cat "$work/dbe.log")"
if "$dinobloom" --encoder "$run/encoders/dino/encoder.safetensors" --out "$work/x" \
    >"$work/err.log" 2>&1; then fail "dinobloom_eval without data succeeded"; fi
grep -q "give --cells, --aml or both" "$work/err.log" || fail "dinobloom_eval: $(cat "$work/err.log")"

# bad input
expect() {  # expect <text> <args...>: the app fails and says <text>
    local text=$1
    shift
    if "$app" "$@" >"$work/err.log" 2>&1; then fail "$* succeeded"; fi
    grep -q -- "$text" "$work/err.log" || fail "$* did not say '$text': $(cat "$work/err.log")"
}
expect "give --data or --synthetic" --out "$work/x"
expect "$work/nowhere" --data "$work/nowhere" --out "$work/x"
expect "--encoder wants name=path" --data "$run/cohort" --encoders "" --encoder broken --out "$work/x"
expect "unknown encoder \"byol\"" --data "$run/cohort" --encoders byol --out "$work/x"
echo "aml_ssl_mil: 5 encoders x 5 folds wrote run.json, metrics, results, attention CSVs, report;"
echo "dinobloom_eval: cells and patients scored"
