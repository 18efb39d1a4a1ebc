#!/usr/bin/python3
"""Golden fixture for the DINOv2-layout vision transformers (tests/nn/test_vit_golden.cpp).

The model below is DINOv2's `DinoVisionTransformer` (facebookresearch/dinov2,
dinov2/models/vision_transformer.py and dinov2/layers/) written out for torch 1.13, which has
no F.scaled_dot_product_attention: attention is softmax(q k^T / sqrt(d)) v, as DINOv2's
Attention computes it. Same module tree, so the same state_dict keys
(`blocks.N.norm1.weight`, `blocks.N.attn.qkv.weight`, `blocks.N.ls1.gamma`, `mlp.fc1` or
SwiGLU's `mlp.w12`/`mlp.w3`, `cls_token`, `pos_embed`, `register_tokens`, `mask_token`,
`patch_embed.proj.*`, `norm.*`), and the same `interpolate_pos_encoding` (bicubic,
scale_factor = (w0 + 0.1) / M, antialias off; DINOv2 resizes in float32 and casts back,
the float64 model here resizes in float64).

Weights: every state_dict entry from `formula(key, shape)` (the counter-based uniforms u of
gen_resnet.py), rounded to float32:
  pos_embed, cls_token, register_tokens, mask_token:  0.1 (2u - 1)
  ls1.gamma / ls2.gamma:                              0.1 + 0.4 u
  norm weight (any key whose leaf module is a norm):  1 + 0.2 (2u - 1)
  norm bias:                                          0.1 (2u - 1)
  other weights (linear, patch conv; >= 2 dims):      (2u - 1) sqrt(3 / fan_in)
  other biases:                                       0.02 (2u - 1)
  head.weight (the test's linear head, (10, D)):      (2u - 1) sqrt(3 / D)

Per config <c> (table CONFIGS), float64 unless noted, batch of 2:
  <c>/x                 input images (2, 3, H, W), float32 (the float64 run uses them exactly)
  <c>/masks             (2, H/p * W/p) bool, only for configs with masks (mask_token path)
  <c>/cls, <c>/patch, <c>/reg   forward_features' x_norm_clstoken, x_norm_patchtokens,
                        x_norm_regtokens (when registers), train mode = eval mode here
  <c>/prenorm.sum       x_prenorm summed per image (2,)
  <c>/target            (2,) labels for the loss
  <c>/loss              cross_entropy(cls @ head.weight^T, target) + 0.1 mean(patch^2)
  <c>/x.grad            d loss / d x
  <c>/grad_stats/<key>  (sum, sum |g|) of every parameter's gradient (head.weight included;
                        none for mask_token when the config has no masks: it gets no gradient)
  <c>/grad_sample/<key> the gradient at 16 flat positions (i * 7919 mod numel)
  <c>/adamw_losses      (5,) the losses of 5 AdamW steps (lr 1e-3, wd 0.05) from the formula
  <c>/cls.f32           x_norm_clstoken of the float32 model on the float32 input
  metadata keys.<c>     the model's state_dict keys (JSON), config.<c> its arguments (JSON)

`--export DIR` instead writes each config's float32 state_dict as DIR/<c>.pth (torch.save)
and DIR/<c>.safetensors, plus DIR/<c>_dinobloom.pth shaped like a DinoBloom release
({"teacher": {"backbone.<key>": ..., "dino_head.mlp.0.weight": ...}}), for the
torch-present test that loads real torch.save files (tests/CMakeLists.txt, vit_pth_export).

Run with Debian's python3-torch: /usr/bin/python3 gen_vit.py OUT.safetensors [--export DIR]
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gen_resnet import uniforms
from safetensors_io import save

SAMPLES = 16

# name: (DinoVisionTransformer arguments, input (H, W), with masks)
CONFIGS = {
    # ViT-S/14 at 224 px (257 positions) run on 56 px: the 16 x 16 grid resized to 4 x 4.
    "vits14": (dict(img_size=224, patch_size=14, embed_dim=384, depth=12, num_heads=6,
                    init_values=1.0), (56, 56), False),
    # ViT-S/14 with 4 registers at 518 px (1370 positions, as the hub's reg models), run on
    # a non-square 70 x 84 image (5 x 6 grid), with iBOT-style masks.
    "vits14_reg4": (dict(img_size=518, patch_size=14, embed_dim=384, depth=12, num_heads=6,
                         init_values=1.0, num_register_tokens=4), (70, 84), True),
    "vitb14": (dict(img_size=224, patch_size=14, embed_dim=768, depth=12, num_heads=12,
                    init_values=1.0), (42, 42), False),
    # ViT-g's block structure (SwiGLU FFN) at a small width, input at its native size.
    "swiglu_tiny": (dict(img_size=56, patch_size=14, embed_dim=64, depth=2, num_heads=2,
                         init_values=1.0, ffn_layer="swiglufused", num_register_tokens=1),
                    (56, 56), False),
}


# ---- DINOv2's modules (dinov2/layers), inference and training paths without xFormers
class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class SwiGLUFFNFused(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        hidden = (int(hidden * 2 / 3) + 7) // 8 * 8
        self.w12 = nn.Linear(dim, 2 * hidden)
        self.w3 = nn.Linear(hidden, dim)

    def forward(self, x):
        x1, x2 = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(x1) * x2)


class LayerScale(nn.Module):
    def __init__(self, dim, init_values):
        super().__init__()
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim, bias=True)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * self.scale, qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Block(nn.Module):
    def __init__(self, dim, num_heads, init_values, ffn_layer):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim, init_values) if init_values else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = ffn_layer(dim, 4 * dim)
        self.ls2 = LayerScale(dim, init_values) if init_values else nn.Identity()

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, patch_size, embed_dim):
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class DinoVisionTransformer(nn.Module):
    def __init__(self, img_size, patch_size, embed_dim, depth, num_heads, init_values=None,
                 ffn_layer="mlp", num_register_tokens=0, interpolate_offset=0.1):
        super().__init__()
        self.patch_size = patch_size
        self.num_register_tokens = num_register_tokens
        self.interpolate_offset = interpolate_offset
        self.patch_embed = PatchEmbed(patch_size, embed_dim)
        num_patches = (img_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dim))
        self.register_tokens = (nn.Parameter(torch.zeros(1, num_register_tokens, embed_dim))
                                if num_register_tokens else None)
        ffn = SwiGLUFFNFused if ffn_layer == "swiglufused" else Mlp
        self.blocks = nn.ModuleList(
            [Block(embed_dim, num_heads, init_values, ffn) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Identity()
        self.mask_token = nn.Parameter(torch.zeros(1, embed_dim))

    def interpolate_pos_encoding(self, x, w, h):
        previous_dtype = x.dtype
        npatch = x.shape[1] - 1
        N = self.pos_embed.shape[1] - 1
        if npatch == N and w == h:
            return self.pos_embed
        pos_embed = self.pos_embed.float() if x.dtype != torch.float64 else self.pos_embed
        class_pos_embed = pos_embed[:, 0]
        patch_pos_embed = pos_embed[:, 1:]
        dim = x.shape[-1]
        w0 = w // self.patch_size
        h0 = h // self.patch_size
        M = int(math.sqrt(N))
        assert N == M * M
        sx = float(w0 + self.interpolate_offset) / M
        sy = float(h0 + self.interpolate_offset) / M
        patch_pos_embed = F.interpolate(
            patch_pos_embed.reshape(1, M, M, dim).permute(0, 3, 1, 2),
            mode="bicubic", antialias=False, scale_factor=(sx, sy))
        assert (w0, h0) == patch_pos_embed.shape[-2:]
        patch_pos_embed = patch_pos_embed.permute(0, 2, 3, 1).view(1, -1, dim)
        return torch.cat((class_pos_embed.unsqueeze(0), patch_pos_embed), dim=1).to(previous_dtype)

    def prepare_tokens_with_masks(self, x, masks=None):
        B, nc, w, h = x.shape
        x = self.patch_embed(x)
        if masks is not None:
            x = torch.where(masks.unsqueeze(-1), self.mask_token.to(x.dtype).unsqueeze(0), x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.interpolate_pos_encoding(x, w, h)
        if self.register_tokens is not None:
            x = torch.cat((x[:, :1], self.register_tokens.expand(x.shape[0], -1, -1), x[:, 1:]),
                          dim=1)
        return x

    def forward_features(self, x, masks=None):
        x = self.prepare_tokens_with_masks(x, masks)
        for blk in self.blocks:
            x = blk(x)
        x_norm = self.norm(x)
        r = self.num_register_tokens
        return {"x_norm_clstoken": x_norm[:, 0], "x_norm_regtokens": x_norm[:, 1:r + 1],
                "x_norm_patchtokens": x_norm[:, r + 1:], "x_prenorm": x}


# ---- weights
NORM_LEAVES = ("norm", "norm1", "norm2")


def formula(key, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    u = uniforms(key, n)
    parts = key.split(".")
    leaf, module = parts[-1], (parts[-2] if len(parts) > 1 else "")
    if key in ("pos_embed", "cls_token", "register_tokens", "mask_token"):
        v = 0.1 * (2 * u - 1)
    elif leaf == "gamma":
        v = 0.1 + 0.4 * u
    elif module in NORM_LEAVES:
        v = 1 + 0.2 * (2 * u - 1) if leaf == "weight" else 0.1 * (2 * u - 1)
    elif len(shape) >= 2:
        v = (2 * u - 1) * np.sqrt(3.0 / (n // shape[0]))
    else:
        v = 0.02 * (2 * u - 1)
    return torch.tensor(v, dtype=torch.float32).double().reshape(shape)


def build(config, dtype):
    model = DinoVisionTransformer(**config)
    model.load_state_dict({k: formula(k, tuple(v.shape)) for k, v in model.state_dict().items()})
    return model.to(dtype)


def features_loss(model, head, x, masks, target):
    out = model.forward_features(x, masks)
    logits = out["x_norm_clstoken"] @ head.t()
    loss = F.cross_entropy(logits, target) + 0.1 * out["x_norm_patchtokens"].pow(2).mean()
    return out, loss


def golden(name, config, hw, with_masks, tensors, meta):
    p = name + "/"
    gen = torch.Generator().manual_seed(7)
    x32 = torch.randn(2, 3, *hw, generator=gen)
    grid = (hw[0] // config["patch_size"]) * (hw[1] // config["patch_size"])
    masks = (torch.rand(2, grid, generator=gen) < 0.3) if with_masks else None
    target = torch.tensor([3, 7])
    dim = config["embed_dim"]

    with torch.no_grad():
        tensors[p + "cls.f32"] = build(config, torch.float32).forward_features(x32, masks)[
            "x_norm_clstoken"]

    model = build(config, torch.float64)
    head = formula("head.weight", (10, dim)).requires_grad_()
    x = x32.double().requires_grad_()
    out, loss = features_loss(model, head, x, masks, target)
    loss.backward()
    tensors[p + "x"] = x32  # float32 values, exact in float64
    if masks is not None:
        tensors[p + "masks"] = masks
    tensors[p + "target"] = target
    tensors[p + "cls"] = out["x_norm_clstoken"].detach()
    tensors[p + "patch"] = out["x_norm_patchtokens"].detach()
    tensors[p + "prenorm.sum"] = out["x_prenorm"].detach().sum(dim=(1, 2))
    if config.get("num_register_tokens"):
        tensors[p + "reg"] = out["x_norm_regtokens"].detach()
    tensors[p + "loss"] = loss.detach().reshape(1)
    tensors[p + "x.grad"] = x.grad
    for key, param in list(model.named_parameters()) + [("head.weight", head)]:
        if param.grad is None:  # mask_token without masks: not in the graph
            continue
        g = param.grad.reshape(-1)
        tensors[p + "grad_stats/" + key] = torch.stack([g.sum(), g.abs().sum()])
        idx = (torch.arange(SAMPLES, dtype=torch.int64) * 7919) % g.numel()
        tensors[p + "grad_sample/" + key] = g[idx]

    model = build(config, torch.float64)
    head = formula("head.weight", (10, dim)).requires_grad_()
    opt = torch.optim.AdamW(list(model.parameters()) + [head], lr=1e-3, weight_decay=0.05)
    losses = []
    for _ in range(5):
        opt.zero_grad()
        _, loss = features_loss(model, head, x32.double(), masks, target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    tensors[p + "adamw_losses"] = torch.tensor(losses, dtype=torch.float64)
    meta["keys." + name] = json.dumps(list(model.state_dict().keys()))
    meta["config." + name] = json.dumps(config)


def export(folder):
    os.makedirs(folder, exist_ok=True)
    for name, (config, _, _) in CONFIGS.items():
        sd = build(config, torch.float32).state_dict()
        torch.save(sd, os.path.join(folder, name + ".pth"))
        save(os.path.join(folder, name + ".safetensors"), sd)
        release = {"backbone." + k: v for k, v in sd.items()}
        release["dino_head.mlp.0.weight"] = torch.zeros(8, config["embed_dim"])
        torch.save({"teacher": release, "iteration": 1234},
                   os.path.join(folder, name + "_dinobloom.pth"))


def main(argv):
    if len(argv) >= 3 and argv[1] == "--export":
        export(argv[2])
        return
    torch.manual_seed(0)
    tensors, meta = {}, {}
    for name, (config, hw, with_masks) in CONFIGS.items():
        golden(name, config, hw, with_masks, tensors, meta)
    meta["torch"] = torch.__version__
    save(argv[1], tensors, meta)


if __name__ == "__main__":
    main(sys.argv)
