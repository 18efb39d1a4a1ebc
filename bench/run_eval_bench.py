#!/usr/bin/python3
"""eval/ on Fashion-MNIST pixels (60k train / 10k test, /255), marrow against scikit-learn /
umap-learn in the same run: each round runs every case once in each, one process per case,
alternating which goes first. The table shows medians over rounds: seconds (fit + predict, or
fit_transform for UMAP), ratio = peer seconds / ours (> 1: marrow is faster), and the quality
figure of each (test accuracy; trustworthiness for UMAP). One JSON line per case.

  /usr/bin/python3 bench/run_eval_bench.py [--build build] [--rounds 1] [--threads 2]
      [--cases knn1_l2 knn20_l2 knn20_cosine logreg forest umap]
"""
import argparse
import json
import os
import statistics
import sys

from run_bench import ensure_built, run_lines

HERE = os.path.dirname(os.path.abspath(__file__))
PROBES = ["knn1_l2", "knn20_l2", "knn20_cosine", "logreg"]


def commands(case, build, python):
    """(ours, peer) command lines of a case."""
    if case in PROBES:
        return ([ensure_built(build, "bench_probe"), "--case", case],
                [python, os.path.join(HERE, "peer_probe.py"), "--case", case])
    if case == "forest":
        return ([ensure_built(build, "bench_forest")],
                [python, os.path.join(HERE, "peer_forest.py")])
    if case == "umap":
        return ([ensure_built(build, "bench_umap")],
                [os.environ.get("UMAP_PYTHON", "/work/venv-umap/bin/python"),
                 os.path.join(HERE, "peer_umap.py")])
    sys.exit(f"unknown case {case}")


def seconds(line):
    return line["seconds"] + line.get("predict_seconds", 0.0)


def quality(case, line):
    """(name, value) of the case's quality figure (bench_umap reports its trustworthiness
    under "accuracy", the key every case shares)."""
    return ("trustworthiness" if case == "umap" else "accuracy"), line["accuracy"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", nargs="+",
                    default=["knn1_l2", "knn20_l2", "knn20_cosine", "logreg", "forest", "umap"])
    ap.add_argument("--python", default="/usr/bin/python3")
    args = ap.parse_args()
    t = str(args.threads)
    env = dict(os.environ, OMP_NUM_THREADS=t, OPENBLAS_NUM_THREADS=t, MKL_NUM_THREADS=t,
               NUMBA_NUM_THREADS=t)
    runs = {}
    for r in range(args.rounds):
        for i, case in enumerate(args.cases):
            ours, peer = commands(case, args.build, args.python)
            order = [("marrow", ours), ("peer", peer)]
            if (r + i) % 2:
                order.reverse()
            for who, cmd in order:
                print(f"round {r + 1}/{args.rounds}: {case} ({who})", file=sys.stderr, flush=True)
                runs.setdefault((case, who), []).append(run_lines(cmd, env=env)[-1])
    print(f"{'case':<14}{'marrow s':>10}{'peer s':>10}{'ratio':>8}   quality (marrow / peer)")
    for case in args.cases:
        ours, peer = runs[(case, "marrow")], runs[(case, "peer")]
        s_ours = statistics.median(seconds(x) for x in ours)
        s_peer = statistics.median(seconds(x) for x in peer)
        key, q_ours = quality(case, ours[-1])
        _, q_peer = quality(case, peer[-1])
        print(f"{case:<14}{s_ours:>10.2f}{s_peer:>10.2f}{s_peer / s_ours:>8.2f}   "
              f"{key} {q_ours:.4f} / {q_peer:.4f}")
        print(json.dumps({"case": case, "marrow_s": s_ours, "peer_s": s_peer,
                          "ratio": s_peer / s_ours, key: [q_ours, q_peer],
                          "rounds": args.rounds, "threads": args.threads}))


if __name__ == "__main__":
    main()
