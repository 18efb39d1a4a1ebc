#!/usr/bin/python3
"""Golden fixtures for eval/'s classification metrics (tests/eval/test_metrics_golden.cpp).

Every case holds integer labels and, for the score-based metrics, an (N, C) float64 score
matrix whose column c scores class c, with the results of Debian's scikit-learn 1.2.1:
  <case>/y_true, /y_pred (int64), /scores (float64, (N, C); absent for label-only cases)
  <case>/cm, /cm_true (confusion_matrix(labels=range(C)), normalize=None and 'true')
  <case>/accuracy, /balanced_accuracy
  <case>/prf<j>/precision, /recall, /f1, /support (average=None), /avg (3, 3): rows micro,
      macro, weighted; columns precision, recall, f1; for the j-th label set of the case
      (metadata "labels": null = sklearn's default, the sorted union of y_true and y_pred)
  <case>/prf<j>/specificity: TN / (TN + FP) per class from multilabel_confusion_matrix
  <case>/kappa<j> (3): cohen_kappa_score with weights None, 'linear', 'quadratic'
  <case>/log_loss: log_loss(labels=range(C))
  <case>/roc_auc_per_class (C): roc_auc_score(y == c, scores[:, c]); only when every class
      has positives and negatives (metadata "roc_auc_error" holds sklearn's message otherwise)
  <case>/roc_auc_micro: the micro average alone (defined with a class missing; metadata
      "roc_auc_micro_error" when sklearn raises)
  <case>/roc_auc (3): micro, macro, weighted one-vs-rest (C >= 3: roc_auc_score(multi_class=
      'ovr', labels=range(C)); C = 2: the same on the one-hot indicator matrix)
  <case>/roc_auc_nan (C + 1): CLAM's per-class AUC (NaN for a class absent from y_true) and
      their nanmean
  <case>/ap_per_class (C), /ap (3): average_precision_score on the one-hot indicator matrix
  <case>/roc<c>/fpr, /tpr, /thresholds; <case>/pr<c>/precision, /recall, /thresholds: the
      curves of class c (roc_curve and precision_recall_curve of y == c against scores[:, c])
Aggregation: agg/<k>/values and agg/<k>/mean_sd (mean, ddof=1 sd over the non-NaN values,
numpy nanmean / nanstd(ddof=1)); agg/percentile/values, /q, /out (numpy.percentile, linear).
classification_report's text of each case is in the metadata under "report.<case>".

Run with Debian's python3-sklearn:  /usr/bin/python3 gen_metrics.py OUT.safetensors
"""
import json
import sys
import warnings

import numpy as np
import torch
from sklearn import metrics

from safetensors_io import save

warnings.simplefilter("ignore")  # sklearn's UndefinedMetricWarning: zero_division = 0 is wanted

rng = np.random.default_rng(13)


def dirichlet_scores(y, c, sharp):
    """Probabilities that lean towards the true class by `sharp` (0: uninformative)."""
    logits = rng.normal(size=(len(y), c))
    logits[np.arange(len(y)), y] += sharp
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def noisy_pred(y, c, p_right):
    pred = y.copy()
    flip = rng.random(len(y)) > p_right
    pred[flip] = rng.integers(0, c, size=flip.sum())
    return pred


