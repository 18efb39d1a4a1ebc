#!/usr/bin/python3
"""The PyTorch peer of the attention-under-autocast timing in
tests/ops/test_attention_autocast.cpp (MARROW_ATTENTION_TIMING=1 test_attention
-tc='*timed*'): forward + backward of the composed attention softmax(q k^T / sqrt(E)) v
(torch 1.13 has no F.scaled_dot_product_attention) in float32 and under
torch.autocast("cpu", dtype=torch.bfloat16), at DINOv2's ViT-S / ViT-B shapes; best of 5.

  /usr/bin/python3 bench/peer_attention_autocast.py [--threads 2]
"""
import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for name, shape in (("ViT-S 8x6x257x64", (8, 6, 257, 64)),
                        ("ViT-B 8x12x197x64", (8, 12, 197, 64))):
        gen = torch.Generator().manual_seed(0)
        q, k, v, g = (torch.randn(shape, generator=gen) for _ in range(4))
        for amp in (False, True):
            best = float("inf")
            for _ in range(6):
                qq, kk, vv = (t.clone().requires_grad_() for t in (q, k, v))
                t0 = time.perf_counter()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
                    s = torch.matmul(qq, kk.transpose(-2, -1)) * (shape[-1] ** -0.5)
                    out = torch.matmul(torch.softmax(s, -1), vv)
                out.float().backward(g)
                best = min(best, time.perf_counter() - t0)
            print(f"torch {name} {'bf16 autocast' if amp else 'f32'} fwd+bwd best of 6: "
                  f"{best * 1e3:.1f} ms (threads {args.threads})")


if __name__ == "__main__":
    main()
