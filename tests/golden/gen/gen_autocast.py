#!/usr/bin/python3
"""Golden fixtures for mixed precision (tests/test_mixed_precision.cpp,
tests/nn/test_grad_scaler.cpp).

1. PyTorch's CPU autocast: F.linear inside torch.autocast("cpu", dtype=torch.bfloat16),
   loss = sum(y.float() * r) with r rounded to bf16 values (so the incoming gradient is the
   same on both sides), backward outside the scope. Stored per case (float32):
     <case>/x, weight, bias, r, y, grad_x, grad_weight, grad_bias
   PyTorch's outputs are bf16 (rounded), ours float32: the test's tolerance covers that.

2. torch.cuda.amp.GradScaler over a sequence of steps with injected inf / NaN gradients.
   torch 1.13 runs GradScaler only on CUDA (on a machine without CUDA it disables itself,
   and its two kernels, _amp_foreach_non_finite_check_and_unscale_ and _amp_update_scale_,
   have no CPU implementation). So torch's own GradScaler class runs here (its state machine,
   step skipping and update order) with CUDA checks bypassed and the two kernels replaced by
   Python transcriptions of aten/src/ATen/native/cuda/AmpKernels.cu. Stored per case:
     scaler_<case>/w0, scaler_<case>/x (STEPS, 4), scaler_<case>/inject (STEPS,) 0 / 1 inf /
     2 NaN (set in grad[1] after backward), and the results: scale (STEPS,) after each update,
     stepped (STEPS,) 1 when the optimizer stepped, w (STEPS, 4) after each step,
     tracker (STEPS,) the growth tracker after each update.

3. scaled_dot_product_attention's composition under the same autocast (attention_cases):
     attention/q, k, v, g, out, grad_q, grad_k, grad_v (float32; out and grads were bf16).

Run with Debian's python3-torch:  /usr/bin/python3 gen_autocast.py OUT.safetensors
"""
import math
import sys

import torch
import torch.nn.functional as F
from torch.cuda.amp import grad_scaler

from safetensors_io import save

LINEAR = {
    "linear2d": ((16, 64), 48),
    "linear3d": ((2, 7, 64), 40),
}

STEPS = 12
SCALER = {
    # name: GradScaler options, inject per step
    "growth": (dict(init_scale=2.0 ** 4, growth_interval=3), [0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]),
    "defaults": (dict(), [1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]),
}


def linear_cases(out, gen):
    for name, (shape, n_out) in LINEAR.items():
        k = shape[-1]
        x = torch.randn(shape, generator=gen)
        w = torch.randn(n_out, k, generator=gen) / math.sqrt(k)
        b = (torch.rand(n_out, generator=gen) - 0.5) / 4  # |bias| <= 1/8
        r = torch.randn(shape[:-1] + (n_out,), generator=gen).bfloat16().float()
        xg, wg, bg = (t.clone().requires_grad_() for t in (x, w, b))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = F.linear(xg, wg, bg)
        assert y.dtype == torch.bfloat16
        (y.float() * r).sum().backward()
        for key, t in dict(x=x, weight=w, bias=b, r=r, y=y.float(), grad_x=xg.grad,
                           grad_weight=wg.grad, grad_bias=bg.grad).items():
            out[f"{name}/{key}"] = t.float().contiguous()


# Attention (scaled_dot_product_attention's composition; torch 1.13 has no fused op) under
# CPU autocast: q k^T and p v are autocast matmuls (bf16 operands and outputs), the softmax is
# taken in float32 (as marrow's statistics), g rounded to bf16 values; backward outside.
ATTENTION = {"attention": (2, 3, 37, 45, 16)}  # batch, heads, L, S, E


def attention_cases(out, gen):
    for name, (b, h, l, s, e) in ATTENTION.items():
        q = torch.randn(b, h, l, e, generator=gen)
        k = torch.randn(b, h, s, e, generator=gen)
        v = torch.randn(b, h, s, e, generator=gen)
        g = torch.randn(b, h, l, e, generator=gen).bfloat16().float()
        qg, kg, vg = (t.clone().requires_grad_() for t in (q, k, v))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            scores = torch.matmul(qg, kg.transpose(-2, -1)) * (1.0 / math.sqrt(e))
            y = torch.matmul(torch.softmax(scores.float(), -1), vg)
        assert y.dtype == torch.bfloat16
        (y.float() * g).sum().backward()
        for key, t in dict(q=q, k=k, v=v, g=g, out=y.float(), grad_q=qg.grad, grad_k=kg.grad,
                           grad_v=vg.grad).items():
            out[f"{name}/{key}"] = t.float().contiguous()


