#!/usr/bin/python3
"""Golden fixtures for nn/'s optimizers, schedules and clipping (tests/nn/test_optim_golden.cpp).

Optimizer cases (float64): three parameters p (4, 3), q (3), r (2) in two groups (p | q, r),
where r takes no part in the loss (no gradient: skipped, no state), the loss's constants, each
parameter after every step, and the final state by torch's names:
  <case>/p.step<k>, <case>/q.step<k>, <case>/r.step<k> (k = 0..steps), <case>/a, /c, /e, /f,
  <case>/state.<i>.<name>   (step as int64)
  loss(p, q) = 0.5 * sum(a * p * p) + sum(c * p) + 0.5 * sum(f * (q - e) ** 2)
Before step k every group's lr is its initial lr * lr_decay ** k (a schedule's effect).
SGD, Adam and AdamW run torch.optim; LARS (SimCLR's tf2/lars_optimizer.py) and LARC (apex's
LARC.py around torch SGD, as SwAV/VISSL) run the small re-implementations below, written from
the reference formulas (ssl_mil_spec.md 1.2).

Schedules: DINO's cosine_scheduler (numpy, as utils.py) -> sched.<case>/values; torch StepLR
and MultiStepLR over two groups -> sched.<case>/lr (steps, groups); ReduceLROnPlateau ->
plateau.<case>/metrics, /lr (steps, groups), /best, /num_bad_epochs.
Clipping: clip.<case>/g<i> (gradients before), /out<i> (after), /total (clip_grad_norm_) or
/norms (DINO's clip_gradients).
Each case's options are JSON in the metadata under "case.<name>".

Run with Debian's python3-torch:  /usr/bin/python3 gen_optim.py OUT.safetensors
"""
import json
import math
import sys

import numpy as np
import torch

from safetensors_io import save

STEPS = 6

# name: (optimizer, defaults, [group 0 overrides, group 1 overrides], extra)
OPT_CASES = {
    "sgd_groups_nesterov": ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True,
                                    "weight_decay": 0.01}, [{}, {"lr": 0.2, "weight_decay": 0}],
                            {}),
    "sgd_groups_dampening_decay": ("sgd", {"lr": 0.1, "momentum": 0.8, "dampening": 0.3,
                                           "weight_decay": 0.05}, [{"weight_decay": 0.1}, {}],
                                   {"lr_decay": 0.7}),
    "adam_plain": ("adam", {"lr": 0.05}, [{}, {}], {}),
    "adam_wd_amsgrad": ("adam", {"lr": 0.03, "weight_decay": 0.1, "amsgrad": True,
                                 "betas": (0.8, 0.95)}, [{}, {"lr": 0.1, "weight_decay": 0}],
                        {"lr_decay": 0.8}),
    "adam_maximize_eps": ("adam", {"lr": 0.02, "eps": 1e-3, "maximize": True,
                                   "weight_decay": 0.02}, [{}, {}], {}),
    "adamw_default": ("adamw", {"lr": 0.05}, [{}, {}], {}),
    "adamw_groups_amsgrad": ("adamw", {"lr": 0.04, "weight_decay": 0.3, "amsgrad": True},
                             [{}, {"weight_decay": 0.0}], {"lr_decay": 0.9}),
    "lars_simclr": ("lars", {"lr": 0.5, "momentum": 0.9, "weight_decay": 0.01, "eta": 0.02},
                    [{}, {"weight_decay": 0, "layer_adaptation": False}], {"lr_decay": 0.8}),
    "lars_nesterov": ("lars", {"lr": 0.3, "momentum": 0.9, "weight_decay": 0.05, "eta": 0.05,
                               "nesterov": True}, [{}, {}], {}),
    "larc_clip": ("larc", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01},
                  [{}, {"lr": 0.05}], {"trust_coefficient": 0.02, "clip": True}),
    "larc_swav": ("larc", {"lr": 0.4, "momentum": 0.9, "weight_decay": 1e-3},
                  [{}, {}], {"trust_coefficient": 0.001, "clip": False, "lr_decay": 0.9}),
    # DINO's LARS: its ndim rule excludes q and r (1-D), which is what the second group says
    "lars_dino": ("lars", {"lr": 0.4, "momentum": 0.9, "weight_decay": 0.02, "eta": 0.03,
                           "lr_outside_momentum": True},
                  [{}, {"weight_decay": 0, "layer_adaptation": False}], {"lr_decay": 0.8}),
}


