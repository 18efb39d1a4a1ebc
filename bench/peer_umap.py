#!/work/venv-umap/bin/python
"""umap-learn peer of bench/bench_umap.cpp: the same data (the first --n Fashion-MNIST training
images, /255, float32), umap-learn's defaults with random_state=--seed (which makes its SGD
layout single-threaded and deterministic, as ours), numba limited to --threads threads. The
numba JIT compile is excluded: a warm-up fit on 500 random points runs first in the same
process. Trustworthiness (sklearn, 5 neighbours) on the first --trust-n points, as ours.
Prints one JSON line per repetition.

  /work/venv-umap/bin/python bench/peer_umap.py [--n 20000] [--threads 2]
(umap-learn from PyPI: /usr/bin/python3 -m venv --system-site-packages /work/venv-umap &&
 /work/venv-umap/bin/pip install umap-learn)
"""
import argparse
import gzip
import json
import os
import sys
import time


def load_images(path, n):
    import numpy as np
    with gzip.open(path, "rb") as f:
        raw = f.read()
    count = int.from_bytes(raw[4:8], "big")
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 784)
    return images[:n].astype(np.float32) / 255.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--trust-n", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args()
    os.environ["NUMBA_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import numpy as np
    import umap
    from sklearn.manifold import trustworthiness

    warm = np.random.default_rng(0).random((500, 784), dtype=np.float32)
    umap.UMAP(random_state=args.seed, n_epochs=10).fit_transform(warm)  # numba JIT
    # The large-data path (NN-descent) compiles its own functions: warm it up too.
    umap.UMAP(random_state=args.seed, n_epochs=10).fit_transform(
        np.random.default_rng(1).random((4200, 784), dtype=np.float32))
    x = load_images(os.path.join(args.data, "train-images-idx3-ubyte.gz"), args.n)
    for _ in range(args.reps):
        t0 = time.perf_counter()
        emb = umap.UMAP(random_state=args.seed).fit_transform(x)
        seconds = time.perf_counter() - t0
        m = min(args.trust_n, args.n)
        trust = trustworthiness(x[:m], emb[:m], n_neighbors=5)
        print(json.dumps({"case": f"umap_fmnist_{args.n}", "seconds": round(seconds, 3),
                          "accuracy": round(float(trust), 5), "metric": f"trustworthiness@{m}",
                          "impl": f"umap-learn {umap.__version__}"}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
