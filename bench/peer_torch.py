#!/usr/bin/python3
"""PyTorch's side of the op benchmarks: rebuilds each case from bench_ops --list JSON and
prints one JSON line per case: {"case", "peer_s", "reps", "threads"}.

The cases are the op-case registry's bench tier; each names its registry case ("op_case"),
whose PyTorch twin is the one the golden fixtures use (tests/golden/gen/gen_ops.py CASES), and
its inputs (shape, domain) are made by the same gen_ops.make_input, in float32. A "backward"
case is timed as forward+backward with a fixed upstream gradient and the input gradients set
to None before each call, as bench_ops does.

Run by bench/run_bench.py with OPENBLAS_NUM_THREADS set in the environment (OpenBLAS reads
it once at load time, so each OpenBLAS thread count is its own process).
"""
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "golden", "gen"))
import gen_ops  # noqa: E402  (the registry's PyTorch twins)

DEVICE = os.environ.get("BENCH_DEVICE", "cpu")


def op(case):
    fn = gen_ops.CASES.get(case["op_case"])
    if fn is None:
        raise SystemExit(f"peer_torch: no PyTorch twin for registry case {case['op_case']}")
    g = torch.Generator().manual_seed(1)
    xs = []
    for spec in case["inputs"]:
        x = gen_ops.make_input(spec, g)
        if spec["domain"] != "index":
            x = x.to(torch.float32)
        xs.append(x.to(DEVICE))
    if not case["backward"]:
        return lambda: fn(*xs)
    for x, spec in zip(xs, case["inputs"]):
        x.requires_grad_(spec["grad"])
    with torch.enable_grad():
        gout = torch.randn(fn(*xs).shape, generator=g).to(DEVICE)

    def forward_backward():
        with torch.enable_grad():
            for x in xs:
                x.grad = None
            fn(*xs).backward(gout)
    return forward_backward


def runner(case):
    fn = op(case)
    if DEVICE == "cpu":
        return fn

    def synced():  # CUDA work is asynchronous: time it to completion
        fn()
        torch.cuda.synchronize()
    return synced


def time_median(run, min_seconds, min_reps):
    run()
    times = []
    while sum(times) < min_seconds or len(times) < min_reps:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], len(times)


def main():
    cases = json.loads(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] != "-" else sys.stdin.read())
    min_seconds = float(os.environ.get("BENCH_MIN_SECONDS", "0.3"))
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    if DEVICE == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # compare fp32 with fp32
    with torch.no_grad():
        for case in cases:
            try:
                seconds, reps = time_median(runner(case), min_seconds, 5)
            except Exception as e:  # one broken twin costs its own row, not the whole run
                print(f"peer_torch: case {case['case']} failed: {type(e).__name__}: {e}",
                      file=sys.stderr, flush=True)
                continue
            print(json.dumps({"case": case["case"], "peer_s": seconds, "reps": reps,
                              "device": DEVICE,
                              "threads": f"torch {torch.get_num_threads()}, openblas "
                                         f"{os.environ.get('OPENBLAS_NUM_THREADS', '?')}"}),
                  flush=True)


if __name__ == "__main__":
    main()
