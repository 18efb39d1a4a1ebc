#!/usr/bin/python3
"""torchvision's resnet50(weights=None) saved with torch.save, for tests/nn/pth_resnet_check.cpp
(ctest pth_resnet50): the published-checkpoint path end to end, a .pth that marrow's reader
loads into nn::models::resnet50 strictly, then eval-mode logits compared with torch's.

Seeded init (torch.manual_seed(0)), then three train-mode passes so the batch-norm running
statistics leave their (0, 1) start and the buffers are checked too. Writes into DIR:
  resnet50.pth              torch.save(model.state_dict())   (~100 MB, build dir only)
  resnet50.io.safetensors   x (2, 3, 64, 64) and torch's eval-mode logits (2, 1000)
Exit 77 (ctest: skipped) without PyTorch / torchvision.

  /usr/bin/python3 save_resnet50_pth.py DIR
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
from safetensors_io import save  # noqa: E402

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
model = torchvision.models.resnet50(weights=None)
with torch.no_grad():
    for _ in range(3):
        model(torch.randn(4, 3, 64, 64))
    model.eval()
    x = torch.randn(2, 3, 64, 64)
    logits = model(x)
torch.save(model.state_dict(), os.path.join(out, "resnet50.pth"))
save(os.path.join(out, "resnet50.io.safetensors"), {"x": x, "logits": logits})
print(f"wrote {out}/resnet50.pth and resnet50.io.safetensors")
