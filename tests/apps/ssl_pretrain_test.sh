#!/usr/bin/env bash
# ssl_pretrain end to end on a tiny synthetic cohort (AML Hehr layout, 32 px cells): a 2-epoch
# run per method writes every promised file; a run stopped after 3 steps and resumed in a new
# process ends with a checkpoint byte-identical to an unbroken run's; extract_features reads
# the exported encoder; bad input stops with a message naming it.
#   ssl_pretrain_test.sh <ssl_pretrain> <synth_cohort> <extract_features> <work dir>
set -euo pipefail
app=$1
synth=$2
extract=$3
work=$4
rm -rf "$work"
mkdir -p "$work"
"$synth" --out "$work/cohort" --patients-per-class 1 --min-cells 4 --max-cells 4 --size 32 \
    --seed 1 >/dev/null
tiny=(--batch-size 4 --epochs 2 --workers 0 --set global_size=16
      --set local_size=8 --set out_dim=32 --set head_hidden=32 --set bottleneck=16
      --set 'projection=[32,16]' --set warmup_epochs=0 --set freeze_prototypes_iters=0)
for method in simclr swav dino dinov2; do
    extra=(--arch resnet18 --stem small --set local_crops=2)
    [ "$method" = dinov2 ] && extra=(--arch vit_small --set patch_size=4 --set local_crops=2
                                     --set drop_path_rate=0)
    [ "$method" = simclr ] && extra=(--arch resnet18 --stem small --limit 16)
    out=$work/$method
    "$app" --data "$work/cohort" --method "$method" "${tiny[@]}" "${extra[@]}" --knn-images 20 \
        --out "$out" >"$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
    for f in run.json metrics.jsonl encoder.safetensors report.html; do
        [ -s "$out/$f" ] || { echo "ssl_pretrain $method: $f missing or empty" >&2; exit 1; }
    done
    [ "$(wc -l <"$out/metrics.jsonl")" -eq 2 ] ||
        { echo "ssl_pretrain $method: expected 2 epoch lines in metrics.jsonl" >&2; exit 1; }
    grep -q '"knn_accuracy"' "$out/metrics.jsonl" ||
        { echo "ssl_pretrain $method: no kNN monitor in metrics.jsonl" >&2; exit 1; }
    grep -q '"method": *"'"$method"'"' "$out/run.json" ||
        { echo "ssl_pretrain $method: run.json lacks the config" >&2; exit 1; }
done
grep -q '"images": *16' "$work/simclr/run.json" ||
    { echo "ssl_pretrain: --limit 16 did not keep 16 images" >&2; exit 1; }
echo "ssl_pretrain: 4 methods x 2 epochs wrote run.json, metrics.jsonl, encoder, report"

# Exact resume across processes (DINO: teacher, center and optimizer state all matter).
common=(--data "$work/cohort" --method dino "${tiny[@]}" --arch resnet18 --stem small
        --set local_crops=2)
"$app" "${common[@]}" --out "$work/straight" >/dev/null 2>&1
"$app" "${common[@]}" --out "$work/split" --stop-after-steps 3 >/dev/null 2>&1
"$app" "${common[@]}" --out "$work/split" --resume >/dev/null 2>"$work/resume.log"
grep -q "at step 3" "$work/resume.log" ||
    { echo "ssl_pretrain: the run did not resume from step 3:" >&2; cat "$work/resume.log" >&2; exit 1; }
last=$(ls "$work/straight/checkpoints" | sort | tail -1)
cmp -s "$work/straight/checkpoints/$last" "$work/split/checkpoints/$last" ||
    { echo "ssl_pretrain: $last differs between the straight and the resumed run" >&2; exit 1; }
echo "ssl_pretrain: the resumed run's $last is byte-identical"

"$extract" --encoder "$work/dino/encoder.safetensors" --data "$work/cohort" \
    --out "$work/features.safetensors" >/dev/null 2>&1 ||
    { echo "extract_features could not read the exported encoder" >&2; exit 1; }

# Bad input: an unknown preset and a missing folder are named.
if "$app" --data "$work/cohort" --preset nope --out "$work/bad" 2>"$work/err.log"; then
    echo "ssl_pretrain accepted --preset nope" >&2; exit 1
fi
grep -q "unknown preset 'nope'" "$work/err.log" || { cat "$work/err.log" >&2; exit 1; }
if "$app" --data "$work/missing" --method dino --out "$work/bad" 2>"$work/err.log"; then
    echo "ssl_pretrain accepted a missing folder" >&2; exit 1
fi
grep -q "$work/missing" "$work/err.log" || { cat "$work/err.log" >&2; exit 1; }
if "$app" --data "$work/cohort" --method simclr --stem tiny --out "$work/bad" 2>"$work/err.log"; then
    echo "ssl_pretrain accepted --stem tiny" >&2; exit 1
fi
grep -q "small_pool" "$work/err.log" || { cat "$work/err.log" >&2; exit 1; }
echo "ssl_pretrain: bad input is named"
