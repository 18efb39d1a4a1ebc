#!/usr/bin/python3
"""Runs marrow's op benchmarks and the PyTorch peer in the same run, and prints a table and
one JSON line per case: bench, case, ours_s, peer, peer_s, ratio (= peer_s / ours_s, higher
is better for marrow), plus the peer's best thread setting and the versions.

Fairness (these 2-core machines are noisy, and torch's pool contends with OpenBLAS's):
ours and the peer alternate for --rounds rounds; the peer runs with torch 2 threads and
OpenBLAS 1 and 2 threads, and each case keeps the faster setting; every number reported is
the median over rounds of per-call medians.

  /usr/bin/python3 bench/run_bench.py [--build build] [--rounds 3] [--filter gemm]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_lines(cmd, env=None, stdin=None):
    out = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def peer_name(torch_version, device, setting):
    if device == "cpu":
        return f"torch {torch_version} cpu (openblas {setting[0]} thr, torch {setting[1]} thr)"
    return f"torch {torch_version} cuda (TF32 off)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--filter", default="")
    ap.add_argument("--min-seconds", default="0.3")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="the interpreter with torch (a GPU machine may have its own)")
    args = ap.parse_args()
    ours_bin = os.path.join(args.build, "bench", "bench_ops")
    cases = json.loads(subprocess.run([ours_bin, "--list", "--device", args.device],
                                      capture_output=True, text=True, check=True).stdout)
    cases = [c for c in cases if args.filter in c["case"]]
    if not cases:
        sys.exit("no benchmark case matches the filter")
    # (OPENBLAS_NUM_THREADS, torch threads); on the GPU the thread setting does not matter
    peer_settings = [("1", "2"), ("2", "2")] if args.device == "cpu" else [("1", "2")]

    ours = {c["case"]: [] for c in cases}
    peer = {(c["case"], s): [] for c in cases for s in peer_settings}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        for line in run_lines([ours_bin, "--filter", args.filter, "--min-seconds",
                               args.min_seconds, "--device", args.device]):
            if line["case"] in ours:
                ours[line["case"]].append(line["ours_s"])
        for blas, torch_threads in peer_settings:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=blas, TORCH_THREADS=torch_threads,
                       BENCH_MIN_SECONDS=args.min_seconds, BENCH_DEVICE=args.device)
            for line in run_lines([args.python, os.path.join(HERE, "peer_torch.py"), "-"],
                                  env=env, stdin=json.dumps(cases)):
                peer[(line["case"], (blas, torch_threads))].append(line["peer_s"])

    torch_version = subprocess.run([args.python, "-c", "import torch; print(torch.__version__)"],
                                   capture_output=True, text=True).stdout.strip()
    rows = []
    for c in cases:
        o = statistics.median(ours[c["case"]])
        best = min(peer_settings, key=lambda s: statistics.median(peer[(c["case"], s)]))
        p = statistics.median(peer[(c["case"], best)])
        rows.append({"bench": c["bench"], "case": c["case"], "ours_s": o,
                     "device": args.device, "peer": peer_name(torch_version, args.device, best),
                     "peer_s": p, "ratio": p / o, "rounds": args.rounds})
    print(f"{'bench':8} {'case':24} {'ours ms':>10} {'torch ms':>10} {'ratio':>7}")
    for r in rows:
        print(f"{r['bench']:8} {r['case']:24} {1e3 * r['ours_s']:10.3f} {1e3 * r['peer_s']:10.3f} "
              f"{r['ratio']:7.2f}")
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
