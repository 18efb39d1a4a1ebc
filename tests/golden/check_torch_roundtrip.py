#!/usr/bin/python3
"""The other direction of the ResNet golden: weights written by marrow load into torchvision.

tests/nn/resnet_export.cpp writes <dir>/<m>.safetensors (marrow's state_dict, torchvision's
keys) and <dir>/<m>.io.safetensors (an input batch and marrow's eval-mode logits and features
for it); this loads the weights with torchvision's load_state_dict (strict) and compares the
logits. Exit 77 (ctest: skipped) without PyTorch.

  /usr/bin/python3 check_torch_roundtrip.py DIR
"""
import os
import sys

try:
    import torch
    import torchvision
except ImportError:
    print("PyTorch / torchvision not installed: skipped")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))
from safetensors_io import load  # noqa: E402

failed = False
for name in ["resnet18", "resnet50"]:
    weights = load(os.path.join(sys.argv[1], name + ".safetensors"))
    io = load(os.path.join(sys.argv[1], name + ".io.safetensors"))
    model = getattr(torchvision.models, name)(num_classes=io["logits"].shape[1])
    model.load_state_dict(weights, strict=True)
    model.eval()
    with torch.no_grad():
        logits = model(io["x"])
    diff = (logits - io["logits"]).abs().max().item()
    scale = io["logits"].abs().max().item()
    ok = diff <= 1e-4 * max(scale, 1.0)
    failed |= not ok
    print(f"{name}: torchvision's logits from marrow's weights differ by {diff:.3g} "
          f"(max |logit| {scale:.3g}): {'ok' if ok else 'FAILED'}")
sys.exit(1 if failed else 0)
