"""sklearn's RandomForestClassifier on Fashion-MNIST pixels: the peer of bench_forest.

Same data (60k x 784 training pixels / 255 as float32, 10k test), same defaults (100 trees,
Gini, bootstrap, max_features="sqrt"), n_jobs=2. Prints one JSON line:
  {"case": "forest_fmnist", "seconds": fit, "predict_seconds": ..., "accuracy": ...}

  /usr/bin/python3 bench/peer_forest.py [--data DIR] [--trees 100] [--threads 2] [--seed 0]
                                        [--train-limit N]
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier


def read_idx(dir, name):
    path = os.path.join(dir, name)
    opener = open if os.path.exists(path) else gzip.open
    path = path if os.path.exists(path) else path + ".gz"
    with opener(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-limit", type=int, default=0)
    a = ap.parse_args()
    x_train = read_idx(a.data, "train-images-idx3-ubyte").reshape(-1, 784)
    y_train = read_idx(a.data, "train-labels-idx1-ubyte").astype(np.int64)
    x_test = read_idx(a.data, "t10k-images-idx3-ubyte").reshape(-1, 784)
    y_test = read_idx(a.data, "t10k-labels-idx1-ubyte").astype(np.int64)
    if a.train_limit > 0:
        x_train, y_train = x_train[:a.train_limit], y_train[:a.train_limit]
    x_train = (x_train.astype(np.float32) / 255).astype(np.float32)
    x_test = (x_test.astype(np.float32) / 255).astype(np.float32)

    rf = RandomForestClassifier(n_estimators=a.trees, n_jobs=a.threads, random_state=a.seed)
    t0 = time.perf_counter()
    rf.fit(x_train, y_train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = rf.predict(x_test)
    predict_s = time.perf_counter() - t0
    print(json.dumps({"case": "forest_fmnist", "seconds": round(fit_s, 3),
                      "predict_seconds": round(predict_s, 3),
                      "accuracy": round(float((pred == y_test).mean()), 4), "trees": a.trees,
                      "threads": a.threads, "train": len(x_train)}))


if __name__ == "__main__":
    main()