# --- GradScaler on the CPU: torch's class, CUDA-only pieces replaced.

def non_finite_check_and_unscale_(grads, found_inf, inv_scale):
    # AmpKernels.cu: found_inf = 1 if any value is not finite; every value *= inv_scale.
    for g in grads:
        if not torch.isfinite(g).all():
            found_inf.fill_(1.0)
        g.mul_(inv_scale)


def update_scale_(scale, growth_tracker, found_inf, growth_factor, backoff_factor,
                  growth_interval):
    # AmpKernels.cu, amp_update_scale_cuda_kernel.
    if found_inf.item():
        scale.mul_(backoff_factor)
        growth_tracker.fill_(0)
    else:
        successful = growth_tracker.item() + 1
        if successful == growth_interval:
            new_scale = (scale * growth_factor).float()
            if torch.isfinite(new_scale).all():
                scale.copy_(new_scale)
            growth_tracker.fill_(0)
        else:
            growth_tracker.fill_(successful)
    return scale


class Replicator(grad_scaler._MultiDeviceReplicator):
    def __init__(self, master_tensor):  # no is_cuda assert
        self.master = master_tensor
        self._per_device_tensors = {}


class CpuGradScaler(grad_scaler.GradScaler):
    def scale(self, outputs):  # torch's scale() without its is_cuda assert
        if self._scale is None:
            self._lazy_init_scale_growth_tracker(outputs.device)
        return outputs * self._scale.to(device=outputs.device, non_blocking=True)


def scaler_cases(out, gen):
    torch._amp_foreach_non_finite_check_and_unscale_ = non_finite_check_and_unscale_
    torch._amp_update_scale_ = update_scale_
    grad_scaler._MultiDeviceReplicator = Replicator
    grad_scaler.amp_definitely_not_available = lambda: False  # else it disables itself
    for name, (options, inject) in SCALER.items():
        w0 = torch.randn(4, generator=gen)
        xs = torch.randn(STEPS, 4, generator=gen)
        w = w0.clone().requires_grad_()
        opt = torch.optim.SGD([w], lr=0.1)
        scaler = CpuGradScaler(**options)
        scales, stepped, ws, trackers = [], [], [], []
        for i in range(STEPS):
            opt.zero_grad()
            loss = (w * xs[i]).sum() ** 2
            scaler.scale(loss).backward()
            if inject[i] == 1:
                w.grad[1] = math.inf
            elif inject[i] == 2:
                w.grad[1] = math.nan
            before = w.detach().clone()
            scaler.step(opt)
            stepped.append(0 if torch.equal(before, w.detach()) else 1)
            scaler.update()
            scales.append(scaler.get_scale())
            trackers.append(scaler._get_growth_tracker())
            ws.append(w.detach().clone())
        assert stepped == [0 if j else 1 for j in inject], (name, stepped)
        p = f"scaler_{name}/"
        out[p + "w0"] = w0
        out[p + "x"] = xs
        out[p + "inject"] = torch.tensor(inject, dtype=torch.int64)
        out[p + "scale"] = torch.tensor(scales, dtype=torch.float64)
        out[p + "stepped"] = torch.tensor(stepped, dtype=torch.int64)
        out[p + "tracker"] = torch.tensor(trackers, dtype=torch.int64)
        out[p + "w"] = torch.stack(ws)
        out[p + "options"] = torch.tensor([options.get("init_scale", 65536.0),
                                           options.get("growth_interval", 2000)],
                                          dtype=torch.float64)


def main():
    gen = torch.Generator().manual_seed(14)
    out = {}
    linear_cases(out, gen)
    scaler_cases(out, gen)
    attention_cases(out, gen)  # last: the other cases' draws stay as they were
    save(sys.argv[1], out, {"torch": torch.__version__})


if __name__ == "__main__":
    main()
