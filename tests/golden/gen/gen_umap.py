#!/work/venv-umap/bin/python
"""Golden fixture for eval::UMAP, trustworthiness and silhouette (tests/eval/test_umap.cpp).

Needs umap-learn (PyPI; it brings numba and pynndescent) next to Debian's python3 packages:
  /usr/bin/python3 -m venv --system-site-packages /work/venv-umap
  /work/venv-umap/bin/pip install umap-learn        # 0.5.12 made the committed fixture
  /work/venv-umap/bin/python gen_umap.py OUT.safetensors

Contents:
  ab/params (C, 2) rows (spread, min_dist), ab/values (C, 2): umap.umap_.find_ab_params.
  fuzzy/x (300, 10) f32 Gaussian mixture; umap-learn's exact kNN for N < 4096 (n_neighbors
    15): fuzzy/knn_indices (int64), fuzzy/knn_dists, fuzzy/sigmas, fuzzy/rhos, and its graph_
    (the fuzzy union) as fuzzy/rows, fuzzy/cols (int64), fuzzy/vals, sorted by (row, col).
  digits/x_u8 (1797, 64) sklearn's digits (pixel values 0..16; the data is x_u8 / 16),
    digits/labels (int64), digits/embedding (1797, 2): umap-learn's embedding (seed 0),
    digits/trust (1,): sklearn trustworthiness of it (n_neighbors 5),
    digits/silhouette (1,): sklearn silhouette_score of it by label,
    digits/trust_seeds, digits/silhouette_seeds (S,): the same over seeds 0..S-1.
  scores/x (60, 5), scores/emb (60, 2), scores/labels (60) with a singleton class:
    scores/trust_k{1,5,10} and scores/silhouette_x / silhouette_emb from sklearn.
"""
import sys

import numpy as np
import torch
import umap
from sklearn.datasets import load_digits
from sklearn.manifold import trustworthiness
from sklearn.metrics import silhouette_score
from sklearn.metrics import pairwise_distances
from umap.umap_ import find_ab_params, fuzzy_simplicial_set, nearest_neighbors

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from safetensors_io import save  # noqa: E402


def t(a, dtype=None):
    a = np.ascontiguousarray(a if dtype is None else np.asarray(a, dtype=dtype))
    return torch.from_numpy(a)


def main():
    out = {}
    params = [(1.0, 0.1), (1.0, 0.5), (2.0, 0.0), (0.5, 0.25)]
    out["ab/params"] = t(params, np.float64)
    out["ab/values"] = t([find_ab_params(s, m) for s, m in params], np.float64)

    rng = np.random.default_rng(5)
    centers = rng.normal(scale=4.0, size=(4, 10))
    x = (centers[rng.integers(0, 4, 300)] + rng.normal(size=(300, 10))).astype(np.float32)
    # UMAP.fit's path for N < 4096: exact distances, then the kNN of the distance matrix.
    dmat = pairwise_distances(x, metric="euclidean")
    knn_i, knn_d, _ = nearest_neighbors(dmat, 15, "precomputed", {}, False, None)
    graph, sigmas, rhos = fuzzy_simplicial_set(x, 15, None, "euclidean", knn_indices=knn_i,
                                               knn_dists=knn_d)
    g = graph.tocoo()
    order = np.lexsort((g.col, g.row))
    out["fuzzy/x"] = t(x)
    out["fuzzy/knn_indices"] = t(knn_i, np.int64)
    out["fuzzy/knn_dists"] = t(knn_d, np.float32)
    out["fuzzy/sigmas"] = t(sigmas, np.float32)
    out["fuzzy/rhos"] = t(rhos, np.float32)
    out["fuzzy/rows"] = t(g.row[order], np.int64)
    out["fuzzy/cols"] = t(g.col[order], np.int64)
    out["fuzzy/vals"] = t(g.data[order], np.float32)

    digits = load_digits()
    xd = (digits.data / 16.0).astype(np.float32)
    out["digits/x_u8"] = t(digits.data, np.uint8)
    out["digits/labels"] = t(digits.target, np.int64)
    trusts, sils = [], []
    for seed in range(5):
        emb = umap.UMAP(random_state=seed).fit_transform(xd)
        trusts.append(trustworthiness(xd, emb, n_neighbors=5))
        sils.append(silhouette_score(emb, digits.target))
        if seed == 0:
            out["digits/embedding"] = t(emb, np.float32)
            out["digits/trust"] = t([trusts[0]], np.float64)
            out["digits/silhouette"] = t([sils[0]], np.float64)
    out["digits/trust_seeds"] = t(trusts, np.float64)
    out["digits/silhouette_seeds"] = t(sils, np.float64)
    print("umap-learn digits trustworthiness", trusts, "silhouette", sils)

    xs = rng.normal(size=(60, 5))
    emb = xs[:, :2] + 0.3 * rng.normal(size=(60, 2))
    labels = rng.integers(0, 3, 60)
    labels[7] = 9  # a class with a single member
    out["scores/x"] = t(xs, np.float64)
    out["scores/emb"] = t(emb, np.float64)
    out["scores/labels"] = t(labels, np.int64)
    for k in (1, 5, 10):
        out[f"scores/trust_k{k}"] = t([trustworthiness(xs, emb, n_neighbors=k)], np.float64)
    out["scores/silhouette_x"] = t([silhouette_score(xs, labels)], np.float64)
    out["scores/silhouette_emb"] = t([silhouette_score(emb, labels)], np.float64)
    save(sys.argv[1], out, {"umap-learn": umap.__version__})


if __name__ == "__main__":
    main()
