#!/usr/bin/python3
"""Loading a ViT-B/14 checkpoint from .pth into the model: marrow (bench/bench_load:
load_state_dict_file + strict load_state_dict into nn::models::vit_base) against PyTorch
(torch.load(f, map_location="cpu") + strict model.load_state_dict into DINOv2's ViT-B/14, the
DinoVisionTransformer of tests/golden/gen/gen_vit.py) in the same run.

The checkpoint is built here as plain tensors under DINOv2's ViT-B/14 keys and shapes
(cls_token, pos_embed (1, 1370, 768), mask_token, patch_embed.proj, 12 blocks of
norm1/attn.qkv/attn.proj/ls1/norm2/mlp.fc1/fc2/ls2, norm: 86.6M parameters, ~346 MB) and
written with torch.save to --file (default /tmp, never committed); the file is read once
before timing so both sides load from a warm page cache. Each round runs ours (one process,
--reps loads, median) then torch (one process, same), alternating; the table shows the
medians over rounds and ratio = torch time / ours (above 1: marrow is faster). One JSON line.

  /usr/bin/python3 bench/run_load_bench.py [--build build] [--rounds 5] [--reps 3]
      [--threads 2] [--file /tmp/marrow_vitb14.pth]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

from run_bench import ensure_built, run_lines

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "tests", "golden", "gen")

PEER = r"""
import json, statistics, sys, time, torch
sys.path.insert(0, sys.argv[4])
from gen_vit import DinoVisionTransformer
torch.set_num_threads(int(sys.argv[3]))
path, reps = sys.argv[1], int(sys.argv[2])
model = DinoVisionTransformer(img_size=518, patch_size=14, embed_dim=768, depth=12, num_heads=12,
                              init_values=1.0)
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    model.load_state_dict(torch.load(path, map_location="cpu"))  # strict
    times.append(time.perf_counter() - t0)
print(json.dumps({"times": times}))
"""


def vit_b14_state_dict():
    import torch
    d, hidden, tokens = 768, 3072, 37 * 37 + 1
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g) * 0.02
    sd = {"cls_token": r(1, 1, d), "pos_embed": r(1, tokens, d), "mask_token": r(1, d),
          "patch_embed.proj.weight": r(d, 3, 14, 14), "patch_embed.proj.bias": r(d)}
    for i in range(12):
        b = f"blocks.{i}."
        sd.update({b + "norm1.weight": r(d), b + "norm1.bias": r(d),
                   b + "attn.qkv.weight": r(3 * d, d), b + "attn.qkv.bias": r(3 * d),
                   b + "attn.proj.weight": r(d, d), b + "attn.proj.bias": r(d),
                   b + "ls1.gamma": r(d), b + "norm2.weight": r(d), b + "norm2.bias": r(d),
                   b + "mlp.fc1.weight": r(hidden, d), b + "mlp.fc1.bias": r(hidden),
                   b + "mlp.fc2.weight": r(d, hidden), b + "mlp.fc2.bias": r(d),
                   b + "ls2.gamma": r(d)})
    sd["norm.weight"], sd["norm.bias"] = r(d), r(d)
    return sd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--file", default="/tmp/marrow_vitb14.pth")
    ap.add_argument("--python", default="/usr/bin/python3")
    args = ap.parse_args()
    ours_bin = ensure_built(args.build, "bench_load")
    if not os.path.exists(args.file):
        import torch
        sd = vit_b14_state_dict()
        params = sum(v.numel() for v in sd.values())
        torch.save(sd, args.file)
        print(f"wrote {args.file}: {len(sd)} tensors, {params / 1e6:.1f}M parameters",
              file=sys.stderr)
    with open(args.file, "rb") as f:  # warm the page cache
        while f.read(1 << 24):
            pass
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS="1")
    ours_t, peer_t, info = [], [], {}
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        info = run_lines([ours_bin, args.file, "--reps", str(args.reps)], env=env)[0]
        ours_t.append(statistics.median(info["times"]))
        out = subprocess.run([args.python, "-c", PEER, args.file, str(args.reps),
                              str(args.threads), GEN], env=env, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"torch peer failed:\n{out.stderr}")
        peer_t.append(statistics.median(json.loads(out.stdout.splitlines()[-1])["times"]))
    ours, peer = statistics.median(ours_t), statistics.median(peer_t)
    mb = info["bytes"] / 1e6
    print(f"{args.threads} thread(s), {info['tensors']} tensors, {mb:.0f} MB; "
          f"ratio = torch time / ours")
    print(f"{'case':24s} {'ours s':>8s} {'torch s':>8s} {'ours GB/s':>10s} {'ratio':>6s}")
    print(f"{'load_vit_b14_pth':24s} {ours:8.3f} {peer:8.3f} {mb / 1e3 / ours:10.2f} "
          f"{peer / ours:6.2f}")
    print(json.dumps({"bench": "load_pth", "case": "vit_b14", "tensors": info["tensors"],
                      "bytes": info["bytes"], "threads": args.threads, "rounds": args.rounds,
                      "ours_s": ours, "peer": "torch.load+load_state_dict", "peer_s": peer,
                      "ratio": peer / ours, "ours_rounds": ours_t, "peer_rounds": peer_t}))


if __name__ == "__main__":
    main()
