#!/usr/bin/python3
"""Golden fixture for eval::PCA (tests/eval/test_pca.cpp), from Debian's python3-sklearn.

Cases (float64), each <case>/x (N, F) and sklearn's fitted attributes:
  <case>/components (K, F), /mean (F), /explained_variance (K), /explained_variance_ratio (K),
  /singular_values (K), /noise_variance (scalar as (1,)), /transform (N, K) = fit_transform,
  /inverse (N, F) = inverse_transform(transform) (full cases).
  tall_whiten:   200 x 30, K = 10, whiten, svd_solver='full' (F < N: covariance path)
  wide:           40 x 100, K = 5, svd_solver='full' (N < F: Gram path)
  all:            50 x 8, K = None (= 8), svd_solver='full' (noise variance 0)
  randomized:    300 x 60, K = 6, svd_solver='randomized' (sklearn's default power
                 iterations and oversampling), decaying spectrum so that the randomized
                 answer equals the exact one to ~1e-9: ours is compared at that level.
  randomized_wide: 40 x 520, K = 4, svd_solver='randomized' (sklearn transposes)
Each case's options are in the metadata under "case.<name>" as JSON.

Run:  /usr/bin/python3 gen_pca.py OUT.safetensors
"""
import json
import sys

import numpy as np
import torch
from sklearn.decomposition import PCA

from safetensors_io import save


def data(rng, n, f, decay):
    # Features with variances decaying geometrically and a random rotation, plus an offset.
    scales = decay ** np.arange(f)
    q, _ = np.linalg.qr(rng.normal(size=(f, f)))
    return (rng.normal(size=(n, f)) * scales) @ q.T + rng.normal(size=f) * 3


CASES = {
    "tall_whiten": (200, 30, 0.8, {"n_components": 10, "whiten": True, "svd_solver": "full"}),
    "wide": (40, 100, 0.9, {"n_components": 5, "whiten": False, "svd_solver": "full"}),
    "all": (50, 8, 0.7, {"n_components": None, "whiten": False, "svd_solver": "full"}),
    "randomized": (300, 60, 0.5, {"n_components": 6, "whiten": False,
                                  "svd_solver": "randomized"}),
    "randomized_wide": (40, 520, 0.5, {"n_components": 4, "whiten": True,
                                       "svd_solver": "randomized"}),
}


def main():
    rng = np.random.default_rng(13)
    out, meta = {}, {}
    for name, (n, f, decay, opts) in CASES.items():
        x = data(rng, n, f, decay)
        pca = PCA(random_state=0, **opts)
        z = pca.fit_transform(x)
        out[f"{name}/x"] = x
        out[f"{name}/components"] = pca.components_
        out[f"{name}/mean"] = pca.mean_
        out[f"{name}/explained_variance"] = pca.explained_variance_
        out[f"{name}/explained_variance_ratio"] = pca.explained_variance_ratio_
        out[f"{name}/singular_values"] = pca.singular_values_
        out[f"{name}/noise_variance"] = np.array([pca.noise_variance_])
        out[f"{name}/transform"] = z
        if opts["svd_solver"] == "full":
            out[f"{name}/inverse"] = pca.inverse_transform(z)
        meta[f"case.{name}"] = json.dumps({k: (-1 if v is None else v) for k, v in opts.items()})
    save(sys.argv[1], {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64))
                       for k, v in out.items()},
         meta)


if __name__ == "__main__":
    main()