def make_cases():
    cases = {}

    def add(name, y_true, y_pred, scores, c, labels_sets=None, note=""):
        cases[name] = dict(y_true=np.asarray(y_true, dtype=np.int64),
                           y_pred=np.asarray(y_pred, dtype=np.int64),
                           scores=None if scores is None else np.asarray(scores, np.float64),
                           c=c, labels=labels_sets or [None, list(range(c))], note=note)

    y = rng.integers(0, 3, 50)
    add("random_c3", y, noisy_pred(y, 3, 0.6), dirichlet_scores(y, 3, 1.0), 3,
        note="random labels, 60% right predictions, informative probabilities")
    y = rng.choice(5, 200, p=[0.5, 0.25, 0.15, 0.07, 0.03])
    add("imbalanced_c5", y, noisy_pred(y, 5, 0.7), dirichlet_scores(y, 5, 1.5), 5,
        labels_sets=[None, [0, 1, 2, 3, 4], [4, 0, 2]], note="imbalanced; a label subset")
    y = rng.integers(0, 2, 40)
    add("binary", y, noisy_pred(y, 2, 0.7), dirichlet_scores(y, 2, 1.0), 2)
    y = rng.integers(0, 10, 600)
    add("random_c10_n600", y, noisy_pred(y, 10, 0.5), dirichlet_scores(y, 10, 0.8), 10)
    y = rng.integers(0, 3, 60)
    s = np.round(dirichlet_scores(y, 3, 1.0), 1)[:, :2] * 0.5
    s = np.concatenate([s, 1 - s.sum(1, keepdims=True)], 1)
    add("ties_c3", y, noisy_pred(y, 3, 0.6), s, 3, note="scores on a 0.05 grid: many ties")
    y = rng.integers(0, 3, 30)
    s = dirichlet_scores(y, 3, 1.0) * 1.1
    add("unnormalized_c3", y, noisy_pred(y, 3, 0.6), s, 3,
        note="rows sum to 1.1: multiclass ROC AUC errors as sklearn's does")
    y = rng.integers(0, 2, 30)
    s1 = rng.choice([0.0, 0.5, 1.0], 30)
    add("ties_binary", y, (s1 > 0.5).astype(int), np.stack([1 - s1, s1], 1), 2,
        note="three distinct scores")
    y = rng.integers(0, 3, 40)
    pred = noisy_pred(y, 4, 0.5)
    pred[:3] = 3
    add("absent_from_true_c4", y, pred, dirichlet_scores(y, 4, 1.0), 4,
        note="class 3 predicted but absent from y_true: ROC AUC undefined, AP 0")
    y = rng.integers(0, 4, 40)
    pred = noisy_pred(y, 4, 0.6)
    pred[pred == 2] = 0
    add("absent_from_pred_c4", y, pred, dirichlet_scores(y, 4, 1.0), 4,
        note="class 2 never predicted: precision 0 by zero_division")
    y = rng.choice([0, 2, 3], 40)
    pred = noisy_pred(y, 4, 0.6)
    pred[pred == 1] = 2
    add("absent_from_both_c4", y, pred, dirichlet_scores(y, 4, 1.0), 4,
        labels_sets=[None, [0, 1, 2, 3], [1, 3]],
        note="class 1 in neither: left out by default labels, zeros with labels=range(C)")
    y = rng.integers(0, 3, 30)
    add("perfect_c3", y, y, np.eye(3)[y] * 0.8 + 0.2 / 3, 3, note="perfect predictions")
    y = rng.integers(0, 3, 30)
    add("constant_scores_c3", y, np.zeros(30, int), np.full((30, 3), 1 / 3), 3,
        note="constant scores (AUC 0.5, AP = prevalence); one predicted class (kappa 0)")
    y = rng.integers(0, 3, 25)
    add("single_pred_class_c3", y, np.full(25, 2), dirichlet_scores(y, 3, 0.5), 3)
    add("single_true_class_c3", np.ones(20, int), noisy_pred(np.ones(20, int), 3, 0.5),
        dirichlet_scores(np.ones(20, int), 3, 1.0), 3,
        note="one class in y_true: ROC AUC errors, kappa defined")
    y = rng.integers(0, 2, 30)
    s1 = np.where(y == 1, rng.uniform(0, 0.4, 30), rng.uniform(0.6, 1, 30))
    add("inverted_binary", y, (s1 > 0.5).astype(int), np.stack([1 - s1, s1], 1), 2,
        note="every positive scored below every negative: AUC 0")
    y = np.zeros(100, int)
    y[37] = 1
    s1 = rng.uniform(size=100)
    add("one_positive_binary", y, (s1 > 0.9).astype(int), np.stack([1 - s1, s1], 1), 2)
    y = rng.integers(0, 3, 40)
    p = dirichlet_scores(y, 3, 2.0)
    p[:5] = np.eye(3)[(y[:5] + 1) % 3]  # certain and wrong: clipped at eps
    p[5:10] = np.eye(3)[y[5:10]]  # certain and right
    add("hard_probs_c3", y, p.argmax(1), p, 3, note="probabilities 0 and 1: log-loss clipping")
    y = np.array([0] * 6 + [1] * 6)
    s1 = np.array([.1, .2, .3, .4, .5, .6, .7, .8, .9, 1.0, 1.1, 1.2])
    y = np.array([0, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1])
    s = np.stack([1.3 - s1, s1], 1)
    add("collinear_binary", y, (s1 > 0.65).astype(int), s, 2,
        note="runs of collinear ROC points that drop_intermediate removes")
    add("sparse_labels", [-1, 3, 7, 7, 3, -1, 7, 3, 3, -1, 7, 7],
        [-1, 3, 3, 7, 3, 7, 7, -1, 3, -1, 7, 3], None, 0,
        labels_sets=[None, [7, -1, 3], [3, 5]], note="non-index labels, labels-only metrics")
    add("single_class_both", [2] * 8, [2] * 8, None, 0, labels_sets=[None, [0, 1, 2]],
        note="one class in both: kappa 0/0 = NaN")
    return cases


