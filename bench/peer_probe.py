#!/usr/bin/python3
"""sklearn's side of bench/bench_probe.cpp: the same case on the same data, one JSON line.
KNeighborsClassifier(algorithm="brute", n_jobs=2) and LogisticRegression(lbfgs,
max_iter=200); threads are set by the caller (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS).

  /usr/bin/python3 bench/peer_probe.py --case knn1_l2|knn20_l2|knn20_cosine|logreg [--data DIR]
"""
import argparse
import gzip
import json
import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier


def load(directory, prefix, n):
    with gzip.open(os.path.join(directory, f"{prefix}-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:n]
    with gzip.open(os.path.join(directory, f"{prefix}-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n].astype(np.int64)
    # float64, numpy's default for x / 255: sklearn's fastest path (float32 input takes
    # euclidean_distances' chunked upcast to float64, 10x slower here).
    return x / 255.0, y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", required=True,
                    choices=["knn1_l2", "knn20_l2", "knn20_cosine", "logreg"])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--train", type=int, default=60000)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    x, y = load(args.data, "train", args.train)
    xt, yt = load(args.data, "t10k", 10000)
    t0 = time.perf_counter()
    if args.case == "logreg":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pred = LogisticRegression(max_iter=200).fit(x, y).predict(xt)
    else:
        k = 1 if args.case == "knn1_l2" else 20
        metric = "cosine" if args.case == "knn20_cosine" else "euclidean"
        pred = KNeighborsClassifier(n_neighbors=k, metric=metric, algorithm="brute",
                                    n_jobs=args.jobs).fit(x, y).predict(xt)
    seconds = time.perf_counter() - t0
    print(json.dumps({"case": args.case, "impl": "sklearn", "seconds": round(seconds, 3),
                      "accuracy": round(float((pred == yt).mean()), 4)}))


if __name__ == "__main__":
    main()
