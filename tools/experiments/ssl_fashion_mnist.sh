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
#
# Stage 2 (<run dir>/pooled): the stem keeping its max pool (--stem small_pool, a quarter of
# the FLOPs: ~2.2 s per SimCLR step) buys a 12x longer SimCLR run (2500 steps, ~90 minutes),
# scored as above and also with all 60k training images as the kNN reference. Stage 3: DINO
# on the pooled stem (~30 min) and the collapse contrast (two broken 500-step runs, ~25 min).
# Stage 4: a second SimCLR cycle of 3000 steps from stage 2's encoder (~80 min), scored with
# the 60k reference. Stage 5: a third cycle of 4000 steps from stage 4's (~105 min).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-runs/ssl-fmnist}
data=${MNIST_DIR:-/usr/share/datasets/fashion-mnist}
reference=20000  # training images the kNN / probe use (all 60k: ~6 min of extraction each)
bin=$root/build/apps
mkdir -p "$out"
common=(--data "$data" --arch resnet18 --stem small --knn-images 2000
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
features random --random-init --arch resnet18 --stem small --image-size 28 --seed 0
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

# ---- stage 2: the pooled stem, SimCLR 10 epochs of 250 steps at batch 256 (10.7 passes).
# LARS lr 0.5 with trust 0.01: a relative step of 5e-3 per layer (SimCLR's ImageNet recipe
# at batch 4096 takes 4.8e-3; the stage-1 run's 3e-4 learned too slowly for a short run).
stage1=$out
out=$stage1/pooled
mkdir -p "$out"
common=(--data "$data" --arch resnet18 --stem small_pool --knn-images 2000 --knn-every 2
        --set global_size=28 --set epoch_length=250 --set warmup_epochs=0.4)
simclr=(--method simclr --batch-size 256 --set temperature=0.2 --set lr=0.5
        --set larc_trust=0.01)
method simclr 10 "${simclr[@]}"
features random --random-init --arch resnet18 --stem small_pool --image-size 28 --seed 0
score random --features "$out/random.safetensors"
ln -sfn ../eval-pixels "$out/eval-pixels"  # the pixels' scores are stage 1's (same rows)
ln -sfn ../eval-pixels-cosine "$out/eval-pixels-cosine"
/usr/bin/python3 "$root/tools/experiments/ssl_table.py" "$out" pixels random simclr

# All 60k training images as the 20-NN reference (the issue's 0.842 for pixels).
all60k() {  # name extract_features args...
    [ -f "$out/$1-60k.safetensors" ] || "$bin/extract_features" --data "$data" \
        --out "$out/$1-60k.safetensors" "${@:2}"
    [ -f "$out/eval-$1-60k/results.json" ] || "$bin/evaluate" --features "$out/$1-60k.safetensors" \
        --methods knn20 --embedding-points 0 --out "$out/eval-$1-60k"
}
[ -f "$out/eval-pixels-60k/results.json" ] || "$bin/evaluate" --mnist "$data" --methods knn20 \
    --embedding-points 0 --out "$out/eval-pixels-60k"
all60k simclr --encoder "$out/simclr/encoder.safetensors"
all60k random --random-init --arch resnet18 --stem small_pool --image-size 28 --seed 0
/usr/bin/python3 "$root/tools/experiments/ssl_table.py" "$out" pixels-60k random-60k simclr-60k

# ---- stage 3: DINO on the pooled stem, solo-learn's CIFAR recipe shortened: 2 global crops,
# K 4096, batch norm in the head (the teacher starts informative: entropy 7.25 vs 7.63 of
# ln K 8.32 without), LARS lr 0.3 trust 0.02, teacher 0.04, momentum 0.99 -> 1; 5 epochs of
# 250 steps at batch 128. Then the collapse contrast: the same recipe broken two ways, the
# teacher at T = 1.0 and no centering, each for its first two epochs.
dino=(--method dino --batch-size 128 --set out_dim=4096 --set local_crops=0
      --set head_batch_norm=true --set optimizer=lars --set lr=0.3 --set larc_trust=0.02
      --set weight_decay=1e-6 --set weight_decay_end=1e-6 --set clip_grad=0
      --set momentum_teacher=0.99 --set teacher_temp=0.04 --set warmup_teacher_temp=0.04)
method dino 5 "${dino[@]}"
broken() {  # name overrides...: the good run's first 2 epochs (same schedules), one knob broken
    [ -f "$out/$1/metrics.jsonl" ] || "$bin/ssl_pretrain" "${common[@]}" --epochs 5 \
        --out "$out/$1" "${dino[@]}" "${@:2}" --stop-after-steps 500
}
broken dino-teacher-t1 --set teacher_temp=1.0 --set warmup_teacher_temp=1.0
broken dino-no-centering --set centering=none
/usr/bin/python3 "$root/tools/experiments/ssl_table.py" "$out" pixels random simclr dino
/usr/bin/python3 "$root/tools/experiments/ssl_table.py" --collapse "$out" simclr dino \
    dino-teacher-t1 dino-no-centering

# ---- stage 4: a second SimCLR cycle, 12 epochs of 250 steps from stage 2's backbone (--init
# loads the backbone; the projection head starts fresh), the same recipe and a new seed (so a
# new data order), scored with all 60k training images as the 20-NN reference.
[ -f "$out/simclr-cycle2/encoder.safetensors" ] || "$bin/ssl_pretrain" "${common[@]}" \
    --epochs 12 --out "$out/simclr-cycle2" "${simclr[@]}" --set seed=1 \
    --init "$out/simclr/encoder.safetensors"
all60k simclr-cycle2 --encoder "$out/simclr-cycle2/encoder.safetensors"
[ -f "$out/eval-simclr-cycle2-60k-cosine/results.json" ] || "$bin/evaluate" \
    --features "$out/simclr-cycle2-60k.safetensors" --methods knn20 --knn-metric cosine \
    --embedding-points 0 --out "$out/eval-simclr-cycle2-60k-cosine"
for name in simclr-cycle2 pixels; do  # the linear probe with all 60k training images
    input=(--features "$out/$name-60k.safetensors")
    [ "$name" = pixels ] && input=(--mnist "$data")
    [ -f "$out/eval-$name-60k-probe/results.json" ] || "$bin/evaluate" "${input[@]}" \
        --methods logreg --embedding-points 0 --out "$out/eval-$name-60k-probe"
done
[ -f "$out/simclr-cycle2-60k-tta.safetensors" ] || "$bin/extract_features" --data "$data" --tta \
    --encoder "$out/simclr-cycle2/encoder.safetensors" --out "$out/simclr-cycle2-60k-tta.safetensors"
[ -f "$out/eval-simclr-cycle2-60k-tta/results.json" ] || "$bin/evaluate" --features \
    "$out/simclr-cycle2-60k-tta.safetensors" --methods knn20 --embedding-points 0 \
    --out "$out/eval-simclr-cycle2-60k-tta"
/usr/bin/python3 "$root/tools/experiments/ssl_table.py" "$out" pixels-60k random-60k simclr-60k \
    simclr-cycle2-60k simclr-cycle2-60k-tta

# ---- stage 5: a third cycle, 16 epochs of 250 steps from stage 4's backbone, seed 2 (9500
# steps, 40.5 passes in all), scored as stage 4 (20-NN with the 60k reference, the probe).
[ -f "$out/simclr-cycle3/encoder.safetensors" ] || "$bin/ssl_pretrain" "${common[@]}" \
    --epochs 16 --out "$out/simclr-cycle3" "${simclr[@]}" --set seed=2 \
    --init "$out/simclr-cycle2/encoder.safetensors"
all60k simclr-cycle3 --encoder "$out/simclr-cycle3/encoder.safetensors"
[ -f "$out/eval-simclr-cycle3-60k-probe/results.json" ] || "$bin/evaluate" \
    --features "$out/simclr-cycle3-60k.safetensors" --methods logreg --embedding-points 0 \
    --out "$out/eval-simclr-cycle3-60k-probe"
/usr/bin/python3 "$root/tools/experiments/ssl_table.py" "$out" pixels-60k random-60k simclr-60k \
    simclr-cycle2-60k simclr-cycle3-60k simclr-cycle3-60k-probe
