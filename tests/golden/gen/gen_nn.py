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
The other losses (soft-target cross entropy, binary cross entropy on probabilities and on
logits, mse, l1, smooth l1, huber, kl_div, cosine_similarity, cosine_embedding_loss) are
cases of one generic builder: their float64 arguments (input, target, input2, weight,
pos_weight), the upstream gradient, and torch's output and the gradient of every
differentiable argument in float64 and float32:
  <case>/out.<tag>, <case>/grad.<tag> (input), <case>/grad_target.<tag>, <case>/grad_input2.<tag>
Each case's options are JSON in the metadata under "case.<name>" ("loss" names the function,
the other keys are its keyword arguments), so the C++ test reads its cases from the file
rather than from a second list.

Run with Debian's python3-torch:  /usr/bin/python3 gen_nn.py OUT.safetensors
"""
import json
import sys
import warnings

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


# ---- the other losses: name -> (loss, builder(gen) -> {argument: float64 tensor}, the
# arguments that get gradients, keyword options). Inputs are drawn to reach every branch:
# both sides of smooth_l1's beta and huber's delta (and a point exactly on them), an l1 tie,
# logits of +-60 and +-200 for binary_cross_entropy_with_logits, probabilities of exactly 0
# and 1 for binary_cross_entropy, zero targets for kl_div, norms below eps for
# cosine_similarity.


def _randn(gen, *shape, scale=1.0):
    return torch.randn(shape, generator=gen, dtype=torch.float64) * scale


def _rand(gen, *shape):
    return torch.rand(shape, generator=gen, dtype=torch.float64)


def _probs(gen, *shape, dim=1):
    return torch.softmax(_randn(gen, *shape, scale=2), dim)


def _pair(gen, *shape, scale=2.0):
    return {"input": _randn(gen, *shape, scale=scale), "target": _randn(gen, *shape)}


def _with(d, **edits):
    """d with elements overwritten: edits maps an argument to [(index, value), ...]."""
    for key, items in edits.items():
        for index, value in items:
            d[key][index] = value
    return d


def _bce_logits(gen, *shape):
    x = _randn(gen, *shape, scale=3)
    flat = x.view(-1)
    flat[0], flat[1], flat[2], flat[3], flat[4] = 60, -60, 200, -200, 0
    t = _rand(gen, *shape)
    t.view(-1)[5:9] = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=torch.float64)
    return {"input": x, "target": t}


def _bce_probs(gen, *shape, edges=False):
    x = torch.sigmoid(_randn(gen, *shape, scale=2))
    if edges:
        x.view(-1)[:4] = torch.tensor([0.0, 1.0, 1e-30, 1 - 1e-7], dtype=torch.float64)
    return {"input": x, "target": _rand(gen, *shape)}


def _tiny_norms(gen):
    a, b = _randn(gen, 3, 4), _randn(gen, 3, 4)
    a[0] *= 1e-10   # ||a_0|| ~ 2e-10 < eps: the clamped norm's gradient path
    b[1] = 0        # a zero vector
    return {"input": a, "input2": b}


GENERIC_CASES = {
    "ce_soft_mean": ("cross_entropy",
                     lambda g: {"input": _randn(g, 6, 5, scale=2), "target": _probs(g, 6, 5)},
                     ["input", "target"], {}),
    "ce_soft_weight_mean": ("cross_entropy",
                            lambda g: {"input": _randn(g, 4, 3, scale=2),
                                       "target": _probs(g, 4, 3), "weight": _rand(g, 3) + 0.5},
                            ["input", "target"], {}),
    "ce_soft_weight_smooth_sum": ("cross_entropy",
                                  lambda g: {"input": _randn(g, 5, 4, scale=2),
                                             "target": _probs(g, 5, 4),
                                             "weight": _rand(g, 4) + 0.5},
                                  ["input", "target"],
                                  {"reduction": "sum", "label_smoothing": 0.2}),
    "ce_soft_nd_weight_smooth_none": ("cross_entropy",
                                      lambda g: {"input": _randn(g, 2, 3, 2, 2, scale=2),
                                                 "target": _probs(g, 2, 3, 2, 2),
                                                 "weight": _rand(g, 3) + 0.5},
                                      ["input", "target"],
                                      {"reduction": "none", "label_smoothing": 0.1}),
    "ce_soft_unbatched_none": ("cross_entropy",
                               lambda g: {"input": _randn(g, 5, scale=2),
                                          "target": _probs(g, 5, dim=0)},
                               ["input", "target"], {"reduction": "none"}),
    "bcewl_mean": ("binary_cross_entropy_with_logits", lambda g: _bce_logits(g, 6, 4),
                   ["input", "target"], {}),
    "bcewl_pos_weight_sum": ("binary_cross_entropy_with_logits",
                             lambda g: {**_bce_logits(g, 5, 3), "pos_weight": _rand(g, 3) * 3},
                             ["input", "target"], {"reduction": "sum"}),
    "bcewl_weight_pos_weight_none": ("binary_cross_entropy_with_logits",
                                     lambda g: {**_bce_logits(g, 5, 3),
                                                "weight": _rand(g, 5, 1) + 0.5,
                                                "pos_weight": _rand(g, 3) * 3},
                                     ["input", "target"], {"reduction": "none"}),
    "bcewl_nd_pos_weight_mean": ("binary_cross_entropy_with_logits",
                                 lambda g: {**_bce_logits(g, 2, 3, 4),
                                            "pos_weight": _rand(g, 3, 1) * 3},
                                 ["input", "target"], {}),
    "bce_mean": ("binary_cross_entropy", lambda g: _bce_probs(g, 6, 4),
                 ["input", "target"], {}),
    "bce_weight_sum": ("binary_cross_entropy",
                       lambda g: {**_bce_probs(g, 5, 4), "weight": _rand(g, 4) + 0.5},
                       ["input", "target"], {"reduction": "sum"}),
    # x = 0 and 1: the -100 clamp and the 1e-12 slope floor; the target's gradient is +-inf
    # there, matched exactly.
    "bce_edges_none": ("binary_cross_entropy", lambda g: _bce_probs(g, 3, 4, edges=True),
                       ["input", "target"], {"reduction": "none"}),
    "mse_mean": ("mse_loss", lambda g: _pair(g, 4, 5), ["input", "target"], {}),
    "mse_sum": ("mse_loss", lambda g: _pair(g, 7), ["input", "target"], {"reduction": "sum"}),
    "mse_none": ("mse_loss", lambda g: _pair(g, 2, 3, 2), ["input", "target"],
                 {"reduction": "none"}),
    "l1_mean_tie": ("l1_loss", lambda g: _with(_pair(g, 4, 5), input=[((0, 0), 0.25)],
                                               target=[((0, 0), 0.25)]),
                    ["input", "target"], {}),
    "l1_sum": ("l1_loss", lambda g: _pair(g, 6), ["input", "target"], {"reduction": "sum"}),
    "l1_none": ("l1_loss", lambda g: _pair(g, 3, 2), ["input", "target"], {"reduction": "none"}),
    "smooth_l1_mean_edge": ("smooth_l1_loss",
                            lambda g: _with(_pair(g, 4, 5), input=[((0, 0), 0.5), ((0, 1), 0.0)],
                                            target=[((0, 0), -0.5), ((0, 1), 0.0)]),
                            ["input", "target"], {}),
    "smooth_l1_beta_half_none": ("smooth_l1_loss", lambda g: _pair(g, 3, 4),
                                 ["input", "target"], {"reduction": "none", "beta": 0.5}),
    "smooth_l1_beta_zero_sum": ("smooth_l1_loss", lambda g: _pair(g, 3, 4),
                                ["input", "target"], {"reduction": "sum", "beta": 0.0}),
    "huber_mean_edge": ("huber_loss",
                        lambda g: _with(_pair(g, 4, 5), input=[((0, 0), 1.5), ((1, 1), 0.0)],
                                        target=[((0, 0), 0.5), ((1, 1), 0.0)]),
                        ["input", "target"], {}),
    "huber_delta2_none": ("huber_loss", lambda g: _pair(g, 3, 4, scale=3),
                          ["input", "target"], {"reduction": "none", "delta": 2.0}),
    "huber_delta_half_sum": ("huber_loss", lambda g: _pair(g, 5), ["input", "target"],
                             {"reduction": "sum", "delta": 0.5}),
    "kl_batchmean": ("kl_div", lambda g: {"input": torch.log_softmax(_randn(g, 4, 5), 1),
                                          "target": _probs(g, 4, 5)},
                     ["input", "target"], {"reduction": "batchmean"}),
    "kl_mean": ("kl_div", lambda g: {"input": torch.log_softmax(_randn(g, 3, 4), 1),
                                     "target": _probs(g, 3, 4)},
                ["input", "target"], {"reduction": "mean"}),
    "kl_nd_batchmean": ("kl_div", lambda g: {"input": torch.log_softmax(_randn(g, 2, 3, 4), 1),
                                             "target": _probs(g, 2, 3, 4)},
                        ["input", "target"], {"reduction": "batchmean"}),
    "kl_log_target_sum": ("kl_div",
                          lambda g: {"input": torch.log_softmax(_randn(g, 3, 4), 1),
                                     "target": torch.log_softmax(_randn(g, 3, 4), 1)},
                          ["input", "target"], {"reduction": "sum", "log_target": True}),
    "kl_log_target_none": ("kl_div", lambda g: {"input": _randn(g, 2, 3), "target": _randn(g, 2, 3)},
                           ["input", "target"], {"reduction": "none", "log_target": True}),
    # zero targets: xlogy's 0 (torch's target gradient is NaN there, so only the input's)
    "kl_zero_target_none": ("kl_div",
                            lambda g: {"input": _randn(g, 3, 4),
                                       "target": _probs(g, 3, 4) * (_rand(g, 3, 4) > 0.4)},
                            ["input"], {"reduction": "none"}),
    "kl_broadcast_mean": ("kl_div", lambda g: {"input": torch.log_softmax(_randn(g, 3, 4), 1),
                                               "target": _probs(g, 4, dim=0)},
                          ["input", "target"], {"reduction": "mean"}),
    "cos_dim1": ("cosine_similarity", lambda g: {"input": _randn(g, 4, 6), "input2": _randn(g, 4, 6)},
                 ["input", "input2"], {"dim": 1, "eps": 1e-8}),
    "cos_dim0_large_eps": ("cosine_similarity",
                           lambda g: {"input": _randn(g, 5, 3, scale=0.1),
                                      "input2": _randn(g, 5, 3)},
                           ["input", "input2"], {"dim": 0, "eps": 0.5}),
    "cos_broadcast": ("cosine_similarity",
                      lambda g: {"input": _randn(g, 3, 1, 5), "input2": _randn(g, 4, 5)},
                      ["input", "input2"], {"dim": -1, "eps": 1e-8}),
    "cos_broadcast_along_dim": ("cosine_similarity",
                                lambda g: {"input": _randn(g, 3, 1), "input2": _randn(g, 3, 5)},
                                ["input", "input2"], {"dim": 1, "eps": 1e-8}),
    "cos_tiny_norms": ("cosine_similarity", _tiny_norms, ["input", "input2"],
                       {"dim": 1, "eps": 1e-8}),
    "cos_unbatched": ("cosine_similarity", lambda g: {"input": _randn(g, 6), "input2": _randn(g, 6)},
                      ["input", "input2"], {"dim": 0, "eps": 1e-8}),
    "cel_mean": ("cosine_embedding_loss",
                 lambda g: {"input": _randn(g, 6, 4), "input2": _randn(g, 6, 4),
                            "target": torch.tensor([1.0, -1, 1, -1, 0, -1], dtype=torch.float64)},
                 ["input", "input2"], {"margin": 0.2}),
    "cel_sum_negative_margin": ("cosine_embedding_loss",
                                lambda g: {"input": _randn(g, 5, 3), "input2": _randn(g, 5, 3),
                                           "target": -torch.ones(5, dtype=torch.float64)},
                                ["input", "input2"], {"margin": -0.5, "reduction": "sum"}),
    "cel_unbatched_none": ("cosine_embedding_loss",
                           lambda g: {"input": _randn(g, 4), "input2": _randn(g, 4),
                                      "target": torch.tensor(1.0, dtype=torch.float64)},
                           ["input", "input2"], {"reduction": "none"}),
}

# The positional arguments of each function, in order; the rest go by keyword.
_POSITIONAL = {"cosine_similarity": ["input", "input2"],
               "cosine_embedding_loss": ["input", "input2", "target"]}


def generic_case(name, loss, build, differentiable, opts, gen, out):
    args = build(gen)
    for key, t in args.items():
        out[f"{name}/{key}"] = t
    fn = getattr(F, loss)
    positional = _POSITIONAL.get(loss, ["input", "target"])

    def call(dtype):
        conv = {k: v.to(dtype).clone().requires_grad_(k in differentiable) for k, v in args.items()}
        pos = [conv[k] for k in positional]
        kw = {k: v for k, v in conv.items() if k not in positional}
        with warnings.catch_warnings():
            # A size-mismatch warning would be a case marrow rejects: fail here instead.
            warnings.simplefilter("error")
            warnings.filterwarnings("ignore", message="reduction: 'mean' divides")  # kl_div
            return fn(*pos, **kw, **opts), conv

    y64, _ = call(torch.float64)
    gout = torch.randn(y64.shape, generator=gen, dtype=torch.float64) if y64.dim() else \
        torch.tensor(1.0, dtype=torch.float64)
    out[f"{name}/gout"] = gout
    for dtype, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
        y, conv = call(dtype)
        y.backward(gout.to(dtype))
        out[f"{name}/out.{tag}"] = y.detach()
        for key in differentiable:
            suffix = "grad" if key == "input" else f"grad_{key}"
            out[f"{name}/{suffix}.{tag}"] = conv[key].grad
    meta = {"loss": loss, "reduction": "mean"}
    meta.update(opts)
    return json.dumps(meta)


def main():
    gen = torch.Generator().manual_seed(2024)
    out, meta = {}, {"torch": torch.__version__}
    for name, (loss, shape, opts) in LOSS_CASES.items():
        meta[f"case.{name}"] = loss_case(name, loss, shape, opts, gen, out)
    for name, opts in SGD_CASES.items():
        meta[f"case.{name}"] = sgd_case(name, opts, gen, out)
    # After the SGD cases, so the cases above keep their random draws.
    for name, (loss, build, differentiable, opts) in GENERIC_CASES.items():
        meta[f"case.{name}"] = generic_case(name, loss, build, differentiable, opts, gen, out)
    save(sys.argv[1], out, meta)


if __name__ == "__main__":
    main()
