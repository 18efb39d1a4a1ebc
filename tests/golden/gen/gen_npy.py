#!/usr/bin/python3
"""Fixtures for the .npy reader (tests/test_npy.cpp): files written by NumPy itself and what
NumPy reads back from them (expected.json), so the expected values come from NumPy and not
from the reader under test.

Files (in OUT_DIR):
  f32_features.npy  (2, 16, 5, 5) float32: SCEMILA's per-patient layout (N, C, 5, 5)
  f64.npy, f16.npy, i8.npy, i16.npy, i32.npy, i64.npy, u8.npy, u16.npy, u32.npy, u64.npy,
  bool.npy          (2, 3) arrays of every dtype the reader knows, negative values included
  big_endian.npy    (2, 3) '>f4'
  big_i32.npy       (2, 3) '>i4'
  fortran.npy       (2, 3, 4) float32 in Fortran order
  scalar.npy        a 0-d float64; vector.npy (5,) int64; empty.npy (0, 4) float32
  v2.npy            a (2, 2) float32 written with format version 2.0
  v3.npy            a (2, 2) float32 written with format version 3.0
  object.npy        an object array (pickled): must be refused
  structured.npy    a structured dtype [('a', '<f4'), ('b', '<i4')]: must be refused

expected.json: for each readable file, {"shape": [...], "values": [...]} with the values in
C order as NumPy returns them (np.load(F).ravel().tolist(); bool as 0/1).

  /usr/bin/python3 gen_npy.py OUT_DIR
"""
import json
import os
import sys

import numpy as np


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    small = np.array([[-3, -1, 0], [1, 2, 5]])
    arrays = {
        "f32_features": rng.standard_normal((2, 16, 5, 5)).astype(np.float32),
        "f64": (small * 0.1).astype(np.float64),
        "f16": (small * 0.25).astype(np.float16),
        "i8": small.astype(np.int8) * 40,
        "i16": small.astype(np.int16) * 10000,
        "i32": small.astype(np.int32) * 700000000,
        "i64": small.astype(np.int64) * (1 << 40),
        "u8": (small + 3).astype(np.uint8) * 30,
        "u16": (small + 3).astype(np.uint16) * 8000,
        "u32": (small + 3).astype(np.uint32) * 500000000,
        "u64": (small + 3).astype(np.uint64) * (1 << 50),
        "bool": small > 0,
        "big_endian": (small * 1.5).astype(">f4"),
        "big_i32": (small * 1000).astype(">i4"),
        "fortran": np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 7),
        "scalar": np.array(2.5),
        "vector": np.arange(5, dtype=np.int64) - 2,
        "empty": np.zeros((0, 4), np.float32),
    }
    expected = {}
    for name, a in arrays.items():
        np.save(os.path.join(out, name + ".npy"), a)
        back = np.load(os.path.join(out, name + ".npy"))
        if name == "fortran":
            assert back.flags.f_contiguous and not back.flags.c_contiguous
        values = back.astype(np.int64) if back.dtype == np.bool_ else back
        expected[name] = {"shape": list(back.shape), "values": values.ravel().tolist()}
    for version in (2, 3):
        a = np.array([[1.5, -2], [0.25, 8]], np.float32)
        with open(os.path.join(out, f"v{version}.npy"), "wb") as f:
            np.lib.format.write_array(f, a, version=(version, 0))
        expected[f"v{version}"] = {"shape": [2, 2], "values": a.ravel().tolist()}
    np.save(os.path.join(out, "object.npy"), np.array([{"a": 1}, None], dtype=object),
            allow_pickle=True)
    np.save(os.path.join(out, "structured.npy"),
            np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main(sys.argv[1])
