#!/usr/bin/python3
"""torch.optim step time over torchvision ResNet-18's parameters: the peer of bench_optim.

SGD(momentum 0.9, weight_decay 1e-4) and AdamW(lr 1e-3, weight_decay 0.04), single-tensor
(foreach=False, what torch runs on CPU by default) and foreach=True, fixed random gradients,
median of --reps steps after two warm-up steps. One JSON line per case.

  /usr/bin/python3 bench/peer_optim.py [--reps 20] [--threads 2]
"""
import argparse
import json
import time

import torch
import torchvision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    params = [p for p in torchvision.models.resnet18().parameters()]
    for p in params:
        p.grad = torch.randn_like(p) * 0.01
    cases = {
        "sgd_momentum_wd": lambda fe: torch.optim.SGD(params, lr=0.1, momentum=0.9,
                                                      weight_decay=1e-4, foreach=fe),
        "adamw": lambda fe: torch.optim.AdamW(params, lr=1e-3, weight_decay=0.04, foreach=fe),
    }
    for name, make in cases.items():
        for foreach in (False, True):
            opt = make(foreach)
            times = []
            for r in range(args.reps + 2):
                t0 = time.perf_counter()
                opt.step()
                t1 = time.perf_counter()
                if r >= 2:
                    times.append(t1 - t0)
            times.sort()
            print(json.dumps({"bench": "optim_step", "case": name, "peer": "torch",
                              "foreach": foreach, "threads": args.threads,
                              "numel": sum(p.numel() for p in params),
                              "median_s": times[len(times) // 2]}))


if __name__ == "__main__":
    main()
