#!/usr/bin/python3
"""Runs marrow's op benchmarks and the PyTorch peer in the same run, and prints a table and
one JSON line per case: bench, case, ours_s, peer, peer_s, ratio (= peer_s / ours_s, higher
is better for marrow), plus the peer's best thread setting and the versions.

The cases are the op-case registry's bench tier (tests/ops/cases/*.cpp); bench is the case's
family, "<family>_bwd" for forward+backward timings (see bench/bench_ops.cpp).

Fairness (these 2-core machines are noisy, and torch's pool contends with OpenBLAS's):
ours and the peer alternate for --rounds rounds (GEMM and oneDNN case by case, back to back);
the peer runs with torch at --threads
threads and OpenBLAS 1 and --threads threads, and each case keeps the faster setting; every
number reported is the median over rounds of per-call medians. GEMM cases also run oneDNN's
sgemm (bench/peer_dnnl, built when Debian's libdnnl-dev is installed) and are compared with
the faster of the two peers; their rows add GFLOP/s and the share of the FP32 peak
(FLOP/cycle x nominal clock x threads, --flops-per-cycle, 64 for AVX-512 with two FMA units).

  /usr/bin/python3 bench/run_bench.py [--build build] [--rounds 3] [--filter gemm] [--threads 1]
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
    sys.stderr.write(out.stderr)  # a peer's per-case errors
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def ensure_built(build, target, folder="bench"):
    """The path of build/<folder>/<target>, building it first when the build folder is
    configured (a newcomer who ran the demo has build/ but not the benchmarks); otherwise an
    exit naming the commands that build it."""
    path = os.path.normpath(os.path.join(build, folder, target))
    if os.path.exists(path):
        return path
    root = os.path.normpath(os.path.join(HERE, ".."))
    shown = os.path.normpath(os.path.abspath(build))
    if shown.startswith(root + os.sep):
        shown = os.path.relpath(shown, root)
    configure = f"cmake --preset release && cmake --build {shown} --target {target}"
    if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
        sys.exit(f"{path} is not built and {build} is not a configured build folder; "
                 f"build it with:\n  {configure}")
    print(f"{path} is not built; building it: cmake --build {shown} --target {target}",
          file=sys.stderr, flush=True)
    if subprocess.run(["cmake", "--build", build, "--target", target]).returncode != 0:
        sys.exit(f"building {target} failed; the command was:\n  {configure}")
    return path


def peer_name(torch_version, device, setting):
    if device == "cpu":
        return f"torch {torch_version} cpu (openblas {setting[0]} thr, torch {setting[1]} thr)"
    return f"torch {torch_version} cuda (TF32 off)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--filter", default="",
                    help="cases whose name or bench family contains this (gemm, unary_bwd, relu)")
    ap.add_argument("--min-seconds", default="0.3")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="the interpreter with torch (a GPU machine may have its own)")
    ap.add_argument("--threads", type=int, default=2, help="threads for ours and the peers")
    ap.add_argument("--flops-per-cycle", type=float, default=64.0)
    args = ap.parse_args()
    threads = str(args.threads)
    ours_bin = ensure_built(args.build, "bench_ops")
    cases = json.loads(subprocess.run([ours_bin, "--list", "--device", args.device],
                                      capture_output=True, text=True, check=True).stdout)
    cases = [c for c in cases if args.filter in c["case"] or args.filter in c["bench"]]
    if not cases:
        sys.exit("no benchmark case matches the filter")
    # (OPENBLAS_NUM_THREADS, torch threads); on the GPU the thread setting does not matter
    peer_settings = sorted({("1", threads), (threads, threads)}) if args.device == "cpu" else [("1", threads)]
    dnnl_bin = os.path.join(args.build, "bench", "peer_dnnl")
    gemm_cases = [c for c in cases if c["bench"] == "gemm"]
    use_dnnl = args.device == "cpu" and os.path.exists(dnnl_bin) and gemm_cases
    dnnl = {c["case"]: [] for c in gemm_cases}
    dnnl_name = ""

    ours = {c["case"]: [] for c in cases}
    peer = {(c["case"], s): [] for c in cases for s in peer_settings}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        ours_env = dict(os.environ, OMP_NUM_THREADS=threads)
        # GEMM against oneDNN case by case, back to back, so a slow spell of the VM (they last
        # tens of seconds) slows both sides of a pair alike.
        paired = set()
        if use_dnnl:
            for c in gemm_cases:
                for line in run_lines([ours_bin, "--case", c["case"], "--min-seconds",
                                       args.min_seconds], env=ours_env):
                    if line["case"] == c["case"]:
                        ours[c["case"]].append(line["ours_s"])
                        paired.add(c["case"])
                for line in run_lines([dnnl_bin, args.min_seconds], env=ours_env,
                                      stdin=json.dumps([c])):
                    dnnl[line["case"]].append(line["peer_s"])
                    dnnl_name = line["peer"]
        for line in run_lines([ours_bin, "--filter", args.filter, "--min-seconds",
                               args.min_seconds, "--device", args.device], env=ours_env):
            if line["case"] in ours and line["case"] not in paired:
                ours[line["case"]].append(line["ours_s"])
        for blas, torch_threads in peer_settings:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=blas, TORCH_THREADS=torch_threads,
                       BENCH_MIN_SECONDS=args.min_seconds, BENCH_DEVICE=args.device)
            for line in run_lines([args.python, os.path.join(HERE, "peer_torch.py"), "-"],
                                  env=env, stdin=json.dumps(cases)):
                peer[(line["case"], (blas, torch_threads))].append(line["peer_s"])
    torch_version = subprocess.run([args.python, "-c", "import torch; print(torch.__version__)"],
                                   capture_output=True, text=True).stdout.strip()
    ghz = 0.0
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            mhz = [float(l.split(":")[1]) for l in f if l.startswith("cpu MHz")]
        ghz = mhz[0] / 1000 if mhz else 0.0
    rows = []
    for c in cases:
        o = statistics.median(ours[c["case"]])
        if not all(peer[(c["case"], s)] for s in peer_settings):
            print(f"run_bench: no peer time for {c['case']} (see the peer's errors above)",
                  file=sys.stderr)
            continue
        best = min(peer_settings, key=lambda s: statistics.median(peer[(c["case"], s)]))
        p = statistics.median(peer[(c["case"], best)])
        name = peer_name(torch_version, args.device, best)
        row = {"bench": c["bench"], "case": c["case"], "ours_s": o, "device": args.device,
               "threads": args.threads, "torch_s": p, "rounds": args.rounds}
        if c["bench"] == "gemm" and use_dnnl and dnnl[c["case"]]:
            d = statistics.median(dnnl[c["case"]])
            row["dnnl_s"] = d
            row["dnnl_ratio_per_round"] = [round(x / y, 3) for x, y in
                                           zip(dnnl[c["case"]], ours[c["case"]])]
            if d < p:
                p, name = d, dnnl_name
        if c["bench"] == "gemm":
            prm = c["params"]
            flops = 2 * prm["m"] * prm["n"] * prm["k"] * prm.get("batch", 1)
            row["gflops"] = flops / o / 1e9
            if ghz and args.device == "cpu":  # (the CPU's peak; no GPU peak is known here)
                row["peak_share"] = row["gflops"] / (args.flops_per_cycle * ghz * args.threads)
        row.update({"peer": name, "peer_s": p, "ratio": p / o})
        rows.append(row)
    print(f"{args.threads} thread(s); ratio = faster peer / ours")
    print(f"{'bench':8} {'case':24} {'ours ms':>10} {'torch ms':>10} {'oneDNN ms':>10} "
          f"{'ratio':>7} {'GFLOP/s':>8} {'peak':>5}")
    for r in rows:
        dnnl_ms = f"{1e3 * r['dnnl_s']:10.3f}" if "dnnl_s" in r else f"{'':10}"
        gf = f"{r['gflops']:8.1f}" if "gflops" in r else f"{'':8}"
        pk = f"{100 * r['peak_share']:4.0f}%" if "peak_share" in r else f"{'':5}"
        print(f"{r['bench']:8} {r['case']:24} {1e3 * r['ours_s']:10.3f} {1e3 * r['torch_s']:10.3f} "
              f"{dnnl_ms} {r['ratio']:7.2f} {gf} {pk}")
    for r in rows:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