class LarsSimCLR:
    """google-research/simclr tf2/lars_optimizer.py, classic_momentum=True, per variable."""

    def __init__(self, groups, momentum, eta, nesterov=False):
        self.param_groups, self.momentum, self.eta, self.nesterov = groups, momentum, eta, nesterov
        self.state = {}

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for w in group["params"]:
                if w.grad is None:
                    continue
                g = w.grad
                if group["weight_decay"] != 0:  # excluded variables: no decay
                    g = g + group["weight_decay"] * w
                trust = 1.0
                if group["layer_adaptation"]:
                    w_norm, g_norm = w.norm(), g.norm()
                    if w_norm > 0 and g_norm > 0:
                        trust = self.eta * w_norm / g_norm
                scaled_lr = group["lr"] * trust
                v = self.state.setdefault(w, {"momentum_buffer": torch.zeros_like(w)})
                v["momentum_buffer"] = self.momentum * v["momentum_buffer"] + scaled_lr * g
                if self.nesterov:
                    update = self.momentum * v["momentum_buffer"] + scaled_lr * g
                else:
                    update = v["momentum_buffer"]
                w -= update


class LarsDino:
    """facebookresearch/dino utils.LARS (from barlowtwins), as written there: 1-D parameters
    (biases, norms) get no weight decay and no trust ratio, and the lr multiplies the momentum
    buffer when it is applied (its state "mu" is stored as momentum_buffer here)."""

    def __init__(self, groups, momentum, eta):
        self.param_groups, self.momentum, self.eta = groups, momentum, eta
        self.state = {}

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                dp = p.grad
                if dp is None:
                    continue
                if p.ndim != 1:
                    dp = dp.add(p, alpha=g["weight_decay"])
                if p.ndim != 1:
                    param_norm = torch.norm(p)
                    update_norm = torch.norm(dp)
                    one = torch.ones_like(param_norm)
                    q = torch.where(param_norm > 0.,
                                    torch.where(update_norm > 0,
                                                (self.eta * param_norm / update_norm), one), one)
                    dp = dp.mul(q)
                state = self.state.setdefault(p, {"momentum_buffer": torch.zeros_like(p)})
                mu = state["momentum_buffer"]
                mu.mul_(self.momentum).add_(dp)
                p.add_(mu, alpha=-g["lr"])


class Larc:
    """NVIDIA apex apex/parallel/LARC.py around a torch optimizer (SwAV, VISSL)."""

    def __init__(self, optim, trust_coefficient, clip, eps=1e-8):
        self.optim, self.trust_coefficient, self.clip, self.eps = optim, trust_coefficient, clip, eps
        self.param_groups, self.state = optim.param_groups, optim.state

    @torch.no_grad()
    def step(self):
        weight_decays = []
        for group in self.optim.param_groups:
            weight_decay = group.get("weight_decay", 0)
            weight_decays.append(weight_decay)
            group["weight_decay"] = 0
            for p in group["params"]:
                if p.grad is None:
                    continue
                param_norm, grad_norm = torch.norm(p.data), torch.norm(p.grad.data)
                if param_norm != 0 and grad_norm != 0:
                    adaptive_lr = self.trust_coefficient * param_norm / (
                        grad_norm + param_norm * weight_decay + self.eps)
                    if self.clip:
                        adaptive_lr = min(adaptive_lr / group["lr"], 1)
                    p.grad.data += weight_decay * p.data
                    p.grad.data *= adaptive_lr
        self.optim.step()
        for i, group in enumerate(self.optim.param_groups):
            group["weight_decay"] = weight_decays[i]


def make_optimizer(kind, defaults, groups, extra):
    d = dict(defaults)
    if kind in ("sgd", "larc"):
        sgd_groups = [{k: v for k, v in g.items() if k != "layer_adaptation"} for g in groups]
        opt = torch.optim.SGD(sgd_groups, **d)
        return Larc(opt, extra["trust_coefficient"], extra["clip"]) if kind == "larc" else opt
    if kind in ("adam", "adamw"):
        return (torch.optim.Adam if kind == "adam" else torch.optim.AdamW)(groups, **d)
    for g in groups:
        g.setdefault("lr", d["lr"])
        g.setdefault("weight_decay", d.get("weight_decay", 0))
        g.setdefault("layer_adaptation", True)
    if d.get("lr_outside_momentum", False):
        return LarsDino(groups, d["momentum"], d["eta"])
    return LarsSimCLR(groups, d["momentum"], d["eta"], d.get("nesterov", False))


