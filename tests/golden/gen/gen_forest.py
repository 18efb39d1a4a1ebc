"""Golden fixture for eval::RandomForestClassifier (tests/eval/test_random_forest.cpp).

Run with Debian's python3-sklearn:  /usr/bin/python3 gen_forest.py OUT.safetensors

One make_classification dataset (300 train / 200 test rows, 8 features, 3 classes), as
float32 values (continuous: every feature takes the sort path) and rounded to 0.25 steps
(<= 256 distinct values: the histogram path). For each, sklearn's RandomForestClassifier test
accuracy for random_state 0..4 (the spread ours must fall in), and, for a configuration whose
trees do not depend on the random feature order (bootstrap=False, max_features=None, a
few max_depth / min_samples_leaf pairs: checked below over 10 random states), sklearn's exact
predict_proba and feature_importances_, which ours must reproduce.
"""
import sys

import numpy as np
import torch
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

from safetensors_io import save

N_TRAIN, N_TEST, SEEDS = 300, 200, 5
# (max_depth, min_samples_leaf) whose trees are the same for every feature order (deeper
# trees have nodes where two features tie exactly, and sklearn keeps the first one drawn).
EXACT_CASES = {"continuous": [(4, 1), (3, 5)], "quantized": [(2, 1), (3, 5)]}


def main(out):
    x, y = make_classification(n_samples=N_TRAIN + N_TEST, n_features=8, n_informative=5,
                               n_redundant=1, n_classes=3, n_clusters_per_class=2,
                               class_sep=1.0, flip_y=0.03, random_state=7)
    x = x.astype(np.float32)
    data = {"continuous": x, "quantized": (np.round(x * 4) / 4).astype(np.float32)}
    tensors = {"y": torch.from_numpy(y.astype(np.int64))}
    for name, xs in data.items():
        assert name == "continuous" or max(len(np.unique(c)) for c in xs.T) <= 256
        xtr, xte, ytr, yte = xs[:N_TRAIN], xs[N_TRAIN:], y[:N_TRAIN], y[N_TRAIN:]
        tensors[f"{name}.x"] = torch.from_numpy(xs)
        acc = []
        for seed in range(SEEDS):
            rf = RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=2)
            acc.append(rf.fit(xtr, ytr).score(xte, yte))
        tensors[f"{name}.sklearn_accuracy"] = torch.tensor(acc, dtype=torch.float64)
        for depth, leaf in EXACT_CASES[name]:
            probas, importances = [], []
            for seed in range(10):
                rf = RandomForestClassifier(n_estimators=3, bootstrap=False, max_features=None,
                                            max_depth=depth, min_samples_leaf=leaf,
                                            random_state=seed)
                probas.append(rf.fit(xtr, ytr).predict_proba(xte))
                importances.append(rf.feature_importances_)
            assert all(np.array_equal(probas[0], p) for p in probas), "feature-order ties"
            tensors[f"{name}.proba_depth{depth}_leaf{leaf}"] = torch.from_numpy(probas[0])
            tensors[f"{name}.importances_depth{depth}_leaf{leaf}"] = torch.from_numpy(
                importances[0])
        print(name, "sklearn accuracies", acc)
    save(out, tensors, {"n_train": N_TRAIN, "n_test": N_TEST,
                        "generator": "tests/golden/gen/gen_forest.py"})


if __name__ == "__main__":
    main(sys.argv[1])
