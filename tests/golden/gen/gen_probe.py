"""Golden fixtures of eval's kNN and logistic-regression probes, from scikit-learn.

Usage: /usr/bin/python3 gen_probe.py ../fixtures/probe.safetensors

Every case stores its inputs and sklearn's outputs (float64); the case list and each case's
options live in the metadata, so tests/eval/test_probe_golden.cpp reads them from the file.
  knn_*:    KNeighborsClassifier(algorithm="brute") predictions, probabilities and the
            neighbour indices/distances of kneighbors(), on continuous data (no ties) and on
            small integer data (many equal distances: only the probabilities and votes are
            compared, since sklearn's order among equal distances is unspecified).
  logreg_*: LogisticRegression(solver="lbfgs") coef_, intercept_ and predict_proba, fit to
            convergence (tol 1e-10, max_iter 10000): multinomial, binomial, no intercept,
            standardized (StandardScaler pipeline), DinoBloom's C rule, a class absent.
"""
import json
import sys

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from safetensors_io import save

out, meta = {}, {}


def put(name, array):
    a = np.asarray(array)
    out[name] = torch.from_numpy(np.ascontiguousarray(a.astype(np.int64 if a.dtype.kind in "iu" else np.float64)))


def blobs(rng, n, f, classes, spread=1.5):
    centers = rng.normal(0, 2.0, size=(classes, f))
    y = rng.integers(0, classes, size=n)
    return centers[y] + rng.normal(0, spread, size=(n, f)), y


def knn_case(name, x, y, xq, k, metric, weights, exact_order=True):
    model = KNeighborsClassifier(n_neighbors=k, metric=metric, weights=weights,
                                 algorithm="brute").fit(x, y)
    put(f"{name}.x", x), put(f"{name}.y", y), put(f"{name}.query", xq)
    put(f"{name}.proba", model.predict_proba(xq))
    put(f"{name}.pred", model.predict(xq))
    if exact_order:
        dist, idx = model.kneighbors(xq)
        put(f"{name}.distances", dist), put(f"{name}.indices", idx)
    meta[name] = json.dumps({"kind": "knn", "k": k, "metric": metric, "weights": weights,
                             "num_classes": int(y.max()) + 1, "exact_order": exact_order})


def logreg_case(name, x, y, xq, num_classes, C=1.0, fit_intercept=True, standardize=False):
    model = LogisticRegression(C=C, fit_intercept=fit_intercept, tol=1e-10, max_iter=10000)
    xs, xqs = x, xq
    if standardize:
        scaler = StandardScaler().fit(x)
        xs, xqs = scaler.transform(x), scaler.transform(xq)
    model.fit(xs, y)
    proba = np.zeros((len(xq), num_classes))
    proba[:, model.classes_] = model.predict_proba(xqs)
    put(f"{name}.x", x), put(f"{name}.y", y), put(f"{name}.query", xq)
    put(f"{name}.coef", model.coef_)
    put(f"{name}.intercept", model.intercept_ if fit_intercept else np.zeros(len(model.coef_)))
    put(f"{name}.proba", proba), put(f"{name}.pred", model.predict(xqs))
    meta[name] = json.dumps({"kind": "logreg", "C": C, "fit_intercept": fit_intercept,
                             "standardize": standardize, "num_classes": num_classes})


def main():
    rng = np.random.default_rng(13)
    x, y = blobs(rng, 150, 6, 4)
    xq, _ = blobs(rng, 40, 6, 4)
    knn_case("knn_euclidean_uniform_k5", x, y, xq, 5, "euclidean", "uniform")
    knn_case("knn_euclidean_uniform_k1", x, y, xq, 1, "euclidean", "uniform")
    knn_case("knn_cosine_uniform_k20", x, y, xq, 20, "cosine", "uniform")
    knn_case("knn_euclidean_distance_k7", x, y, xq, 7, "euclidean", "distance")
    # Integer data: many equal distances, vote ties (k = 4), queries equal to training rows
    # (distance 0 under the distance vote).
    xi = rng.integers(0, 3, size=(80, 3)).astype(np.float64)
    yi = rng.integers(0, 3, size=80)
    xqi = np.vstack([xi[:10], rng.integers(0, 3, size=(40, 3)).astype(np.float64)])
    # Keep the queries whose 4 nearest are one set (4th and 5th distances differ): with a
    # tie across the boundary sklearn's choice is argpartition's, unspecified.
    d = np.sort(((xqi[:, None, :] - xi[None, :, :]) ** 2).sum(-1), axis=1)
    xqi = xqi[d[:, 3] < d[:, 4]]
    knn_case("knn_ties_uniform_k4", xi, yi, xqi, 4, "euclidean", "uniform", exact_order=False)
    knn_case("knn_ties_distance_k4", xi, yi, xqi, 4, "euclidean", "distance", exact_order=False)

    x, y = blobs(rng, 200, 5, 3, spread=2.5)
    xq, _ = blobs(rng, 30, 5, 3)
    logreg_case("logreg_multinomial", x, y, xq, 3)
    logreg_case("logreg_multinomial_c01_nointercept", x, y, xq, 3, C=0.1, fit_intercept=False)
    xb, yb = blobs(rng, 120, 4, 2, spread=2.5)
    logreg_case("logreg_binomial", xb, yb, xq[:, :4], 2, C=0.5)
    xs = x * np.array([1, 10, 100, 0.1, 1]) + 3
    logreg_case("logreg_standardized", xs, y, xq * np.array([1, 10, 100, 0.1, 1]) + 3, 3,
                standardize=True)
    x4, y4 = blobs(rng, 160, 8, 5, spread=2.5)
    y4[y4 == 3] = 4  # class 3 absent from training; 5 classes in the output
    lam = 100 / (8 * 4)  # DinoBloom: lambda = 100 / (features * classes present)
    logreg_case("logreg_dinobloom_absent_class", x4, y4, blobs(rng, 25, 8, 5)[0], 5, C=1 / lam)

    meta["cases"] = json.dumps(sorted(k for k in meta))
    save(sys.argv[1], out, meta)


if __name__ == "__main__":
    main()
