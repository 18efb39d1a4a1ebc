#!/usr/bin/python3
"""PyTorch's side of bench_train: one training step on fixed random images and labels,
cross-entropy on 1000 classes: torchvision's ResNet (train mode, SGD momentum 0.9 + weight
decay 1e-4), or DINOv2's ViT-S/14 (the DinoVisionTransformer of tests/golden/gen/gen_vit.py,
which matches facebookresearch/dinov2's; torch 1.13 has no fused attention, so attention is
the matmul-softmax-matmul DINOv2 falls back to) with a Linear(384, 1000) head on the cls
token and AdamW (lr 1e-4, wd 0.04, foreach); --checkpoint wraps each block in
torch.utils.checkpoint. The median step over --steps after --warmup, images per second and
the process's peak resident memory (ru_maxrss: run one model per process). One JSON line.

  /usr/bin/python3 bench/peer_train.py [--model resnet18] [--batch 32] [--size 144] [--threads 2]
"""
import argparse
import json
import resource
import time

import os
import sys

import torch
import torch.utils.checkpoint
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "golden", "gen"))


class VitClassifier(torch.nn.Module):
    def __init__(self, checkpoint):
        super().__init__()
        from gen_vit import DinoVisionTransformer
        self.backbone = DinoVisionTransformer(img_size=224, patch_size=14, embed_dim=384,
                                              depth=12, num_heads=6, init_values=1e-5)
        torch.nn.init.trunc_normal_(self.backbone.pos_embed, std=0.02)
        for m in self.backbone.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.trunc_normal_(m.weight, std=0.02)
                torch.nn.init.zeros_(m.bias)
        self.head = torch.nn.Linear(384, 1000)
        self.checkpoint = checkpoint

    def forward(self, x):
        b = self.backbone
        x = b.prepare_tokens_with_masks(x)
        for blk in b.blocks:
            x = torch.utils.checkpoint.checkpoint(blk, x) if self.checkpoint else blk(x)
        return self.head(b.norm(x)[:, 0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnet18", choices=["resnet18", "resnet50", "vit_s14"])
    ap.add_argument("--checkpoint", action="store_true")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=144)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--autocast", default="none", choices=["none", "bf16"])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--inference", action="store_true", help="forward only, eval, no_grad")
    ap.add_argument("--freeze", action="store_true",
                    help="with --inference: torch.jit.freeze (folds each batch norm into its conv)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model == "vit_s14":
        model = VitClassifier(args.checkpoint)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.04, foreach=True)
    else:
        model = getattr(torchvision.models, args.model)()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    model.train(not args.inference)
    model.to(args.device)
    if args.freeze:
        assert args.inference, "--freeze needs --inference"
        model = torch.jit.freeze(torch.jit.script(model))
    images = torch.randn(args.batch, 3, args.size, args.size).to(args.device)
    labels = torch.randint(0, 1000, (args.batch,)).to(args.device)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for s in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        if args.inference:
            with torch.no_grad():
                value = model(images).sum().item()  # on a GPU: waits for the forward
        else:
            with torch.autocast(args.device, dtype=torch.bfloat16,
                                enabled=args.autocast == "bf16"):
                loss = torch.nn.functional.cross_entropy(model(images), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            value = loss.item()  # on a GPU: waits for the step
        t1 = time.perf_counter()
        if s >= args.warmup:
            times.append(t1 - t0)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"bench": "train_step", "model": args.model, "batch": args.batch,
                      "size": args.size, "step_s": median, "images_per_s": args.batch / median,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "loss": value, "steps": args.steps, "checkpoint": args.checkpoint,
                      "freeze": args.freeze, "threads": args.threads,
                      "torch": torch.__version__, "device": args.device,
                      "cuda_peak_mb": torch.cuda.max_memory_allocated() / 2**20
                      if args.device == "cuda" else None}))


if __name__ == "__main__":
    main()
