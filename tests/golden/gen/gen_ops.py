#!/usr/bin/python3
"""Golden fixtures for the op-case registry (tests/ops/cases/).

Reads the registry as JSON (`build/tests/ops/op_cases_json`), makes each case's inputs,
runs the PyTorch twin of the case below in float64 and float32, and writes inputs,
upstream gradient, outputs and input gradients to tests/golden/fixtures/ops.safetensors:
  <case>/in<i>, <case>/gout, <case>/out.f64, <case>/out.f32,
  <case>/grad<i>.f64, <case>/grad<i>.f32
Run with Debian's python3-torch:  /usr/bin/python3 gen_ops.py cases.json out.safetensors
(tools/regen_golden.sh does both steps).
"""
import json
import math
import sys
import zlib

import torch
import torch.nn.functional as F

from safetensors_io import save
from crops_twins import crops_cases  # issue 15: sinkhorn, crop_cross_entropy

# The composed twins of the fused ops, written the way the registry writes them (a shift by the
# detached max, then elementwise ops and sums).
def softmax_composed(x, dim):
    e = torch.exp(x - x.amax(dim, keepdim=True).detach())
    return e / e.sum(dim, keepdim=True)


def log_softmax_composed(x, dim):
    s = x - x.amax(dim, keepdim=True).detach()
    return s - torch.log(torch.exp(s).sum(dim, keepdim=True))


def logsumexp_composed(x, dim):
    m = x.amax(dim, keepdim=True).detach()
    return m.squeeze(dim) + torch.log(torch.exp(x - m).sum(dim))


def batch_norm_composed(x, w, b, eps):
    dims = [d for d in range(x.dim()) if d != 1]
    per_channel = [1] * x.dim()
    per_channel[1] = x.shape[1]
    y = (x - x.mean(dims, keepdim=True)) / torch.sqrt(x.var(dims, unbiased=False, keepdim=True) + eps)
    return y * w.reshape(per_channel) + b.reshape(per_channel)
def layer_norm_composed(x, k, w, b, eps):
    dims = list(range(x.dim() - k, x.dim()))
    y = (x - x.mean(dims, keepdim=True)) / torch.sqrt(x.var(dims, unbiased=False, keepdim=True) + eps)
    y = y * w if w is not None else y
    return y + b if b is not None else y


# Dropout's rule, mask-independent (tests/ops/cases/pool.cpp): x away from 0 gives y == 0 exactly
# where dropped; the value is x and the gradient 1 whichever mask PyTorch draws.
def dropout_rule(x, p):
    y = F.dropout(x, p, training=True)
    return y * (1 - p) + torch.where(y == 0, x, x * 0.0)


# timm's / DINOv2's drop_path (stochastic depth, scale_by_keep), and its rule as for dropout.
def drop_path(x, p, training=True):
    if p == 0.0 or not training:
        return x
    keep = 1 - p
    mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
    if keep > 0.0:
        mask.div_(keep)
    return x * mask


def drop_path_rule(x, p):
    y = drop_path(x, p)
    return y * (1 - p) + torch.where(y == 0, x, x * 0.0)


def bicubic(x, **kw):
    return F.interpolate(x, mode="bicubic", **kw)


def bilinear(x, **kw):
    return F.interpolate(x, mode="bilinear", **kw)
# Philox 4x32-10 (tensor/philox.h) and dropout's keep rule (tensor/math/pool_math.h): element i
# of a draw at (seed, offset) is kept when lane i % 4 of block offset + i / 4 is >= ceil(p 2^32).
def philox_block(seed, counter):
    m0, m1, w0, w1, mask = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85, 0xFFFFFFFF
    c0, c1, c2, c3 = counter & mask, (counter >> 32) & mask, 0, 0
    k0, k1 = seed & mask, (seed >> 32) & mask
    for _ in range(10):
        p0, p1 = m0 * c0, m1 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & mask, p1 & mask, ((p0 >> 32) ^ c3 ^ k1) & mask, p0 & mask
        k0, k1 = (k0 + w0) & mask, (k1 + w1) & mask
    return c0, c1, c2, c3


