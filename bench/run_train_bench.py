#!/usr/bin/python3
"""ResNet training steps, marrow (bench/bench_train) against PyTorch (bench/peer_train.py) in
the same run: each round runs every model once in each, alternating, one process per model
(so ru_maxrss is that model's peak memory); the table shows medians over rounds of the
median step: images per second, ratio = ours / PyTorch's img/s (higher is better for marrow),
and peak resident memory side by side. One JSON line per model.

  /usr/bin/python3 bench/run_train_bench.py [--build build] [--rounds 3] [--threads 2]
      [--models resnet18:32 resnet50:16] [--size 144]
"""
import argparse
import json
import os
import statistics
import sys

from run_bench import ensure_built, run_lines

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=["resnet18:32", "resnet50:16"],
                    help="model:batch pairs")
    ap.add_argument("--size", type=int, default=144)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--python", default="/usr/bin/python3")
    args = ap.parse_args()
    ours_bin = ensure_built(args.build, "bench_train")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS="1")
    runs = {}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        for spec in args.models:
            model, batch = spec.split(":")
            common = ["--model", model, "--batch", batch, "--size", str(args.size),
                      "--steps", str(args.steps)]
            ours = run_lines([ours_bin] + common, env=env)[0]
            peer = run_lines([args.python, os.path.join(HERE, "peer_train.py"), "--threads",
                              str(args.threads)] + common, env=env)[0]
            runs.setdefault(spec, []).append((ours, peer))
    print(f"{args.threads} thread(s), {args.size}x{args.size}; ratio = ours / torch img/s")
    print(f"{'model':10s} {'batch':>5s} {'ours img/s':>11s} {'torch img/s':>12s} {'ratio':>6s} "
          f"{'ours MB':>8s} {'torch MB':>9s}")
    rows = []
    for spec, pairs in runs.items():
        model, batch = spec.split(":")
        ours_ips = statistics.median(o["images_per_s"] for o, _ in pairs)
        peer_ips = statistics.median(p["images_per_s"] for _, p in pairs)
        ours_mb = statistics.median(o["peak_rss_mb"] for o, _ in pairs)
        peer_mb = statistics.median(p["peak_rss_mb"] for _, p in pairs)
        print(f"{model:10s} {batch:>5s} {ours_ips:11.2f} {peer_ips:12.2f} "
              f"{ours_ips / peer_ips:6.2f} {ours_mb:8.0f} {peer_mb:9.0f}")
        rows.append({"bench": "train_step", "model": model, "batch": int(batch),
                     "size": args.size, "threads": args.threads, "rounds": args.rounds,
                     "ours_images_per_s": ours_ips, "torch_images_per_s": peer_ips,
                     "ratio": ours_ips / peer_ips, "ours_peak_rss_mb": ours_mb,
                     "torch_peak_rss_mb": peer_mb, "torch": pairs[0][1]["torch"]})
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
