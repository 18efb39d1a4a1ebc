#!/usr/bin/python3
"""Golden fixture for the ResNets (tests/nn/test_resnet_golden.cpp): torchvision's resnet18
and resnet50 with weights from a counter-based formula both sides compute (so the fixture
stays small instead of holding 100 MB of weights), run on a fixed batch.

Weights: every state_dict entry of torchvision's model, by key, from `formula(key, shape)`:
splitmix64 of (fnv1a64(key) + i * golden ratio) gives u_i in [0, 1); then
  conv / linear weight:  (2u - 1) sqrt(6 / fan_in)            (He-uniform scale)
  fc.bias:               0.01 (2u - 1)
  bn weight:             1 + 0.2 (2u - 1)
  bn bias:               0.1 (2u - 1)
  bn running_mean:       0.1 (2u - 1)
  bn running_var:        1 + 0.5 u
  bn num_batches_tracked 0
The C++ test implements the same formula from this description, builds a StateDict under
torchvision's keys and loads it by key into marrow's model.

Per model <m> (resnet18, resnet50), in float64 (a batch of 2 makes batch-norm's backward
ill-conditioned: torch's own float32 and float64 input gradients of ResNet-50 differ by an
nmse of 1.6e-4, so gradients are compared in float64), input x (2, 3, 64, 64), target (2):
  <m>/x, <m>/target
  <m>/logits.train      train mode (batch statistics), before any update
  <m>/loss              cross_entropy(logits.train, target)
  <m>/x.grad            d loss / d x
  <m>/grad_stats/<key>  (sum, sum of |g|) of every parameter's gradient
  <m>/grad_sample/<key> the gradient at 16 fixed flat positions (i * 7919 mod numel)
  <m>/logits.eval       eval mode after that train-mode forward (running stats updated once)
  <m>/sgd_losses        (5,) the losses of 5 steps of SGD(lr 0.001, momentum 0.9, wd 1e-4),
                        starting again from the formula's weights, train mode, same batch
  <m>/logits.train.f32  the train-mode logits of the float32 model (the everyday dtype)
  <m>/keys              metadata "keys.<m>": torchvision's state_dict keys in order (JSON)

Run with Debian's python3-torch and torchvision:  /usr/bin/python3 gen_resnet.py OUT.safetensors
"""
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

from safetensors_io import save

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
SAMPLES = 16


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def uniforms(key, n):
    with np.errstate(over="ignore"):
        z = np.uint64(fnv1a64(key)) + np.arange(n, dtype=np.uint64) * np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)


def formula(key, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    u = uniforms(key, n)
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return torch.zeros(shape, dtype=torch.int64)
    if leaf == "running_mean":
        v = 0.1 * (2 * u - 1)
    elif leaf == "running_var":
        v = 1 + 0.5 * u
    elif len(shape) >= 2:  # conv or linear weight
        fan_in = n // shape[0]
        v = (2 * u - 1) * np.sqrt(6.0 / fan_in)
    elif key == "fc.bias":
        v = 0.01 * (2 * u - 1)
    elif leaf == "weight":  # bn weight
        v = 1 + 0.2 * (2 * u - 1)
    else:  # bn bias
        v = 0.1 * (2 * u - 1)
    # Rounded to float32 first: the float64 model starts from the float32 weights exactly.
    return torch.tensor(v, dtype=torch.float32).double().reshape(shape)


def load_formula(model):
    sd = model.state_dict()
    model.load_state_dict({k: formula(k, tuple(v.shape)).to(v.dtype) for k, v in sd.items()})


def main(out):
    torch.manual_seed(0)
    tensors, meta = {}, {}
    for name in ["resnet18", "resnet50"]:
        gen = torch.Generator().manual_seed(1)
        x = torch.randn(2, 3, 64, 64, generator=gen)
        model = getattr(torchvision.models, name)(num_classes=1000)
        load_formula(model)
        model.train()
        with torch.no_grad():
            tensors[f"{name}/logits.train.f32"] = model(x)
        model = model.double()
        load_formula(model)
        x = x.double()
        target = torch.tensor([3, 917])
        model.train()
        xg = x.clone().requires_grad_()
        logits = model(xg)
        loss = F.cross_entropy(logits, target)
        loss.backward()
        p = f"{name}/"
        tensors[p + "x"] = x
        tensors[p + "target"] = target
        tensors[p + "logits.train"] = logits.detach()
        tensors[p + "loss"] = loss.detach().reshape(1)
        tensors[p + "x.grad"] = xg.grad
        for key, param in model.named_parameters():
            g = param.grad.reshape(-1).double()
            tensors[p + "grad_stats/" + key] = torch.stack([g.sum(), g.abs().sum()])
            idx = (torch.arange(SAMPLES, dtype=torch.int64) * 7919) % g.numel()
            tensors[p + "grad_sample/" + key] = g[idx]
        model.eval()
        with torch.no_grad():
            tensors[p + "logits.eval"] = model(x)
        # 5 SGD steps from the formula's weights again.
        load_formula(model)
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=1e-4)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), target)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        tensors[p + "sgd_losses"] = torch.tensor(losses, dtype=torch.float64)
        meta["keys." + name] = json.dumps(list(model.state_dict().keys()))
    meta["torch"] = torch.__version__
    meta["torchvision"] = torchvision.__version__
    save(out, tensors, meta)


if __name__ == "__main__":
    main(sys.argv[1])