def opt_case(name, kind, defaults, overrides, extra, gen, out):
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
    groups = [dict(overrides[0], params=[p]), dict(overrides[1], params=[q, r])]
    opt = make_optimizer(kind, defaults, groups, extra)
    initial_lrs = [g["lr"] for g in opt.param_groups]
    decay = extra.get("lr_decay", 1.0)
    for k in range(STEPS + 1):
        for pname, t in params.items():
            out[f"{name}/{pname}.step{k}"] = t.detach().clone()
        if k == STEPS:
            break
        for g, lr0 in zip(opt.param_groups, initial_lrs):
            g["lr"] = lr0 * decay ** k
        loss = 0.5 * (a * p * p).sum() + (c * p).sum() + 0.5 * (f * (q - e) ** 2).sum()
        for t in params.values():
            t.grad = None
        loss.backward()
        opt.step()
    for i, t in enumerate(params.values()):
        for key, value in opt.state.get(t, {}).items():
            if key == "step":
                value = torch.tensor(int(value), dtype=torch.int64)
            out[f"{name}/state.{i}.{key}"] = value.detach().clone()
    meta = {"optimizer": kind, "defaults": defaults, "groups": overrides, "steps": STEPS,
            "lr_decay": decay}
    meta.update({k: v for k, v in extra.items() if k != "lr_decay"})
    return json.dumps(meta)


def dino_cosine_scheduler(base_value, final_value, epochs, niter_per_ep, warmup_epochs=0,
                          start_warmup_value=0):
    """facebookresearch/dino utils.py cosine_scheduler (the same numpy expressions)."""
    warmup_schedule = np.array([])
    warmup_iters = warmup_epochs * niter_per_ep
    if warmup_epochs > 0:
        warmup_schedule = np.linspace(start_warmup_value, base_value, warmup_iters)
    iters = np.arange(epochs * niter_per_ep - warmup_iters)
    schedule = final_value + 0.5 * (base_value - final_value) * (
        1 + np.cos(np.pi * iters / len(iters)))
    schedule = np.concatenate((warmup_schedule, schedule))
    assert len(schedule) == epochs * niter_per_ep
    return schedule


COSINE_CASES = {
    "cos_oracle": (1.0, 0.0, 1, 4, 0, 0.0),  # ssl_mil_spec 0.6: [1, .853553, .5, .146447]
    "cos_dino_lr": (5e-4, 1e-6, 4, 7, 1, 0.0),
    "cos_dino_wd": (0.04, 0.4, 3, 5, 0, 0.0),
    "cos_teacher_momentum": (0.996, 1.0, 2, 10, 0, 0.0),
    "cos_swav_start_warmup": (4.8, 0.0048, 5, 3, 2, 0.3),
    "cos_one_iter_warmup": (0.1, 0.0, 5, 1, 1, 0.01),
}

STEP_CASES = {
    "steplr": ("step", {"step_size": 3, "gamma": 0.5}),
    "multisteplr": ("multistep", {"milestones": [2, 5, 5, 9], "gamma": 0.3}),
}
SCHED_STEPS = 14

PLATEAU_CASES = {
    "plateau_min_rel": ({"patience": 2}, [1.0, 0.9, 0.95, 0.92, 0.93, 0.91, 0.91, 0.5, 0.6, 0.7,
                                          0.8, 0.9, 0.4, 0.41]),
    "plateau_max_abs_cooldown": ({"mode": "max", "threshold_mode": "abs", "threshold": 0.05,
                                  "patience": 1, "cooldown": 2, "factor": 0.5},
                                 [0.1, 0.2, 0.22, 0.24, 0.3, 0.31, 0.32, 0.33, 0.34, 0.5, 0.5,
                                  0.5, 0.5, 0.5]),
    "plateau_min_lr_groups": ({"patience": 0, "factor": 0.2, "min_lr": [0.01, 0.001]},
                              [5, 5, 5, 5, 4, 4, 4, 4, 4, 4]),
    "plateau_max_rel_nan": ({"mode": "max", "patience": 1, "threshold": 0.1},
                            [1.0, 1.05, 1.2, float("nan"), 1.3, 1.31, 1.32, 2.0, 1.0]),
}


