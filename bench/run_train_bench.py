#!/usr/bin/python3
"""Training steps (ResNet, ViT), marrow (bench/bench_train) against PyTorch (bench/peer_train.py) in
the same run: each round runs every model once in each, alternating, one process per model
(so ru_maxrss is that model's peak memory); the table shows medians over rounds of the
median step: images per second, ratio = ours / PyTorch's img/s (higher is better for marrow),
and peak resident memory side by side. One JSON line per model.

  /usr/bin/python3 bench/run_train_bench.py [--build build] [--rounds 3] [--threads 2]
      [--models resnet18:32 resnet50:16] [--size 144]
  ViT-S/14 (issue 14): --models vit_s14:8:224 vit_s14:16:144 vit_s14:8:224:ckpt vit_s14:8:224:bf16
  (model:batch[:size[:flags]]; flags ckpt = activation checkpointing, bf16 = bf16 autocast
  (torch.autocast("cpu") in PyTorch), both as ckpt+bf16; with --inference, freeze = the peer
  under torch.jit.freeze, which folds batch norms into convs as our eval forward does)
  SSL steps (issue 15): --ssl --models simclr_resnet18:32:144 dino_vit_small:8:224
  (bench_ssl_step against peer_ssl_step.py; images per second counts every crop)
"""
import argparse
import json
import os
import statistics
import sys

from run_bench import ensure_built, run_lines

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_spec(spec, default_size):
    """model:batch[:size[:flags]], flags "ckpt", "bf16", "freeze" joined by "+" -> (model, batch,
    size, the flags' command-line arguments for both sides, the peer's own, a label)."""
    parts = spec.split(":")
    size = parts[2] if len(parts) > 2 else str(default_size)
    flags = parts[3].split("+") if len(parts) > 3 else []
    args = (["--checkpoint"] if "ckpt" in flags else []) + \
        (["--autocast", "bf16"] if "bf16" in flags else [])
    peer_args = ["--freeze"] if "freeze" in flags else []
    return parts[0], parts[1], size, args, peer_args, "+".join(flags) or "-"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=["resnet18:32", "resnet50:16"],
                    help="model:batch[:size[:ckpt]]")
    ap.add_argument("--size", type=int, default=144)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--ssl", action="store_true",
                    help="self-supervised steps: bench_ssl_step vs peer_ssl_step.py")
    ap.add_argument("--inference", action="store_true",
                    help="forward only in eval mode under no_grad (feature extraction)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                    help="cuda: an nvcc build on a GPU against PyTorch CUDA (AMP for bf16)")
    args = ap.parse_args()
    ours_bin = ensure_built(args.build, "bench_ssl_step" if args.ssl else "bench_train")
    peer_script = "peer_ssl_step.py" if args.ssl else "peer_train.py"
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS="1")
    runs = {}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        for spec in args.models:
            model, batch, size, flags, peer_flags, _ = parse_spec(spec, args.size)
            common = ["--model", model, "--batch", batch, "--size", size,
                      "--steps", str(args.steps)] + flags + \
                ([] if args.ssl else ["--device", args.device]) + \
                (["--inference"] if args.inference else [])
            ours = run_lines([ours_bin] + common, env=env)[0]
            peer = run_lines([args.python, os.path.join(HERE, peer_script), "--threads",
                              str(args.threads)] + common + peer_flags, env=env)[0]
            runs.setdefault(spec, []).append((ours, peer))
    print(f"{args.threads} thread(s), {args.device}; ratio = ours / torch img/s; "
          f"MB = peak {'device memory' if args.device == 'cuda' else 'RSS'}; "
          f"step MB = our step's peak tensor memory above the resting model")
    print(f"{'model':10s} {'batch':>5s} {'size':>4s} {'flags':>9s} {'ours img/s':>11s} "
          f"{'torch img/s':>12s} {'ratio':>6s} {'ours MB':>8s} {'torch MB':>9s} {'step MB':>8s}")
    rows = []
    for spec, pairs in runs.items():
        model, batch, size, _, _, label = parse_spec(spec, args.size)
        ours_ips = statistics.median(o["images_per_s"] for o, _ in pairs)
        peer_ips = statistics.median(p["images_per_s"] for _, p in pairs)
        # On a GPU: the device allocators' peaks (weights, optimizer state, the step).
        ours_key, peer_key = (("device_peak_mb", "cuda_peak_mb") if args.device == "cuda"
                              else ("peak_rss_mb", "peak_rss_mb"))
        ours_mb = statistics.median(o[ours_key] for o, _ in pairs)
        peer_mb = statistics.median(p[peer_key] for _, p in pairs)
        step_mb = (statistics.median(o["step_tensor_mb"] for o, _ in pairs)
                   if "step_tensor_mb" in pairs[0][0] else float("nan"))  # bench_train only
        print(f"{model:10s} {batch:>5s} {size:>4s} {label:>9s} "
              f"{ours_ips:11.2f} {peer_ips:12.2f} {ours_ips / peer_ips:6.2f} {ours_mb:8.0f} "
              f"{peer_mb:9.0f} {step_mb:8.0f}")
        rows.append({"bench": "train_step", "model": model, "batch": int(batch),
                     "size": int(size), "flags": label, "ours_step_tensor_mb": step_mb, "threads": args.threads, "rounds": args.rounds,
                     "ours_images_per_s": ours_ips, "torch_images_per_s": peer_ips,
                     "ratio": ours_ips / peer_ips, "ours_peak_rss_mb": ours_mb,
                     "torch_peak_rss_mb": peer_mb, "torch": pairs[0][1]["torch"]})
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
