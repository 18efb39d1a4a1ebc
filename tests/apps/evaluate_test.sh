#!/usr/bin/env bash
# The evaluate app end to end on Fashion-MNIST pixels (a 1000-image training subset, so it
# takes seconds): the run directory holds every promised file, results.json holds sane
# numbers, the terminal table is printed; and bad input stops with a message naming it.
#   evaluate_test.sh <evaluate binary> <work dir>
set -euo pipefail
app=$1
work=$2
data=${MARROW_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
if [ ! -e "$data/train-images-idx3-ubyte.gz" ] && [ ! -e "$data/train-images-idx3-ubyte" ]; then
    echo "Fashion-MNIST not found in $data (Debian: dataset-fashion-mnist); skipping"
    exit 77
fi
rm -rf "$work"
"$app" --mnist "$data" --mnist-train 1000 --methods knn1,knn20,logreg,forest --trees 20 \
    --probe-iter 100 --embedding-points 600 --out "$work/run" >"$work.out" 2>&1 ||
    { cat "$work.out" >&2; exit 1; }
for f in run.json metrics.jsonl results.json report.html predictions_knn1.csv \
         predictions_forest.csv figures/confusion_logreg.svg figures/umap.svg; do
    [ -s "$work/run/$f" ] || { echo "evaluate: $f missing or empty" >&2; exit 1; }
done
grep -q "random forest" "$work.out" || { echo "evaluate: no results table" >&2; exit 1; }
# The run record names the commit the binary was built from (refreshed at every build).
src=$(cd "$(dirname "$0")/../.." && pwd)
if head=$(git -C "$src" rev-parse --short HEAD 2>/dev/null); then
    rev=$(/usr/bin/env python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["git_revision"])' \
          "$work/run/run.json")
    case "$rev" in
        "$head" | "$head-dirty") ;;
        *) echo "evaluate: run.json git_revision $rev, the source tree is at $head (a stale build?)" >&2
           exit 1 ;;
    esac
fi
# 4 methods x 1 fixed split = 4 metrics lines; every accuracy above chance by far.
[ "$(wc -l <"$work/run/metrics.jsonl")" -eq 4 ] || { echo "evaluate: metrics.jsonl lines" >&2; exit 1; }
/usr/bin/env python3 - "$work/run/results.json" <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
for m, v in r["methods"].items():
    acc = v["summary"]["accuracy"]["mean"]
    assert 0.6 < acc <= 1, (m, acc)
print("evaluate: accuracies", {m: round(v["summary"]["accuracy"]["mean"], 3) for m, v in r["methods"].items()})
PY
# Bad input: a missing features file is named.
if "$app" --features "$work/none.safetensors" --out "$work/bad" 2>"$work.err"; then
    echo "evaluate: a missing file did not fail" >&2; exit 1
fi
grep -q "none.safetensors" "$work.err" || { echo "evaluate: the error does not name the file:" >&2; cat "$work.err" >&2; exit 1; }
echo "evaluate: ok"
