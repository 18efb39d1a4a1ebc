#!/usr/bin/python3
"""Golden fixtures for batch_norm's running statistics (tests/ops/test_batch_norm.cpp), which
the op-case registry cannot express (it compares outputs and gradients, not buffers updated
in place).

Each case runs torch.nn.BatchNorm{1d,2d} in float64: STEPS training forwards on batches whose
channels have different means and spreads, then one eval forward. Stored per case:
  <case>/weight, <case>/bias                       the affine parameters (C,)
  <case>/x<k>, <case>/y<k>                         training batch k and its output, k = 0..STEPS-1
  <case>/running_mean<k>, <case>/running_var<k>    the buffers after step k
  <case>/eval_x, <case>/eval_y                     the eval batch and its output
and the case's options as JSON in the metadata under "case.<name>": momentum (null for
PyTorch's cumulative average), eps, steps.

Run with Debian's python3-torch:  /usr/bin/python3 gen_norm.py OUT.safetensors
"""
import json
import sys

import torch

from safetensors_io import save

STEPS = 3

# name: (shape (N, C, ...), momentum, eps)
CASES = {
    "bn2d_momentum": ((4, 3, 5, 5), 0.1, 1e-5),
    "bn2d_cumulative": ((3, 2, 4, 3), None, 1e-5),
    "bn1d_rows": ((6, 4), 0.3, 1e-3),
    "bn1d_length": ((2, 3, 7), 0.1, 1e-5),
}


def batch(shape, gen):
    # Channel c has mean 3 c - 2 and standard deviation 0.5 + c: statistics far from (0, 1).
    c = shape[1]
    per_channel = [1] * len(shape)
    per_channel[1] = c
    offset = (torch.arange(c, dtype=torch.float64) * 3 - 2).reshape(per_channel)
    spread = (torch.arange(c, dtype=torch.float64) + 0.5).reshape(per_channel)
    return torch.randn(shape, generator=gen, dtype=torch.float64) * spread + offset


def main(out_path):
    tensors = {}
    metadata = {"torch": torch.__version__, "generator": "tests/golden/gen/gen_norm.py"}
    for name, (shape, momentum, eps) in CASES.items():
        gen = torch.Generator().manual_seed(len(name) * 1000 + shape[1])
        layer = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(
            shape[1], eps=eps, momentum=momentum, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.rand(shape[1], generator=gen, dtype=torch.float64) + 0.5)
            layer.bias.copy_(torch.randn(shape[1], generator=gen, dtype=torch.float64))
        tensors[f"{name}/weight"] = layer.weight.detach().clone()
        tensors[f"{name}/bias"] = layer.bias.detach().clone()
        layer.train()
        for k in range(STEPS):
            x = batch(shape, gen)
            with torch.no_grad():
                y = layer(x)
            tensors[f"{name}/x{k}"] = x
            tensors[f"{name}/y{k}"] = y
            tensors[f"{name}/running_mean{k}"] = layer.running_mean.clone()
            tensors[f"{name}/running_var{k}"] = layer.running_var.clone()
        layer.eval()
        x = batch(shape, gen)
        with torch.no_grad():
            tensors[f"{name}/eval_x"] = x
            tensors[f"{name}/eval_y"] = layer(x)
        metadata[f"case.{name}"] = json.dumps({"momentum": momentum, "eps": eps, "steps": STEPS})
    save(out_path, tensors, metadata)
    print(f"wrote {len(CASES)} cases, {len(tensors)} tensors to {out_path}")


if __name__ == "__main__":
    main(sys.argv[1])
