#!/usr/bin/python3
"""MIL training steps on one bag of 500 x 512 features (issue 16), marrow (bench/bench_mil)
against PyTorch (bench/peer_mil.py) in the same run: each round runs every model once in each,
one process per run; PyTorch (torch --threads threads) with OpenBLAS at 1 and at --threads
threads, its faster setting counted. The table shows medians over rounds: bags per second and
ratio = ours / PyTorch's best.

  /usr/bin/python3 bench/run_mil_bench.py [--build build] [--rounds 3] [--threads 2]
      [--models amil abmil_gated]
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
    ap.add_argument("--models", nargs="+", default=["amil", "abmil_gated"])
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--python", default="/usr/bin/python3")
    args = ap.parse_args()
    ours_bin = ensure_built(args.build, "bench_mil")
    settings = sorted({1, args.threads})  # OpenBLAS threads
    ours, peer = {}, {}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        for m in args.models:
            common = ["--model", m, "--steps", str(args.steps)]
            env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
            ours.setdefault(m, []).append(run_lines([ours_bin] + common, env=env)[0])
            for t in settings:
                env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
                           OPENBLAS_NUM_THREADS=str(t))
                line = run_lines([args.python, os.path.join(HERE, "peer_mil.py"), "--threads",
                                  str(args.threads)] + common, env=env)[0]
                peer.setdefault((m, t), []).append(line)
    print(f"{args.threads} thread(s); ratio = ours / PyTorch's best bags/s")
    print(f"{'model':12s} {'ours bags/s':>12s} {'torch bags/s':>13s} {'blas thr':>9s} {'ratio':>6s}")
    rows = []
    for m in args.models:
        o = statistics.median(x["bags_per_s"] for x in ours[m])
        best = max(settings, key=lambda t: statistics.median(x["bags_per_s"] for x in peer[(m, t)]))
        p = statistics.median(x["bags_per_s"] for x in peer[(m, best)])
        row = {"bench": "mil_step", "model": m, "ours_bags_per_s": o, "torch_bags_per_s": p,
               "openblas_threads": best, "threads": args.threads, "rounds": args.rounds,
               "ratio": o / p, "torch": peer[(m, best)][0]["peer"]}
        rows.append(row)
        print(f"{m:12s} {o:12.1f} {p:13.1f} {best:9d} {o / p:6.2f}")
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