def schedule_cases(gen, out, meta):
    for name, args in COSINE_CASES.items():
        out[f"sched.{name}/values"] = torch.from_numpy(dino_cosine_scheduler(*args))
        meta[f"case.sched.{name}"] = json.dumps({"schedule": "cosine", "args": args})
    for name, (kind, opts) in STEP_CASES.items():
        w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        v = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([{"params": [w]}, {"params": [v], "lr": 0.05}], lr=0.1)
        sched = (torch.optim.lr_scheduler.StepLR(opt, **opts) if kind == "step"
                 else torch.optim.lr_scheduler.MultiStepLR(opt, **opts))
        lrs = []
        for _ in range(SCHED_STEPS):
            lrs.append([g["lr"] for g in opt.param_groups])
            opt.step()
            sched.step()
        out[f"sched.{name}/lr"] = torch.tensor(lrs, dtype=torch.float64)
        meta[f"case.sched.{name}"] = json.dumps({"schedule": kind, "lrs": [0.1, 0.05], **opts})
    for name, (opts, metrics) in PLATEAU_CASES.items():
        w = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        v = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([{"params": [w]}, {"params": [v], "lr": 0.05}], lr=0.1)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **opts)
        lrs, best, bad = [], [], []
        for m in metrics:
            sched.step(m)
            lrs.append([g["lr"] for g in opt.param_groups])
            best.append(sched.best)
            bad.append(sched.num_bad_epochs)
        out[f"plateau.{name}/metrics"] = torch.tensor(metrics, dtype=torch.float64)
        out[f"plateau.{name}/lr"] = torch.tensor(lrs, dtype=torch.float64)
        out[f"plateau.{name}/best"] = torch.tensor(best, dtype=torch.float64)
        out[f"plateau.{name}/num_bad_epochs"] = torch.tensor(bad, dtype=torch.int64)
        full = {"mode": "min", "factor": 0.1, "patience": 10, "threshold": 1e-4,
                "threshold_mode": "rel", "cooldown": 0, "min_lr": [0.0], "eps": 1e-8,
                "lrs": [0.1, 0.05]}
        full.update(opts)
        if not isinstance(full["min_lr"], list):
            full["min_lr"] = [full["min_lr"]]
        meta[f"case.plateau.{name}"] = json.dumps(full)


def dino_clip_gradients(params, clip):
    """facebookresearch/dino utils.py clip_gradients, over a list of parameters."""
    norms = []
    for p in params:
        if p.grad is not None:
            param_norm = p.grad.data.norm(2)
            norms.append(param_norm.item())
            clip_coef = clip / (param_norm + 1e-6)
            if clip_coef < 1:
                p.grad.data.mul_(clip_coef)
    return norms


# name: (function, kwargs, dtype, gradient scale)
CLIP_CASES = {
    "norm2_clipped": ("norm", {"max_norm": 1.0}, torch.float64, 1.0),
    "norm2_unclipped": ("norm", {"max_norm": 100.0}, torch.float64, 1.0),
    "norm1": ("norm", {"max_norm": 2.0, "norm_type": 1.0}, torch.float64, 1.0),
    "norm_inf": ("norm", {"max_norm": 0.5, "norm_type": math.inf}, torch.float64, 1.0),
    "norm_3p5": ("norm", {"max_norm": 0.7, "norm_type": 3.5}, torch.float64, 1.0),
    "norm2_f32": ("norm", {"max_norm": 1.5}, torch.float32, 2.0),
    "value": ("value", {"clip_value": 0.4}, torch.float64, 1.0),
    "dino_per_param": ("dino", {"clip": 1.2}, torch.float64, 1.0),
}


def clip_cases(gen, out, meta):
    # Three parameters with gradients of different sizes, and one without a gradient.
    shapes = [(5, 4), (7,), (2, 3, 2), (3,)]
    for name, (fn, kwargs, dtype, scale) in CLIP_CASES.items():
        params = [torch.zeros(s, dtype=dtype, requires_grad=True) for s in shapes]
        scales = [0.3, 1.0, 2.5]
        for i, (t, sc) in enumerate(zip(params[:3], scales)):
            t.grad = (torch.randn(t.shape, generator=gen, dtype=torch.float64) * sc * scale).to(dtype)
            out[f"clip.{name}/g{i}"] = t.grad.clone()
        if fn == "norm":
            total = torch.nn.utils.clip_grad_norm_(params, **kwargs)
            out[f"clip.{name}/total"] = total.detach().clone()
        elif fn == "value":
            torch.nn.utils.clip_grad_value_(params, **kwargs)
        else:
            out[f"clip.{name}/norms"] = torch.tensor(dino_clip_gradients(params, **kwargs),
                                                     dtype=torch.float64)
        for i, t in enumerate(params[:3]):
            out[f"clip.{name}/out{i}"] = t.grad.clone()
        opts = dict(kwargs)
        if opts.get("norm_type") == math.inf:
            opts["norm_type"] = "inf"
        meta[f"case.clip.{name}"] = json.dumps({"kind": fn, **opts})


def main():
    gen = torch.Generator().manual_seed(1234)
    out, meta = {}, {"torch": torch.__version__}
    for name, (kind, defaults, overrides, extra) in OPT_CASES.items():
        meta[f"case.{name}"] = opt_case(name, kind, defaults, overrides, extra, gen, out)
    schedule_cases(gen, out, meta)
    clip_cases(gen, out, meta)
    save(sys.argv[1], out, meta)


if __name__ == "__main__":
    main()
