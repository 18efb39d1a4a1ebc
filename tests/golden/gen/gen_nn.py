#!/usr/bin/python3
"""Golden fixtures for nn/ (tests/nn/test_nn_golden.cpp): PyTorch's losses and optimizer steps.

Cross entropy / nll_loss cases: inputs (float64), target, optional class weight, upstream
gradient, and torch's output and input gradient in float64 and float32:
  <case>/input, <case>/target, <case>/weight, <case>/gout,
  <case>/out.f64, <case>/grad.f64, <case>/out.f32, <case>/grad.f32
SGD cases: three float64 parameters p (4, 3), q (3) and r (2), where r takes no part in the
loss (torch leaves its grad None and SGD skips it), the loss's constants, each parameter after
every step, and torch's momentum buffers at the end:
  <case>/p.step<k>, <case>/q.step<k>, <case>/r.step<k> (k = 0..5), <case>/a, /c, /e, /f,
  <case>/state.<i>.momentum_buffer
  loss(p, q) = 0.5 * sum(a * p * p) + sum(c * p) + 0.5 * sum(f * (q - e) ** 2)
Each case's options are JSON in the metadata under "case.<name>", so the C++ test reads its
cases from the file rather than from a second list.

Run with Debian's python3-torch:  /usr/bin/python3 gen_nn.py OUT.safetensors
"""
import json
import sys

import torch
import torch.nn.functional as F

from safetensors_io import save

# name: (loss, input shape (N, C, ...), options); ignore marks which targets get ignore_index.
LOSS_CASES = {
    "ce_mean": ("cross_entropy", (6, 5), {}),
    "ce_sum": ("cross_entropy", (6, 5), {"reduction": "sum"}),
    "ce_none": ("cross_entropy", (6, 5), {"reduction": "none"}),
    "ce_weight_mean": ("cross_entropy", (7, 4), {"weight": True}),
    "ce_ignore_mean": ("cross_entropy", (8, 5), {"ignore": [1, 6]}),
    "ce_weight_ignore_custom": ("cross_entropy", (8, 4),
                                {"weight": True, "ignore_index": 2, "ignore": [0, 3]}),
    "ce_smooth_mean": ("cross_entropy", (6, 5), {"label_smoothing": 0.1}),
    "ce_smooth_weight_ignore_mean": ("cross_entropy", (9, 4),
                                     {"label_smoothing": 0.2, "weight": True, "ignore": [2]}),
    "ce_smooth_ignore_none": ("cross_entropy", (5, 3),
                              {"label_smoothing": 0.3, "reduction": "none", "ignore": [4]}),
    "ce_smooth_weight_sum": ("cross_entropy", (5, 3),
                             {"label_smoothing": 0.15, "weight": True, "reduction": "sum"}),
    "ce_nd_weight_ignore_mean": ("cross_entropy", (3, 4, 5), {"weight": True, "ignore": [2, 7]}),
    "ce_nd_smooth_none": ("cross_entropy", (2, 3, 2, 2),
                          {"reduction": "none", "label_smoothing": 0.1}),
    "ce_unbatched": ("cross_entropy", (5,), {}),
    "nll_weight_ignore_sum": ("nll_loss", (6, 4),
                              {"weight": True, "reduction": "sum", "ignore": [5]}),
    "nll_nd_mean": ("nll_loss", (3, 4, 2), {}),
}

SGD_CASES = {
    "sgd_plain": {"lr": 0.1},
    "sgd_momentum_dampening_wd": {"lr": 0.1, "momentum": 0.9, "dampening": 0.1,
                                  "weight_decay": 0.01},
    "sgd_nesterov": {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    "sgd_maximize": {"lr": 0.1, "momentum": 0.5, "maximize": True},
}
SGD_STEPS = 5


def loss_case(name, loss, shape, opts, gen, out):
    classes = shape[0] if len(shape) == 1 else shape[1]
    x = torch.randn(shape, generator=gen, dtype=torch.float64) * 2
    target_shape = () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])
    target = torch.randint(0, classes, target_shape, generator=gen)
    ignore_index = opts.get("ignore_index", -100)
    flat = target.view(-1)
    for i in opts.get("ignore", []):
        flat[i] = ignore_index
    weight = torch.rand(classes, generator=gen, dtype=torch.float64) + 0.5 \
        if opts.get("weight") else None
    reduction = opts.get("reduction", "mean")
    gout = torch.randn(target_shape, generator=gen, dtype=torch.float64) \
        if reduction == "none" else torch.tensor(1.0, dtype=torch.float64)
    out[f"{name}/input"], out[f"{name}/target"], out[f"{name}/gout"] = x, target, gout
    if weight is not None:
        out[f"{name}/weight"] = weight
    for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
        xi = x.to(dtype).clone().requires_grad_()
        w = weight.to(dtype) if weight is not None else None
        if loss == "cross_entropy":
            y = F.cross_entropy(xi, target, weight=w, ignore_index=ignore_index,
                                reduction=reduction,
                                label_smoothing=opts.get("label_smoothing", 0.0))
        else:
            y = F.nll_loss(xi, target, weight=w, ignore_index=ignore_index, reduction=reduction)
        y.backward(gout.to(dtype))
        out[f"{name}/out.{tag}"], out[f"{name}/grad.{tag}"] = y.detach(), xi.grad
    meta = {"loss": loss, "reduction": reduction, "ignore_index": ignore_index,
            "label_smoothing": opts.get("label_smoothing", 0.0)}
    return json.dumps(meta)


def sgd_case(name, opts, gen, out):
    p = torch.randn(4, 3, generator=gen, dtype=torch.float64).requires_grad_()
    q = torch.randn(3, generator=gen, dtype=torch.float64).requires_grad_()
    r = torch.randn(2, generator=gen, dtype=torch.float64).requires_grad_()
    a = torch.rand(4, 3, generator=gen, dtype=torch.float64) + 0.5
    c = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    e = torch.randn(3, generator=gen, dtype=torch.float64)
    f = torch.rand(3, generator=gen, dtype=torch.float64) + 0.5
    for key, t in (("a", a), ("c", c), ("e", e), ("f", f)):
        out[f"{name}/{key}"] = t
    params = {"p": p, "q": q, "r": r}
    opt = torch.optim.SGD(list(params.values()), **opts)
    for k in range(SGD_STEPS + 1):
        for pname, t in params.items():
            out[f"{name}/{pname}.step{k}"] = t.detach().clone()
        if k == SGD_STEPS:
            break
        loss = 0.5 * (a * p * p).sum() + (c * p).sum() + 0.5 * (f * (q - e) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    for i, t in enumerate(params.values()):
        buf = opt.state[t].get("momentum_buffer") if t in opt.state else None
        if buf is not None:
            out[f"{name}/state.{i}.momentum_buffer"] = buf
    full = {"lr": 0.001, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0,
            "nesterov": False, "maximize": False}
    full.update(opts)
    full["steps"] = SGD_STEPS
    return json.dumps(full)


def main():
    gen = torch.Generator().manual_seed(2024)
    out, meta = {}, {"torch": torch.__version__}
    for name, (loss, shape, opts) in LOSS_CASES.items():
        meta[f"case.{name}"] = loss_case(name, loss, shape, opts, gen, out)
    for name, opts in SGD_CASES.items():
        meta[f"case.{name}"] = sgd_case(name, opts, gen, out)
    save(sys.argv[1], out, meta)


if __name__ == "__main__":
    main()