def one_hot(y, c):
    return np.eye(c, dtype=np.int64)[y]


def generate(path):
    out, meta = {}, {}

    def put(key, value, dtype=torch.float64):
        out[key] = torch.tensor(np.array(value), dtype=dtype)

    for name, k in make_cases().items():
        yt, yp, s, c = k["y_true"], k["y_pred"], k["scores"], k["c"]
        info = {"note": k["note"], "labels": k["labels"], "num_classes": c}
        put(f"{name}/y_true", yt, torch.int64)
        put(f"{name}/y_pred", yp, torch.int64)
        put(f"{name}/accuracy", metrics.accuracy_score(yt, yp))
        put(f"{name}/balanced_accuracy", metrics.balanced_accuracy_score(yt, yp))
        if c > 0:
            put(f"{name}/cm", metrics.confusion_matrix(yt, yp, labels=range(c)), torch.int64)
            put(f"{name}/cm_true", metrics.confusion_matrix(yt, yp, labels=range(c),
                                                            normalize="true"))
        for j, labels in enumerate(k["labels"]):
            p, r, f, sup = metrics.precision_recall_fscore_support(yt, yp, labels=labels)
            avg = [metrics.precision_recall_fscore_support(yt, yp, labels=labels,
                                                           average=a)[:3]
                   for a in ("micro", "macro", "weighted")]
            mcm = metrics.multilabel_confusion_matrix(yt, yp, labels=labels)
            tn, fp = mcm[:, 0, 0], mcm[:, 0, 1]
            spec = np.where(tn + fp > 0, tn / np.maximum(tn + fp, 1), 0.0)
            for key, v in (("precision", p), ("recall", r), ("f1", f), ("specificity", spec),
                           ("avg", avg)):
                put(f"{name}/prf{j}/{key}", v)
            put(f"{name}/prf{j}/support", sup, torch.int64)
            put(f"{name}/kappa{j}", [metrics.cohen_kappa_score(yt, yp, labels=labels,
                                                               weights=w)
                                     for w in (None, "linear", "quadratic")])
            meta[f"report.{name}.{j}"] = metrics.classification_report(
                yt, yp, labels=labels, digits=3 if j else 2)
        if s is not None:
            put(f"{name}/scores", s)
            put(f"{name}/log_loss", metrics.log_loss(yt, s, labels=range(c)))
            ind = one_hot(yt, c)
            present = [bool(ind[:, i].any() and not ind[:, i].all()) for i in range(c)]
            if all(present):
                put(f"{name}/roc_auc_per_class", metrics.roc_auc_score(ind, s, average=None))
                auc = [metrics.roc_auc_score(ind, s, average=a)
                       for a in ("micro", "macro", "weighted")]
                if c >= 3:
                    try:
                        ovr = [metrics.roc_auc_score(yt, s, multi_class="ovr",
                                                     labels=range(c), average=a)
                               for a in ("micro", "macro", "weighted")]
                        assert np.allclose(auc, ovr, rtol=0, atol=1e-15), (auc, ovr)
                    except ValueError as e:
                        info["roc_auc_error"] = str(e)
                put(f"{name}/roc_auc", auc)
            else:
                try:
                    metrics.roc_auc_score(yt, s, multi_class="ovr", labels=range(c))
                    raise AssertionError(f"{name}: sklearn gave an AUC with a class missing")
                except ValueError as e:
                    info["roc_auc_error"] = str(e)
            try:
                if c >= 3:
                    micro = metrics.roc_auc_score(yt, s, multi_class="ovr", labels=range(c),
                                                  average="micro")
                else:
                    micro = metrics.roc_auc_score(ind, s, average="micro")
                put(f"{name}/roc_auc_micro", micro)
            except ValueError as e:
                info["roc_auc_micro_error"] = str(e)
            # CLAM (utils/eval_utils.py): NaN for a class absent from y_true, then nanmean.
            nan_aware = []
            for i in range(c):
                if i in yt:
                    fpr, tpr, _ = metrics.roc_curve(ind[:, i], s[:, i])
                    nan_aware.append(metrics.auc(fpr, tpr))
                else:
                    nan_aware.append(float("nan"))
            put(f"{name}/roc_auc_nan", nan_aware + [np.nanmean(nan_aware)])
            put(f"{name}/ap_per_class", metrics.average_precision_score(ind, s, average=None))
            put(f"{name}/ap", [metrics.average_precision_score(ind, s, average=a)
                               for a in ("micro", "macro", "weighted")])
            for i in range(c):
                fpr, tpr, thr = metrics.roc_curve(ind[:, i], s[:, i])
                put(f"{name}/roc{i}/fpr", fpr)
                put(f"{name}/roc{i}/tpr", tpr)
                put(f"{name}/roc{i}/thresholds", thr)
                prec, rec, thr = metrics.precision_recall_curve(ind[:, i], s[:, i])
                put(f"{name}/pr{i}/precision", prec)
                put(f"{name}/pr{i}/recall", rec)
                put(f"{name}/pr{i}/thresholds", thr)
        meta[f"case.{name}"] = json.dumps(info)

    # Aggregation: mean and ddof=1 sd over non-NaN values; numpy's linear percentile.
    agg = {
        "folds5": [0.86, 0.81, 0.91, 0.79, 0.88],
        "folds5x3": list(rng.uniform(0.6, 0.9, 15)),
        "with_nan": [0.7, float("nan"), 0.9, 0.75],
        "two": [1.0, 2.0],
    }
    for key, v in agg.items():
        v = np.asarray(v)
        put(f"agg/{key}/values", v)
        put(f"agg/{key}/mean_sd", [np.nanmean(v), np.nanstd(v, ddof=1)])
    v = rng.normal(size=37)
    q = [0.0, 2.5, 25.0, 50.0, 97.5, 100.0, 33.3]
    put("agg/percentile/values", v)
    put("agg/percentile/q", q)
    put("agg/percentile/out", np.percentile(v, q))
    meta["generator"] = "tests/golden/gen/gen_metrics.py"
    meta["sklearn"] = __import__("sklearn").__version__
    save(path, out, meta)


if __name__ == "__main__":
    generate(sys.argv[1] if len(sys.argv) > 1 else "metrics.safetensors")