def dropout_keep(seed, offset, shape, p):
    threshold = min(math.ceil(p * 2**32), 0xFFFFFFFF)
    n = math.prod(shape)
    bits = [philox_block(seed, offset + b) for b in range((n + 3) // 4)]
    return torch.tensor([bits[i // 4][i % 4] >= threshold for i in range(n)]).reshape(shape)


# F.scaled_dot_product_attention (torch 2.x) as torch 1.13 composes it: the registry's composed
# twin (tests/ops/cases/attention.cpp), with the fused kernel's dropout mask fed in.
def sdpa_composed(q, k, v, mask=None, p=0.0, causal=False, scale=None, seed=0):
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ k.transpose(-2, -1) * scale
    if mask is not None:
        s = s.masked_fill(~mask, -math.inf) if mask.dtype == torch.bool else s + mask
    if causal:
        later = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril().logical_not()
        s = s.masked_fill(later, -math.inf)
    a = torch.softmax(s, -1)
    if p > 0:
        a = a * dropout_keep(seed, 0, a.shape, p).to(a.device, a.dtype) / (1 - p)
    return a @ v


def sdpa_cases():
    plain = lambda q, k, v: sdpa_composed(q, k, v)
    bool_mask = lambda q, k, v, m: sdpa_composed(q, k, v, m > -0.8)
    float_mask = lambda q, k, v, m: sdpa_composed(q, k, v, m)
    causal = lambda q, k, v: sdpa_composed(q, k, v, causal=True)
    drop = lambda q, k, v: sdpa_composed(q, k, v, p=0.3, seed=1234)
    scaled = lambda q, k, v: sdpa_composed(q, k, v, scale=0.5)
    cases = {}
    for name, fn in (("sdpa", plain), ("sdpa_mask_bool", bool_mask), ("sdpa_mask_float", float_mask),
                     ("sdpa_causal", causal), ("sdpa_dropout", drop), ("sdpa_broadcast_scale", scaled)):
        cases[name] = cases[name + "_composed"] = fn
    return cases


# The contrastive losses (tests/ops/cases/contrastive.cpp), as PyTorch code usually writes them.
# NT-Xent: F.normalize + mm + diagonal mask + F.cross_entropy (the mean over the 2N anchors).
def nt_xent(z, tau):
    m = z.shape[0]
    zn = F.normalize(z, dim=1)
    sim = (zn @ zn.t() / tau).masked_fill(torch.eye(m, dtype=torch.bool, device=z.device), float("-inf"))
    target = torch.cat([torch.arange(m // 2, m), torch.arange(0, m // 2)]).to(z.device)
    return F.cross_entropy(sim, target)


# dinov2/loss/koleo_loss.py's KoLeoLoss, transcribed (autocast off there: float32 or float64 here).
class KoLeoLoss(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.pdist = torch.nn.PairwiseDistance(2, eps=1e-8)

    def pairwise_NNs_inner(self, x):
        dots = torch.mm(x, x.t())
        n = x.shape[0]
        dots.view(-1)[:: (n + 1)].fill_(-1)  # Trick to fill diagonal with -1
        _, I = torch.max(dots, dim=1)  # max inner prod -> min distance
        return I

    def forward(self, student_output, eps=1e-8):
        student_output = F.normalize(student_output, eps=eps, p=2, dim=-1)
        I = self.pairwise_NNs_inner(student_output)  # noqa: E741
        distances = self.pdist(student_output, student_output[I])  # BxD, BxD -> B
        return -torch.log(distances + eps).mean()


def contrastive_cases():
    koleo = KoLeoLoss()
    cases = {
        "nt_xent": lambda z: nt_xent(z, 0.5),
        "nt_xent_tau01_strided": lambda z: nt_xent(z, 0.1),
        "nt_xent_n1": lambda z: nt_xent(z, 1.0),
        "koleo_loss": lambda x: koleo(x),
        "koleo_loss_transposed_eps": lambda x: koleo(x, 1e-3),
    }
    cases.update({name + "_composed": fn for name, fn in cases.items() if name != "nt_xent_n1"})
    return cases


# The PyTorch twin of every registry case, by case name (bench/peer_torch.py times them too).
CASES = {
    "neg": lambda x: -x,
    "abs": torch.abs,
    "sign": torch.sign,
    "exp": torch.exp,
    "exp_strided": torch.exp,
    "log": torch.log,
    "log1p": torch.log1p,
    "sqrt": torch.sqrt,
    "rsqrt": torch.rsqrt,
    "sin": torch.sin,
    "cos": torch.cos,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "softplus": lambda x: F.softplus(x, beta=2, threshold=3),
    "clamp": lambda x: torch.clamp(x, -0.5, 0.7),
    "pow_scalar": lambda x: torch.pow(x, 2.5),
    "square": lambda x: torch.pow(x, 2.0),
    "reciprocal": torch.reciprocal,
    "add": lambda a, b: a + b,
    "add_broadcast": lambda a, b: a + b,
    "add_scalar": lambda x: x + 2.5,
    "sub_broadcast": lambda a, b: a - b,
    "rsub_scalar": lambda x: 2.0 - x,
    "mul": lambda a, b: a * b,
    "mul_broadcast": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "div_broadcast": lambda a, b: a / b,
    "rdiv_scalar": lambda x: 2.0 / x,
    "pow_tensor": torch.pow,
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "where": lambda c, a, b: torch.where(c > 0, a, b),
    "masked_fill": lambda x, m: x.masked_fill(m > 0, -1.5),
    "lt": torch.lt,
    "le": torch.le,
    "gt": lambda x: x > 0.25,
    "ge": torch.ge,
    "ne": torch.ne,
    "eq": lambda x: x == x * 1.0,
    "sum_all": torch.sum,
    "sum_dims": lambda x: x.sum(dim=(0, 2), keepdim=True),
    "sum_dim1": lambda x: x.sum(dim=1),
    "sum_dim0": lambda x: x.sum(dim=0),
    "mean_dim": lambda x: x.mean(dim=1),
    "var_dim": lambda x: x.var(dim=1),
    "var_biased": lambda x: x.var(dim=(0, 2), unbiased=False, keepdim=True),
    "std_all": torch.std,
    "std_dim": lambda x: x.std(dim=0, unbiased=False),
    "max_all": torch.max,
    "max_dim": lambda x: x.max(dim=1).values,
    "min_dim": lambda x: x.min(dim=0, keepdim=True).values,
    "min_all": torch.min,
    "argmax": lambda x: x.argmax(dim=1),
    "argmin_all": torch.argmin,
    "logsumexp": lambda x: torch.logsumexp(x, dim=1),
    "logsumexp_composed": lambda x: logsumexp_composed(x, 1),
    "norm2": lambda x: torch.linalg.vector_norm(x, 2, dim=1),
    "norm1": lambda x: torch.linalg.vector_norm(x, 1),
    "norm3": lambda x: torch.linalg.vector_norm(x, 3, dim=0, keepdim=True),
    "all": lambda x: (x > -1.0).all(dim=1),
    "any": lambda x: (x > 1.0).any(dim=0),
    "mm": torch.mm,
    "mm_transposed": torch.mm,
    "bmm": torch.bmm,
    "matmul_bcast_a": torch.matmul,
    "matmul_broadcast": torch.matmul,
    "matmul_fold": torch.matmul,
    "matmul_vec": torch.matmul,
    "matmul_dot": torch.matmul,
    "addmm": lambda bias, a, b: torch.addmm(bias, a, b, beta=0.5, alpha=2.0),
    "linear": F.linear,
    "linear_2d": F.linear,
    "linear_bias_2d": F.linear,
    "outer": torch.outer,
    "softmax": lambda x: torch.softmax(x, -1),
    "softmax_composed": lambda x: softmax_composed(x, -1),
    "softmax_dim0": lambda x: torch.softmax(x, 0),
    "log_softmax": lambda x: torch.log_softmax(x, 1),
    "log_softmax_composed": lambda x: log_softmax_composed(x, 1),
    "cumsum": lambda x: torch.cumsum(x, 1),
    "cumsum_dim0": lambda x: torch.cumsum(x, 0),
    "one_hot": lambda i: F.one_hot(i, 6),
    "reshape_copy": lambda x: x.reshape(2, 6),
    "view": lambda x: x.view(4, -1),
    "flatten": lambda x: x.flatten(1),
    "squeeze": lambda x: x.squeeze(1),
    "unsqueeze": lambda x: x.unsqueeze(-1),
    "expand": lambda x: x.expand(2, 3, 4),
    "permute": lambda x: x.permute(2, 0, 1),
    "transpose": lambda x: x.transpose(0, 2),
    "narrow": lambda x: x.narrow(1, 1, 3),
    "slice_step": lambda x: x[:, 1:7:2],
    "chunk": lambda x: x.chunk(3, 1)[1],
    "split_sizes": lambda x: x.split([1, 3, 1], 0)[1],
    "cat": lambda a, b, c: torch.cat([a, b, c], 1),
    "stack": lambda a, b: torch.stack([a, b], 1),
    "pad_constant": lambda x: F.pad(x, (1, 2, 0, 1), value=0.5),
    "pad_reflect": lambda x: F.pad(x, (2, 1, 1, 1), mode="reflect"),
    "flip": lambda x: x.flip(0, 2),
    "clone": torch.clone,
    "contiguous": lambda x: x.contiguous(),
    "index_select": lambda x, i: x.index_select(1, i),
    "gather": lambda x, i: x.gather(1, i),
    "scatter_add": lambda x, i, s: x.scatter_add(0, i, s),
    "embedding": lambda w, i: F.embedding(i, w),
    "topk": lambda x: x.topk(2, 1).values,
    "topk_indices": lambda x: x.topk(3, 0, largest=False).indices,
    "sort": lambda x: x.sort(0, descending=True).values,
    "sort_indices": lambda x: x.sort(1).indices,
    "batch_norm": lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5),
    "batch_norm_composed": lambda x, rm, rv, w, b: batch_norm_composed(x, w, b, 1e-5),
    "batch_norm_2d": lambda x, w, b: F.batch_norm(x, None, None, w, b, True, 0.1, 1e-5),
    "batch_norm_noaffine": lambda x, rm, rv: F.batch_norm(x, rm, rv, None, None, True, 0.3, 1e-3),
    "batch_norm_eval": lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-5),
    "batch_norm_eval_weight": lambda x, rm, rv, w: F.batch_norm(x, rm, rv, w, None, False, 0.1,
                                                                1e-3),
    "max_pool2d": lambda x: F.max_pool2d(x, 3, 2, 1),
    "max_pool2d_ceil": lambda x: F.max_pool2d(x, (3, 2), (2, 3), (1, 1), 1, ceil_mode=True),
    "max_pool2d_dilated": lambda x: F.max_pool2d(x, 3, (1, 2), (1, 0), (2, 1), ceil_mode=True),
    "max_pool2d_indices": lambda x: F.max_pool2d(x, 2, None, 1, 1, ceil_mode=True, return_indices=True)[1],
    "avg_pool2d": lambda x: F.avg_pool2d(x, 3, 2, 1),
    "avg_pool2d_ceil_exclude": lambda x: F.avg_pool2d(x, (3, 2), (2, 1), (1, 1), ceil_mode=True, count_include_pad=False),
    "avg_pool2d_divisor": lambda x: F.avg_pool2d(x, 2, 2, 1, ceil_mode=True, count_include_pad=True, divisor_override=3),
    "adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x, (3, 4)),
    "adaptive_avg_pool2d_1x1": lambda x: F.adaptive_avg_pool2d(x, 1),
    "adaptive_avg_pool2d_up": lambda x: F.adaptive_avg_pool2d(x, (6, 7)),
    "adaptive_avg_pool2d_none": lambda x: F.adaptive_avg_pool2d(x, (None, 4)),
    "dropout": lambda x: dropout_rule(x, 0.3),
    "dropout_eval": lambda x: F.dropout(x, 0.5, training=False),
    "dropout_p1": lambda x: F.dropout(x, 1.0),
    "drop_path": lambda x: drop_path_rule(x, 0.4),
    "drop_path_masked": lambda x, m: x * ((m > 0).to(x.dtype) / 0.75),
    "drop_path_eval": lambda x: drop_path(x, 0.5, training=False),
    "drop_path_p1": lambda x: drop_path(x, 1.0),
    "interpolate_nearest": lambda x: F.interpolate(x, size=(9, 12)),
    "interpolate_nearest_x2": lambda x: F.interpolate(x, scale_factor=2.0),
    "interpolate_nearest_down": lambda x: F.interpolate(x, scale_factor=(0.45, 0.4)),
    "interpolate_nearest_1d": lambda x: F.interpolate(x, size=11),
    "interpolate_linear_1d": lambda x: F.interpolate(x, scale_factor=1.7, mode="linear"),
    "interpolate_linear_1d_align": lambda x: F.interpolate(x, size=4, mode="linear", align_corners=True),
    "interpolate_bilinear": lambda x: bilinear(x, size=(9, 11)),
    "interpolate_bilinear_x2": lambda x: bilinear(x, scale_factor=2.0),
    "interpolate_bilinear_align": lambda x: bilinear(x, size=(9, 11), align_corners=True),
    "interpolate_bilinear_down": lambda x: bilinear(x, size=(4, 5)),
    "interpolate_bilinear_down_align": lambda x: bilinear(x, size=(4, 1), align_corners=True),
    "interpolate_bilinear_copy_axis": lambda x: bilinear(x, size=(5, 9)),
    "interpolate_bilinear_scale": lambda x: bilinear(x, scale_factor=(1.6, 0.7)),
    "interpolate_bilinear_recompute": lambda x: bilinear(x, scale_factor=(1.6, 0.7), align_corners=False, recompute_scale_factor=True),
    "interpolate_bicubic": lambda x: bicubic(x, size=(9, 13)),
    "interpolate_bicubic_align": lambda x: bicubic(x, size=(9, 13), align_corners=True),
    "interpolate_bicubic_down": lambda x: bicubic(x, size=(5, 4)),
    "interpolate_bicubic_down_align": lambda x: bicubic(x, size=(5, 4), align_corners=True),
    "interpolate_bicubic_same_size": lambda x: bicubic(x, scale_factor=1.1),
    # DINOv2's interpolate_pos_encoding (dinov2/models/vision_transformer.py)
    "interpolate_bicubic_dinov2_down": lambda x: bicubic(x, scale_factor=(4.1 / 16, 4.1 / 16)),
    "interpolate_bicubic_dinov2_up": lambda x: bicubic(x, scale_factor=(37.1 / 16, 37.1 / 16)),
    "interpolate_bicubic_dinov2_nonsquare": lambda x: bicubic(x, scale_factor=(10.1 / 16, 7.1 / 16)),
    "interpolate_bicubic_dinov2_align": lambda x: bicubic(x, scale_factor=(10.1 / 16, 7.1 / 16), align_corners=True),
    "interpolate_bilinear_dinov2": lambda x: bilinear(x, scale_factor=(37.1 / 16, 10.1 / 16)),
    "interpolate_bicubic_posembed_37to16": lambda x: bicubic(x, scale_factor=(16.1 / 37, 16.1 / 37)),
    "normalize": F.normalize,
    "normalize_composed": lambda x: x / torch.linalg.vector_norm(x, 2, 1, keepdim=True).clamp_min(1e-12),
    "normalize_p3_dim0": lambda x: F.normalize(x, 3, 0, 1e-6),
    "normalize_p3_dim0_composed": lambda x: x / torch.linalg.vector_norm(x, 3, 0, keepdim=True).clamp_min(1e-6),
    "normalize_p1_last": lambda x: F.normalize(x, 1, -1, 1e-6),
    "layer_norm": lambda x, w, b: F.layer_norm(x, w.shape, w, b),
    "layer_norm_composed": lambda x, w, b: layer_norm_composed(x, 1, w, b, 1e-5),
    "layer_norm_2d": lambda x, w, b: F.layer_norm(x, w.shape, w, b, 1e-4),
    "layer_norm_2d_composed": lambda x, w, b: layer_norm_composed(x, 2, w, b, 1e-4),
    "layer_norm_noaffine": lambda x: F.layer_norm(x, x.shape[-1:], None, None, 1e-3),
    "layer_norm_noaffine_composed": lambda x: layer_norm_composed(x, 1, None, None, 1e-3),
    "layer_norm_weight": lambda x, w: F.layer_norm(x, w.shape, w, None, 1e-6),
    "layer_norm_bias": lambda x, b: F.layer_norm(x, b.shape, None, b),
    "layer_norm_frozen_affine": lambda x, w, b: F.layer_norm(x, w.shape, w, b),
    "layer_norm_frozen_input": lambda x, w, b: F.layer_norm(x, w.shape, w, b),
    "layer_norm_bias_grad_only": lambda x, w, b: F.layer_norm(x, w.shape, w, b),
    "conv2d": lambda x, w, b: F.conv2d(x, w, b, 1, 1),
    "conv2d_gemm_stride2": lambda x, w: F.conv2d(x, w, None, 2, 1),
    "conv2d_r50_1x1": lambda x, w: F.conv2d(x, w),
    "conv2d_dilated": lambda x, w, b: F.conv2d(x, w, b, 1, (2, 1), 2),
    "conv2d_groups": lambda x, w, b: F.conv2d(x, w, b, 1, 1, 1, 2),
    "conv2d_depthwise": lambda x, w, b: F.conv2d(x, w, b, (1, 2), 1, 1, 4),
    "conv2d_grouped_direct": lambda x, w: F.conv2d(x, w, None, (2, 1), (0, 1), 1, 3),
    "conv2d_unbatched": lambda x, w, b: F.conv2d(x, w, b),
    "conv2d_same": lambda x, w: F.conv2d(x, w, None, 1, "same", (1, 2)),
    "conv2d_same_direct": lambda x, w: F.conv2d(x, w, None, 1, "same", 1, 2),
    "conv2d_nonsquare": lambda x, w: F.conv2d(x, w, None, (2, 1), (0, 2)),
    "conv2d_1x1": lambda x, w, b: F.conv2d(x, w, b),
    "conv2d_r18_stem": lambda x, w: F.conv2d(x, w, None, 2, 3),
    "conv2d_r18_3x3": lambda x, w: F.conv2d(x, w, None, 1, 1),
    "conv2d_r18_3x3s2": lambda x, w: F.conv2d(x, w, None, 2, 1),
    "conv2d_r18_1x1s2": lambda x, w: F.conv2d(x, w, None, 2, 0),
}
CASES.update(sdpa_cases())
CASES.update(contrastive_cases())
CASES.update(crops_cases())


def make_input(spec, gen):
    shape = spec["shape"]
    domain = spec["domain"]
    if domain == "index":
        return torch.randint(0, spec["index_high"], shape, generator=gen, dtype=torch.int64)
    if domain == "positive":
        return torch.rand(shape, generator=gen, dtype=torch.float64) * 1.5 + 0.5
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    if domain == "nonzero":
        x = x + torch.sign(x) * 0.2
    return x


def run(fn, inputs, specs, gout, dtype, differentiable):
    args = []
    for x, spec in zip(inputs, specs):
        if spec["domain"] != "index":
            x = x.to(dtype)
        x = x.clone()
        if spec["grad"]:
            x.requires_grad_(True)
        args.append(x)
    out = fn(*args)
    grads = {}
    if differentiable:
        out.backward(gout.to(dtype))
        for i, (x, spec) in enumerate(zip(args, specs)):
            if spec["grad"]:
                grads[i] = x.grad if x.grad is not None else torch.zeros_like(x)
    return out.detach(), grads


def main(cases_json, out_path):
    with open(cases_json) as f:
        cases = json.load(f)
    missing = [c["name"] for c in cases if c["name"] not in CASES]
    if missing:
        sys.exit(f"no PyTorch twin for registry cases: {missing}")
    tensors = {}
    for case in cases:
        name, specs = case["name"], case["inputs"]
        gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
        inputs = [make_input(s, gen) for s in specs]
        for i, x in enumerate(inputs):
            tensors[f"{name}/in{i}"] = x
        fn = CASES[name]
        with torch.no_grad():
            shape = fn(*[x.clone() for x in inputs]).shape
        gout = torch.randn(shape, generator=gen, dtype=torch.float64)
        if case["differentiable"]:
            tensors[f"{name}/gout"] = gout
        for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
            out, grads = run(fn, inputs, specs, gout, dtype, case["differentiable"])
            tensors[f"{name}/out.{tag}"] = out
            for i, g in grads.items():
                tensors[f"{name}/grad{i}.{tag}"] = g
    save(out_path, tensors, {"torch": torch.__version__, "generator": "tests/golden/gen/gen_ops.py"})
    print(f"wrote {len(cases)} cases, {len(tensors)} tensors to {out_path}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
