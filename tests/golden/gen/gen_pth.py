#!/usr/bin/python3
"""Fixtures for the .pth reader (tests/test_pth.cpp): small files written by torch.save, and
what torch.load reads back from them (pth.safetensors), so the expected values come from
PyTorch and not from the reader under test.

Files (in OUT_DIR):
  dtypes.pth    {name: tensor} of every storage type torch.save writes for a state dict:
                float32/64, float16, bfloat16, int64/32/16/8, uint8, bool; plus a 0-d and an
                empty tensor
  views.pth     one (4, 6) storage seen as: the base, its transpose, a row, a column slice,
                an offset 2-d view; two tensors sharing one storage; one tensor object twice
  nested.pth    a training checkpoint: {"teacher": {...}, "student": {...}, "epoch": 3,
                "lr": 0.1, "arch": "vit_small", "optimizer": {"state": {0: {...}}, ...}}
  module.pth    the state_dict (OrderedDict with _metadata) of a small conv/bn/linear module,
                and as nn.Parameter objects (params.pth: _rebuild_parameter)
  proto4.pth    views.pth's dict with pickle_protocol=4 (FRAME, MEMOIZE, SHORT_BINUNICODE)
  legacy.pth    nested.pth's dict with _use_new_zipfile_serialization=False
  evil.pth      a dict holding an object whose __reduce__ calls os.system: must be refused
  dino_args.pth {"teacher": ..., "args": argparse.Namespace(...), "epoch": 3} as DINO saves
  bad_*.pth     views.pth rewritten with zipfile, each broken one way: no data.pkl
                (bad_no_pkl), storage record data/1 removed (bad_missing_record), data/0
                cut to 8 bytes (bad_small_record)

pth.safetensors: for every file F and each tensor of torch.load(F) flattened to dotted keys
(dict keys and list indices joined by '.'), "F/<key>" = the tensor as torch.load returns it
(int8/int16 as int32: marrow widens them), and metadata "keys.F" = the keys in order (JSON).
legacy.pth differs at each run (its storage keys are memory addresses); the others do not.

  /usr/bin/python3 gen_pth.py OUT_DIR
"""
import argparse
import collections
import json
import os
import sys
import zipfile

import torch

from safetensors_io import save


class Evil:
    def __reduce__(self):
        return (os.system, ("echo marrow-pth-fixture-should-never-run",))


def flatten(obj, prefix=""):
    out = []
    key = lambda k: f"{prefix}.{k}" if prefix else str(k)
    if isinstance(obj, torch.Tensor):
        out.append((prefix, obj))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out += flatten(v, key(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out += flatten(v, key(i))
    return out


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(14)
    r = lambda *s: torch.randn(*s, generator=g)

    dtypes = {
        "f32": r(2, 3), "f64": r(3).double(), "f16": r(2, 2).half(),
        "bf16": r(5).bfloat16(), "i64": torch.arange(-3, 3), "i32": torch.arange(4).int() - 2,
        "i16": torch.tensor([-300, 7, 32767], dtype=torch.int16),
        "i8": torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(2.5), "empty": torch.zeros(0, 3),
    }
    base = r(4, 6)
    shared = r(10)
    views = {
        "base": base, "t": base.t(), "row": base[1], "cols": base[:, 2:5],
        "window": base[1:3, 1:4], "shared_a": shared[:4], "shared_b": shared[3:].view(7, 1),
        "alias1": dtypes["f32"], "alias2": dtypes["f32"],
    }
    block = lambda: collections.OrderedDict(
        [("backbone.blocks.0.attn.qkv.weight", r(6, 2)), ("backbone.norm.bias", r(2)),
         ("head.last_layer.weight", r(3, 2))])
    nested = {
        "teacher": block(), "student": block(), "epoch": 3, "lr": 0.1, "arch": "vit_small",
        "optimizer": {"state": {0: {"momentum_buffer": r(6, 2)}},
                      "param_groups": [{"lr": 0.1, "params": [0, 1]}]},
        "history": [r(2), None, (r(1), 4)],
    }
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                                 torch.nn.Flatten(), torch.nn.Linear(4, 2))
    module[1].running_mean.uniform_(-1, 1)
    module[1].num_batches_tracked += 5
    files = {
        "dtypes": (dtypes, {}), "views": (views, {}), "nested": (nested, {}),
        "module": (module.state_dict(), {}),
        "params": (dict(module.named_parameters()), {}),
        "proto4": (views, {"pickle_protocol": 4}),
        "legacy": (nested, {"_use_new_zipfile_serialization": False}),
        "dino_args": ({"teacher": block(), "epoch": 3,
                       "args": argparse.Namespace(arch="vit_small", lr=0.0005)}, {}),
    }
    expected, metadata = {}, {}
    for name, (obj, kwargs) in files.items():
        path = os.path.join(out_dir, name + ".pth")
        torch.save(obj, path, **kwargs)
        back = torch.load(path, map_location="cpu") if name != "dino_args" else obj
        keys = []
        for k, t in flatten(back):
            keys.append(k)
            t = t.detach()
            if t.dtype in (torch.int8, torch.int16):
                t = t.int()
            expected[f"{name}/{k}"] = t
        metadata[f"keys.{name}"] = json.dumps(keys)
    torch.save({"weights": r(2), "payload": Evil()}, os.path.join(out_dir, "evil.pth"))
    with zipfile.ZipFile(os.path.join(out_dir, "views.pth")) as z:
        records = {n: z.read(n) for n in z.namelist()}
    broken = {
        "bad_no_pkl": {n: b for n, b in records.items() if not n.endswith("data.pkl")},
        "bad_missing_record": {n: b for n, b in records.items() if n != "views/data/1"},
        "bad_small_record": {n: (b[:8] if n == "views/data/0" else b)
                             for n, b in records.items()},
    }
    for name, recs in broken.items():
        with zipfile.ZipFile(os.path.join(out_dir, name + ".pth"), "w",
                             zipfile.ZIP_STORED) as z:
            for n, b in recs.items():  # a fixed date: regeneration gives the same bytes
                z.writestr(zipfile.ZipInfo(n, date_time=(2026, 1, 1, 0, 0, 0)), b)
    save(os.path.join(out_dir, "pth.safetensors"), expected, metadata)
    print(f"wrote {len(files) + 1} .pth files and pth.safetensors ({len(expected)} tensors) "
          f"to {out_dir}")


if __name__ == "__main__":
    main()
