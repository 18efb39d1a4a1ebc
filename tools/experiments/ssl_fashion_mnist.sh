#!/usr/bin/env bash
# Issue 15's Fashion-MNIST experiment: SimCLR, DINO and SwAV pre-train a ResNet-18 with the
# 28-px stem (3x3 stride 1, no max pool) on the 60k training images without labels; every
# encoder, a randomly initialized one and the raw pixels are then scored by `evaluate`
# (20-NN Euclidean and cosine, 1-NN, linear probe) with the first 20k training images as the
# reference / training set and the 10k test images (the same rows for every feature set).
# Results: docs/experiments/ssl.md.
#
#   tools/experiments/ssl_fashion_mnist.sh [run dir (runs/ssl-fmnist)]
#
# The budget is CPU-sized (2 cores, ~8 s per SimCLR step): "epochs" of 50 optimizer steps
# (--set epoch_length=50) drawn from shuffled passes over all 60k images; SimCLR 200 steps at
# batch 256, DINO 200 steps at 128 with 4 local crops, SwAV 100 steps at 256. About 85 minutes.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-runs/ssl-fmnist}
data=${MNIST_DIR:-/usr/share/datasets/fashion-mnist}
reference=20000  # training images the kNN / probe use (all 60k: ~6 min of extraction each)
bin=$root/build/apps
mkdir -p "$out"
common=(--data "$data" --arch resnet18 --small-input --knn-images 2000
        --set global_size=28 --set epoch_length=50 --set warmup_epochs=0.5)

pretrain() {  # name epochs args...: pre-train unless its encoder exists
    [ -f "$out/$1/encoder.safetensors" ] ||
        "$bin/ssl_pretrain" "${common[@]}" --epochs "$2" --out "$out/$1" "${@:3}"
}
features() {  # name extract_features args...
    [ -f "$out/$1.safetensors" ] || "$bin/extract_features" --data "$data" --limit "$reference" \
        --out "$out/$1.safetensors" "${@:2}"
}
score() {  # name evaluate-input-args...
    [ -f "$out/eval-$1/results.json" ] || "$bin/evaluate" "${@:2}" --methods knn20,knn1,logreg \
        --out "$out/eval-$1"
    [ -f "$out/eval-$1-cosine/results.json" ] || "$bin/evaluate" "${@:2}" --methods knn20 \
        --knn-metric cosine --embedding-points 0 --out "$out/eval-$1-cosine"
}
method() {  # name epochs args...: pre-train, extract, score
    pretrain "$@"
    features "$1" --encoder "$out/$1/encoder.safetensors"
    score "$1" --features "$out/$1.safetensors"
}

# SimCLR: LARS (lr 0.3 x B/256), tau 0.2, 512 -> 128 projection, SimCLR's views at 28 px.
method simclr 4 --method simclr --batch-size 256 --set temperature=0.2
score pixels --mnist "$data" --mnist-train "$reference"
features random --random-init --arch resnet18 --small-input --image-size 28 --seed 0
score random --features "$out/random.safetensors"
# DINO: AdamW (lr 5e-4 x B/256), K = 4096, teacher 0.04 (no warm-up), student 0.1, centering
# 0.9, teacher momentum 0.99 -> 1 (a short run), 2 x 28 px + 4 x 14 px crops, no clipping.
method dino 4 --method dino --batch-size 128 --set out_dim=4096 --set local_crops=4 \
    --set local_size=14 --set momentum_teacher=0.99 --set clip_grad=0 \
    --set warmup_teacher_temp_epochs=0 --set teacher_temp=0.04
# SwAV: LARC, 300 prototypes (the seed's K) frozen for the first 50 steps, eps 0.05, 3
# Sinkhorn iterations, 2 global crops + 2 local 14-px crops, no queue.
method swav 2 --method swav --batch-size 256 --set out_dim=300 --set local_crops=2 \
    --set local_size=14 --set freeze_prototypes_iters=50 --set queue_length=0
/usr/bin/python3 "$root/tools/experiments/ssl_table.py" "$out" pixels random simclr dino swav
