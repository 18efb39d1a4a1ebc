#!/usr/bin/python3
"""One MIL training step in PyTorch: the peer of bench_mil (same models, sizes and optimizers).

The models are tests/golden/gen/gen_mil.py's transcriptions of SCEMILA's AMiL (vector
instances) and AttentionDeepMIL's gated attention with DinoBloom's head, in float32.

  /usr/bin/python3 bench/peer_mil.py [--model amil] [--instances 500] [--features 512]
      [--classes 5] [--steps 50] [--threads 2]
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "golden", "gen"))
import gen_mil  # noqa: E402  (sets float64 as the default dtype: reset below)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="amil", choices=["amil", "abmil_gated"])
    ap.add_argument("--instances", type=int, default=500)
    ap.add_argument("--features", type=int, default=512)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model == "amil":
        model = gen_mil.AMiL({"classes": args.classes, "multicolumn": True, "spatial": False,
                              "in": args.features, "embed": 500, "attention_hidden": 128,
                              "classifier_hidden": 64})
        opt = torch.optim.SGD(model.parameters(), lr=5e-5, momentum=0.9, nesterov=True)
    else:
        model = gen_mil.ABMIL({"classes": args.classes, "gated": True, "in": args.features,
                               "embed": 0, "attention_hidden": 128, "classifier_hidden": 64})
        opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    bag = torch.randn(args.instances, args.features)
    label = torch.tensor([1])
    times = []
    for r in range(args.steps + 2):
        t0 = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(model(bag)[0], label).backward()
        opt.step()
        t1 = time.perf_counter()
        if r >= 2:
            times.append(t1 - t0)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"bench": "mil_step", "model": args.model, "peer": f"torch {torch.__version__}",
                      "threads": args.threads, "median_s": median, "bags_per_s": 1 / median}))


if __name__ == "__main__":
    main()
