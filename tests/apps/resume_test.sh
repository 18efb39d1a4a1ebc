#!/usr/bin/env bash
# Exact resume across processes: fashion_mnist_cnn run for 2N steps straight, and run for N
# steps, stopped, then resumed in a new process for N more, must write byte-identical
# checkpoints at step 2N (model, optimizer, scheduler, position). A small model keeps it fast.
#   resume_test.sh <fashion_mnist_cnn binary> <work dir>
set -euo pipefail
app=$1
work=$2
data=${MARROW_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
if [ ! -e "$data/train-images-idx3-ubyte.gz" ] && [ ! -e "$data/train-images-idx3-ubyte" ]; then
    echo "Fashion-MNIST not found in $data (Debian: dataset-fashion-mnist); skipping"
    exit 77
fi
rm -rf "$work"
common=(--data "$data" --epochs 1 --batch 64 --widths 4 8 --workers 2 --seed 3
        --checkpoint-every 1000)
"$app" "${common[@]}" --out "$work/straight" --stop-after-steps 40 >/dev/null
"$app" "${common[@]}" --out "$work/split" --stop-after-steps 20 >/dev/null
"$app" "${common[@]}" --out "$work/split" --stop-after-steps 40 --resume >/dev/null \
    2>"$work/resume.log"
# Without a resume the second half would retrain from step 0 and match trivially.
grep -q "at step 20 (epoch 1, batch 20)" "$work/resume.log" ||
    { echo "resume: the run did not resume from step 20:" >&2; cat "$work/resume.log" >&2; exit 1; }
a=$work/straight/checkpoints/checkpoint_00000040.safetensors
b=$work/split/checkpoints/checkpoint_00000040.safetensors
if cmp -s "$a" "$b"; then
    echo "resume: the checkpoints at step 40 are byte-identical"
else
    echo "resume: $a and $b differ" >&2
    exit 1
fi
