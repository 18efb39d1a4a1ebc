#!/usr/bin/python3
"""Data-loading benchmark: marrow's loader (bench_data) against torchvision's DataLoader
(peer_data.py) on the same images, same batch size and worker count, alternating for
--rounds rounds; prints a table and one JSON line (bench, case, ours_s, peer, peer_s,
ratio = peer_s / ours_s, higher is better for marrow). Without --list it renders a small
synthetic cohort (apps/synth_cohort, 144 x 144 TIFFs as the AML dataset, or PNGs, or JPEGs as
the lymphocytosis dataset with --format) to read.

  /usr/bin/python3 bench/run_data_bench.py [--build build] [--rounds 3] [--workers 2]
                                           [--format tif|png|jpg]
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

from run_bench import ensure_built

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")][-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--list", help="path list of images (default: a synthetic cohort)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", type=int, default=144)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--format", choices=["tif", "png", "jpg"], default="tif",
                    help="image files of the synthetic cohort (jpg: the lymphocytosis layout)")
    args = ap.parse_args()
    ours_bin = ensure_built(args.build, "bench_data")
    if subprocess.run(["/usr/bin/python3", "-c", "import torchvision"],
                      capture_output=True).returncode != 0:
        sys.exit("the peer needs PyTorch and torchvision: "
                 "sudo apt-get install -y python3-torch python3-torchvision")
    tmp = tempfile.TemporaryDirectory()
    listing = args.list
    if not listing:
        root = os.path.join(tmp.name, "cohort")
        kind = "lymphocytosis" if args.format == "jpg" else "aml"
        subprocess.run([ensure_built(args.build, "synth_cohort", "apps"), "--out", root,
                        "--patients-per-class", "2", "--min-cells", "100", "--max-cells", "200",
                        "--size", "144", "--seed", "1", "--kind", kind, "--format", args.format],
                       check=True, capture_output=True)
        listing = os.path.join(tmp.name, "images.txt")
        ext = {"tif": "TIF", "png": "png", "jpg": "jpg"}[args.format]
        with open(listing, "w") as f:
            f.write("\n".join(sorted(glob.glob(os.path.join(root, "**", "*." + ext),
                                             recursive=True))))
    common = ["--list", listing, "--size", str(args.size), "--workers", str(args.workers),
              "--images", str(args.images)]
    ours, peer, peer_name = [], [], ""
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        ours.append(run_json([ours_bin] + common)["ours_s"])
        line = run_json(["/usr/bin/python3", os.path.join(HERE, "peer_data.py")] + common)
        peer.append(line["peer_s"])
        peer_name = line["peer"]
    o, p = statistics.median(ours), statistics.median(peer)
    case = f"decode+simclr2v_{args.size}" if args.format == "tif" else \
        f"{args.format}+simclr2v_{args.size}"
    row = {"bench": "data", "case": case, "ours_s": o,
           "peer": peer_name, "peer_s": p, "ratio": p / o, "workers": args.workers,
           "rounds": args.rounds}
    print(f"{'bench':6} {'case':22} {'ours img/s':>11} {'peer img/s':>11} {'ratio':>6}")
    print(f"{'data':6} {row['case']:22} {1 / o:11.1f} {1 / p:11.1f} {p / o:6.2f}")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
