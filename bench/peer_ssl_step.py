#!/usr/bin/python3
"""PyTorch's side of bench_ssl_step: one self-supervised training step on fixed random crops.

  simclr_resnet18: two views of B images (one forward of the 2B batch, as our multi-crop
    forward concatenates equal sizes), torchvision's ResNet-18 with fc = Identity, the seed's
    projection MLP Linear(512, 512)-ReLU-Linear(512, 64), NT-Xent (tau 0.1) written as the
    usual PyTorch code (normalize, z z^T / tau, -inf diagonal, cross-entropy to the other
    view), SGD momentum 0.9 (torch has no LARS; ours runs SGD here too).
  dino_vit_small: DINO's step (facebookresearch/dino main_dino.py train_one_epoch) with the
    ViT-S/16 of tests/golden/gen/gen_vit.py (no LayerScale, as DINO v1), 2 global crops of
    --size and 8 local crops of 96 px, DINOHead(384, K=4096, hidden 2048, bottleneck 256,
    weight-normed last layer), DINOLoss (teacher softmax with centering, student 0.1),
    AdamW, per-parameter clip 3.0, EMA teacher (momentum 0.996).
Prints one JSON line: the median step seconds over --steps after --warmup, images per second.

  /usr/bin/python3 bench/peer_ssl_step.py --model simclr_resnet18 --batch 32 --size 144
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "golden", "gen"))


def nt_xent(z, tau):
    z = F.normalize(z, dim=1)
    n2 = z.shape[0]
    sim = z @ z.t() / tau
    sim.fill_diagonal_(float("-inf"))
    targets = (torch.arange(n2) + n2 // 2) % n2
    return F.cross_entropy(sim, targets)


class DINOHead(torch.nn.Module):
    def __init__(self, in_dim, out_dim, hidden=2048, bottleneck=256):
        super().__init__()
        self.mlp = torch.nn.Sequential(torch.nn.Linear(in_dim, hidden), torch.nn.GELU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.GELU(),
                                       torch.nn.Linear(hidden, bottleneck))
        self.last_layer = torch.nn.utils.weight_norm(
            torch.nn.Linear(bottleneck, out_dim, bias=False))
        self.last_layer.weight_g.data.fill_(1)
        self.last_layer.weight_g.requires_grad = False

    def forward(self, x):
        return self.last_layer(F.normalize(self.mlp(x), dim=-1, p=2))


class Wrapper(torch.nn.Module):  # DINO's MultiCropWrapper
    def __init__(self, backbone, head):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, crops):
        sizes = torch.tensor([c.shape[-1] for c in crops])
        idx = torch.cumsum(torch.unique_consecutive(sizes, return_counts=True)[1], 0)
        start, out = 0, []
        for end in idx.tolist():
            out.append(self.backbone(torch.cat(crops[start:end])))
            start = end
        return self.head(torch.cat(out))


class ViTBackbone(torch.nn.Module):
    def __init__(self, size):
        super().__init__()
        from gen_vit import DinoVisionTransformer
        self.vit = DinoVisionTransformer(img_size=size, patch_size=16, embed_dim=384, depth=12,
                                         num_heads=6)

    def forward(self, x):
        return self.vit.forward_features(x)["x_norm_clstoken"]


def dino_loss(student_out, teacher_out, center, ncrops, tt=0.04, st=0.1):
    student = (student_out / st).chunk(ncrops)
    teacher = F.softmax((teacher_out - center) / tt, dim=-1).detach().chunk(2)
    total, n = 0, 0
    for iq, q in enumerate(teacher):
        for v in range(len(student)):
            if v == iq:
                continue
            total = total + torch.sum(-q * F.log_softmax(student[v], dim=-1), dim=-1).mean()
            n += 1
    with torch.no_grad():
        center.mul_(0.9).add_(teacher_out.mean(0, keepdim=True), alpha=0.1)
    return total / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="simclr_resnet18",
                    choices=["simclr_resnet18", "dino_vit_small"])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--size", type=int, default=144)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    b = args.batch
    if args.model == "simclr_resnet18":
        backbone = torchvision.models.resnet18()
        backbone.fc = torch.nn.Identity()
        model = torch.nn.Sequential(backbone, torch.nn.Linear(512, 512), torch.nn.ReLU(),
                                    torch.nn.Linear(512, 64))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-6)
        views = [torch.randn(b, 3, args.size, args.size) for _ in range(2)]
        model.train()

        def step():
            loss = nt_xent(model(torch.cat(views)), 0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return loss.item()
        images = 2 * b
    else:
        student = Wrapper(ViTBackbone(args.size), DINOHead(384, 4096))
        teacher = Wrapper(ViTBackbone(args.size), DINOHead(384, 4096))
        teacher.load_state_dict(student.state_dict())
        for p in teacher.parameters():
            p.requires_grad = False
        center = torch.zeros(1, 4096)
        opt = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad],
                                lr=5e-4, weight_decay=0.04)
        crops = [torch.randn(b, 3, args.size, args.size) for _ in range(2)] + \
                [torch.randn(b, 3, 96, 96) for _ in range(8)]

        def step():
            with torch.no_grad():
                teacher_out = teacher(crops[:2])
            loss = dino_loss(student(crops), teacher_out, center, len(crops))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for p in student.parameters():  # DINO's clip_gradients(student, 3.0)
                if p.grad is not None:
                    norm = p.grad.data.norm(2)
                    ratio = 3.0 / (norm + 1e-6)
                    if ratio < 1:
                        p.grad.data.mul_(ratio)
            opt.step()
            with torch.no_grad():
                for ps, pt in zip(student.parameters(), teacher.parameters()):
                    pt.data.mul_(0.996).add_((1 - 0.996) * ps.detach().data)
            return loss.item()
        images = 10 * b
    times = []
    for s in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        value = step()
        t1 = time.perf_counter()
        if s >= args.warmup:
            times.append(t1 - t0)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"bench": "ssl_step", "model": args.model, "batch": b, "size": args.size,
                      "step_s": median, "images_per_s": images / median, "loss": value,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "threads": args.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
