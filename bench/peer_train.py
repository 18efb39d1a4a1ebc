#!/usr/bin/python3
"""PyTorch's side of bench_train: one training step of torchvision's ResNet (train mode,
cross-entropy on 1000 classes, SGD momentum 0.9 + weight decay 1e-4) on fixed random images
and labels; the median step over --steps after --warmup, images per second and the process's
peak resident memory (ru_maxrss: run one model per process). One JSON line.

  /usr/bin/python3 bench/peer_train.py [--model resnet18] [--batch 32] [--size 144] [--threads 2]
"""
import argparse
import json
import resource
import time

import torch
import torchvision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnet18", choices=["resnet18", "resnet50"])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=144)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--autocast", default="none", choices=["none", "bf16"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, args.model)()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    images = torch.randn(args.batch, 3, args.size, args.size)
    labels = torch.randint(0, 1000, (args.batch,))
    times = []
    for s in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast == "bf16"):
            loss = torch.nn.functional.cross_entropy(model(images), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        value = loss.item()
        t1 = time.perf_counter()
        if s >= args.warmup:
            times.append(t1 - t0)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"bench": "train_step", "model": args.model, "batch": args.batch,
                      "size": args.size, "step_s": median, "images_per_s": args.batch / median,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "loss": value, "steps": args.steps, "threads": args.threads,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
