#!/usr/bin/python3
"""bf16 GEMM, ours vs PyTorch, at ViT shapes (bench/bench_gemm_mixed.cpp's list), same run.

Ours: bench_gemm_mixed (float32, bf16 and f16 operands, float32 accumulation and outputs).
PyTorch: torch.matmul(x, w.t()) on float32 tensors and on bfloat16 tensors (its oneDNN bf16
GEMM; output bf16), best of torch.set_num_threads(threads). Prints a table of GFLOP/s and
the ratio peer time / ours.

    /usr/bin/python3 bench/run_gemm_mixed.py [--build build] [--threads 2] [--reps 15]
"""
import argparse
import json
import os
import subprocess
import time

import torch

N_SHAPES = 7  # bench_gemm_mixed.cpp's list


def torch_ms(M, K, N, dtype, reps):
    x = torch.randn(M, K).to(dtype)
    w = torch.randn(N, K).to(dtype)
    times = []
    for r in range(reps + 2):
        t0 = time.perf_counter()
        torch.matmul(x, w.t())
        t1 = time.perf_counter()
        if r >= 2:
            times.append((t1 - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    torch.set_num_threads(args.threads)
    print(f"threads {args.threads}; GFLOP/s (ratio = torch ms / ours ms); ours and torch "
          "alternate per shape (same machine load)")
    print(f"{'M x K x N':>18} | {'ours f32':>8} {'ours bf16':>9} {'ours f16':>8} | "
          f"{'torch f32':>9} {'torch bf16':>10} | {'bf16/f32':>8} {'vs torch bf16':>13} "
          f"{'vs torch f32':>12}")
    path = "?"
    for index in range(N_SHAPES):
        out = subprocess.run([os.path.join(args.build, "bench", "bench_gemm_mixed"), "--reps",
                              str(args.reps), "--only", str(index)], env=env, check=True,
                             capture_output=True, text=True)
        ours = {}
        for line in out.stdout.splitlines():
            r = json.loads(line)
            ours[r["precision"]] = r
            M, K, N = r["M"], r["K"], r["N"]
        path = ours["bf16"]["path"]
        flop = 2.0 * M * K * N
        f32, bf, f16 = (ours[q]["ms"] for q in ("full", "bf16", "f16"))
        t32 = torch_ms(M, K, N, torch.float32, args.reps)
        tbf = torch_ms(M, K, N, torch.bfloat16, args.reps)
        g = lambda ms: flop / ms / 1e6  # noqa: E731
        print(f"{f'{M}x{K}x{N}':>18} | {g(f32):8.0f} {g(bf):9.0f} {g(f16):8.0f} | "
              f"{g(t32):9.0f} {g(tbf):10.0f} | {f32 / bf:8.2f} {tbf / bf:13.2f} {t32 / bf:12.2f}",
              flush=True)
    print("bf16 path:", path)


if __name__ == "__main__":
    main()
