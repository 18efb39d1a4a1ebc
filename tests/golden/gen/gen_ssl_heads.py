#!/usr/bin/python3
"""Golden fixture for the self-supervised heads (tests/ssl/test_heads.cpp).

The heads below transcribe the reference code for torch 1.13:
  SimCLR      ProjectionHead as a torch port writes it: nn.Sequential of Linear [BN] ReLU ...
              Linear [BN]; v1 paper (Linear-ReLU-Linear) and google-research/simclr tf2
              model.py (Linear without bias + BN + ReLU middles, last Linear without bias +
              BN(center=False) = a BatchNorm1d whose bias stays 0 with requires_grad False).
  SwAV        facebookresearch/swav src/resnet50.py: projection_head = Sequential(Linear, BN1d,
              ReLU, Linear), F.normalize(dim=1), prototypes = Linear(out, K, bias=False); the
              prototypes are normalized in place under no_grad before each forward
              (main_swav.py).
  DINO        facebookresearch/dino vision_transformer.py DINOHead (norm_last_layer) and
              facebookresearch/dinov2 dinov2/layers/dino_head.py DINOHead (mlp_bias, eps 1e-6 in
              float16, weight_g always trainable); last_layer = nn.utils.weight_norm(Linear).

Weights: torch's init (torch.manual_seed(c)) then, so that biases and norms are not trivially
0 / 1, every trainable parameter += 0.05 N(0, 1) (frozen ones, weight_g with norm_last_layer
and the center=False BN bias, stay as initialized). Everything in float64.

Per config <c> (CONFIGS), model in train mode:
  <c>/sd/<key>        the state_dict the test loads (PyTorch's keys; metadata keys.<c> their order)
  <c>/x               input (float64)
  <c>/r, <c>/r2       fixed weights of the loss: loss = sum(out * r) (+ sum(embedding * r2) for SwAV)
  <c>/out             the head's output (SwAV: scores; <c>/embedding the normalized embedding)
  <c>/loss            the loss
  <c>/x.grad          d loss / d x
  <c>/grad/<key>      d loss / d parameter, for each parameter that requires grad
  <c>/buffers/<key>   BN running statistics after the forward
  <c>/adamw_losses    (3,) losses of 3 AdamW steps (lr 1e-2, wd 0.05) from the loaded state
                      (one forward each; SwAV normalizes its prototypes before each)
  <c>/after/<key>     the state_dict after those 3 steps
  <c>/out.f32         the float32 model's output on x rounded to float32 (eval mode)
  metadata config.<c> the head's arguments (JSON)

Run with Debian's python3-torch: /usr/bin/python3 gen_ssl_heads.py OUT.safetensors
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.init import trunc_normal_
from torch.nn.utils import weight_norm

from safetensors_io import save


# ---- SimCLR projection heads (a torch port's nn.Sequential)
def projection_head(c):
    layers, width = [], c["in"]
    for _ in range(c["layers"] - 1):
        layers.append(nn.Linear(width, c["hidden"], bias=c["bias"]))
        if c["batch_norm"]:
            layers.append(nn.BatchNorm1d(c["hidden"]))
        layers.append(nn.ReLU())
        width = c["hidden"]
    layers.append(nn.Linear(width, c["out"], bias=c["last_bias"]))
    if c["last_batch_norm"]:
        bn = nn.BatchNorm1d(c["out"])
        if not c["last_bn_center"]:
            bn.bias.requires_grad = False
        layers.append(bn)
    return nn.Sequential(*layers)


# ---- SwAV (resnet50.py's projection_head + prototypes, forward_head)
class SwavHead(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.projection_head = nn.Sequential(
            nn.Linear(c["in"], c["hidden"]),
            nn.BatchNorm1d(c["hidden"]),
            nn.ReLU(inplace=True),
            nn.Linear(c["hidden"], c["out"]),
        )
        self.prototypes = nn.Linear(c["out"], c["prototypes"], bias=False)

    def normalize_prototypes(self):
        with torch.no_grad():
            w = self.prototypes.weight.data.clone()
            w = nn.functional.normalize(w, dim=1, p=2)
            self.prototypes.weight.copy_(w)

    def forward(self, x):
        x = self.projection_head(x)
        x = nn.functional.normalize(x, dim=1, p=2)
        return x, self.prototypes(x)


# ---- DINO v1 (dino/vision_transformer.py)
class DINOHeadV1(nn.Module):
    def __init__(self, in_dim, out_dim, use_bn=False, norm_last_layer=True, nlayers=3,
                 hidden_dim=2048, bottleneck_dim=256):
        super().__init__()
        nlayers = max(nlayers, 1)
        if nlayers == 1:
            self.mlp = nn.Linear(in_dim, bottleneck_dim)
        else:
            layers = [nn.Linear(in_dim, hidden_dim)]
            if use_bn:
                layers.append(nn.BatchNorm1d(hidden_dim))
            layers.append(nn.GELU())
            for _ in range(nlayers - 2):
                layers.append(nn.Linear(hidden_dim, hidden_dim))
                if use_bn:
                    layers.append(nn.BatchNorm1d(hidden_dim))
                layers.append(nn.GELU())
            layers.append(nn.Linear(hidden_dim, bottleneck_dim))
            self.mlp = nn.Sequential(*layers)
        self.apply(self._init_weights)
        self.last_layer = weight_norm(nn.Linear(bottleneck_dim, out_dim, bias=False))
        self.last_layer.weight_g.data.fill_(1)
        if norm_last_layer:
            self.last_layer.weight_g.requires_grad = False

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.mlp(x)
        x = nn.functional.normalize(x, dim=-1, p=2)
        x = self.last_layer(x)
        return x


# ---- DINOv2 (dinov2/layers/dino_head.py)
def _build_mlp(nlayers, in_dim, bottleneck_dim, hidden_dim=None, use_bn=False, bias=True):
    if nlayers == 1:
        return nn.Linear(in_dim, bottleneck_dim, bias=bias)
    layers = [nn.Linear(in_dim, hidden_dim, bias=bias)]
    if use_bn:
        layers.append(nn.BatchNorm1d(hidden_dim))
    layers.append(nn.GELU())
    for _ in range(nlayers - 2):
        layers.append(nn.Linear(hidden_dim, hidden_dim, bias=bias))
        if use_bn:
            layers.append(nn.BatchNorm1d(hidden_dim))
        layers.append(nn.GELU())
    layers.append(nn.Linear(hidden_dim, bottleneck_dim, bias=bias))
    return nn.Sequential(*layers)


class DINOHeadV2(nn.Module):
    def __init__(self, in_dim, out_dim, use_bn=False, nlayers=3, hidden_dim=2048,
                 bottleneck_dim=256, mlp_bias=True):
        super().__init__()
        nlayers = max(nlayers, 1)
        self.mlp = _build_mlp(nlayers, in_dim, bottleneck_dim, hidden_dim=hidden_dim,
                              use_bn=use_bn, bias=mlp_bias)
        self.apply(self._init_weights)
        self.last_layer = weight_norm(nn.Linear(bottleneck_dim, out_dim, bias=False))
        self.last_layer.weight_g.data.fill_(1)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.mlp(x)
        eps = 1e-6 if x.dtype == torch.float16 else 1e-12
        x = nn.functional.normalize(x, dim=-1, p=2, eps=eps)
        x = self.last_layer(x)
        return x


CONFIGS = {
    # SimCLR v1 paper's head (the SSL-MIL seed's 512 -> 512 -> 64 at a small width)
    "proj_v1": {"kind": "projection", "in": 12, "hidden": 12, "out": 6, "layers": 2,
                "batch_norm": False, "bias": True, "last_bias": True, "last_batch_norm": False,
                "last_bn_center": True, "x": [5, 12]},
    # SimCLR TF2 code's 3-layer head
    "proj_tf2": {"kind": "projection", "in": 10, "hidden": 10, "out": 6, "layers": 3,
                 "batch_norm": True, "bias": False, "last_bias": False, "last_batch_norm": True,
                 "last_bn_center": False, "x": [6, 10]},
    "swav": {"kind": "swav", "in": 10, "hidden": 16, "out": 8, "prototypes": 12, "x": [5, 10]},
    "dino": {"kind": "dino_v1", "in": 10, "out": 20, "use_bn": False, "norm_last_layer": True,
             "nlayers": 3, "hidden": 16, "bottleneck": 8, "x": [4, 10]},
    "dino_bn": {"kind": "dino_v1", "in": 10, "out": 20, "use_bn": True, "norm_last_layer": False,
                "nlayers": 2, "hidden": 16, "bottleneck": 8, "x": [5, 10]},
    "dino_1layer": {"kind": "dino_v1", "in": 10, "out": 14, "use_bn": False,
                    "norm_last_layer": True, "nlayers": 1, "hidden": 16, "bottleneck": 8,
                    "x": [3, 10]},
    # the iBOT patch head: DINOv2's head on (B, N, in) tokens, without MLP biases
    "dinov2_patch": {"kind": "dino_v2", "in": 10, "out": 20, "use_bn": False, "nlayers": 3,
                     "hidden": 16, "bottleneck": 8, "mlp_bias": False, "x": [2, 5, 10]},
}


def build(c):
    k = c["kind"]
    if k == "projection":
        return projection_head(c)
    if k == "swav":
        return SwavHead(c)
    if k == "dino_v1":
        return DINOHeadV1(c["in"], c["out"], use_bn=c["use_bn"],
                          norm_last_layer=c["norm_last_layer"], nlayers=c["nlayers"],
                          hidden_dim=c["hidden"], bottleneck_dim=c["bottleneck"])
    return DINOHeadV2(c["in"], c["out"], use_bn=c["use_bn"], nlayers=c["nlayers"],
                      hidden_dim=c["hidden"], bottleneck_dim=c["bottleneck"],
                      mlp_bias=c["mlp_bias"])


def run(model, c, x, r, r2):
    """(output, embedding or None, loss) of one forward."""
    if c["kind"] == "swav":
        model.normalize_prototypes()
        emb, out = model(x)
        return out, emb, (out * r).sum() + (emb * r2).sum()
    out = model(x)
    return out, None, (out * r).sum()


def case(name, c, seed, tensors, meta):
    torch.manual_seed(seed)
    model = build(c).double()
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn_like(p))
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    meta["keys." + name] = json.dumps(list(sd.keys()))
    meta["config." + name] = json.dumps(c)
    p = name + "/"
    for k, v in sd.items():
        tensors[p + "sd/" + k] = v
    x = torch.randn(*c["x"], dtype=torch.float64)
    out_shape = list(c["x"][:-1]) + [c["prototypes"] if c["kind"] == "swav" else c["out"]]
    r = torch.randn(*out_shape, dtype=torch.float64)
    r2 = torch.randn(c["x"][0], c.get("out", 1), dtype=torch.float64)
    tensors[p + "x"], tensors[p + "r"], tensors[p + "r2"] = x, r, r2

    model.train()
    xg = x.clone().requires_grad_(True)
    out, emb, loss = run(model, c, xg, r, r2)
    loss.backward()
    tensors[p + "out"] = out.detach()
    if emb is not None:
        tensors[p + "embedding"] = emb.detach()
    tensors[p + "loss"] = loss.detach().reshape(1)
    tensors[p + "x.grad"] = xg.grad
    for k, prm in model.named_parameters():
        if prm.requires_grad:
            tensors[p + "grad/" + k] = prm.grad.clone()
    for k, b in model.named_buffers():
        tensors[p + "buffers/" + k] = b.clone()

    # 3 AdamW steps from the loaded state (as the test: a fresh load, then step).
    model.load_state_dict(sd)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.05)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        _, _, loss = run(model, c, x, r, r2)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    tensors[p + "adamw_losses"] = torch.tensor(losses, dtype=torch.float64)
    for k, v in model.state_dict().items():
        tensors[p + "after/" + k] = v.clone()

    # float32, eval mode, from the loaded state
    model.load_state_dict(sd)
    model32 = model.float().eval()
    with torch.no_grad():
        if c["kind"] == "swav":
            tensors[p + "out.f32"] = model32(x.float())[1]
        else:
            tensors[p + "out.f32"] = model32(x.float())


def main(argv):
    torch.set_default_dtype(torch.float64)
    tensors, meta = {}, {}
    for i, (name, c) in enumerate(CONFIGS.items()):
        case(name, c, 100 + i, tensors, meta)
    torch.set_default_dtype(torch.float32)
    save(argv[1], tensors, meta)


if __name__ == "__main__":
    main(sys.argv)
