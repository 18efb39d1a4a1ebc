#!/usr/bin/python3
"""PyTorch's side of the op benchmarks: rebuilds each case from bench_ops --list JSON and
prints one JSON line per case: {"case", "peer_s", "reps", "threads"}.

Run by bench/run_bench.py with OPENBLAS_NUM_THREADS set in the environment (OpenBLAS reads
it once at load time, so each OpenBLAS thread count is its own process).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F


DEVICE = os.environ.get("BENCH_DEVICE", "cpu")


def op(case):
    p = case["params"]
    g = torch.Generator().manual_seed(1)
    if case["bench"] == "gemm" and "batch" in p:
        a_shape = (p["m"], p["k"]) if p["broadcast_a"] else (p["batch"], p["m"], p["k"])
        a = torch.randn(*a_shape, generator=g).to(DEVICE)
        b = torch.randn(p["batch"], p["k"], p["n"], generator=g).to(DEVICE)
        return lambda: torch.matmul(a, b)
    if case["bench"] == "gemm":
        a = torch.randn(p["m"], p["k"], generator=g).to(DEVICE)
        b = torch.randn(p["k"], p["n"], generator=g).to(DEVICE)
        return lambda: torch.mm(a, b)
    x = torch.randn(*p["shape"], generator=g).to(DEVICE)
    if case["bench"] == "unary":
        fn = {"relu": torch.relu, "exp": torch.exp, "gelu": F.gelu, "tanh": torch.tanh}[p["op"]]
        return lambda: fn(x)
    if case["bench"] == "binary":
        y = torch.randn(*p.get("b_shape", p["shape"]), generator=g).to(DEVICE)
        fn = {"add": torch.add, "mul": torch.mul}[p["op"]]
        return lambda: fn(x, y)
    if case["bench"] == "reduce":
        dims = p["dims"]
        if p["op"] == "sum":
            return (lambda: x.sum()) if not dims else (lambda: x.sum(dim=dims))
        if p["op"] == "logsumexp":
            return lambda: torch.logsumexp(x, dim=dims)
        return lambda: x.max(dim=dims[0])
    if case["bench"] == "softmax":
        fn = torch.log_softmax if p["log"] else torch.softmax
        return lambda: fn(x, p["dim"])
    raise SystemExit(f"peer_torch: no runner for {case['case']}")


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
            seconds, reps = time_median(runner(case), min_seconds, 5)
            print(json.dumps({"case": case["case"], "peer_s": seconds, "reps": reps,
                              "device": DEVICE,
                              "threads": f"torch {torch.get_num_threads()}, openblas "
                                         f"{os.environ.get('OPENBLAS_NUM_THREADS', '?')}"}),
                  flush=True)


if __name__ == "__main__":
    main()
