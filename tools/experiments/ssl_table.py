#!/usr/bin/env python3
"""Markdown table of an SSL experiment's evaluate runs: each metric on the pooled test
predictions (the fixed test split, or every fold's test rows together) with its bootstrap
95% interval.

    ssl_table.py RUN_DIR NAME...   reads RUN_DIR/eval-NAME/results.json and
                                   RUN_DIR/eval-NAME-cosine/results.json when present
    ssl_table.py --collapse RUN_DIR NAME...   the collapse warnings in RUN_DIR/NAME/metrics.jsonl
"""
import json
import pathlib
import sys


def method_metric(results, method, metric):
    m = results["methods"].get(method)
    if m is None:
        return None
    acc = m["summary"][metric]["mean"]
    ci = m.get("bootstrap_ci95_pooled", {}).get(metric)
    if ci:  # the pooled test predictions' value with its interval (= acc on a fixed split)
        return f"{ci['estimate']:.3f} [{ci['lower']:.3f}, {ci['upper']:.3f}]"
    return f"{acc:.3f}"


def collapse_table(run, names):
    print("| run | last loss | ln K | teacher entropy | effective rank | kNN monitor | collapse warnings |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        lines = [json.loads(l) for l in (run / name / "metrics.jsonl").read_text().splitlines()]
        epochs = [l for l in lines if "elapsed_s" in l]  # one line per epoch
        last = epochs[-1] if epochs else {}
        hits = [f"epoch {l.get('epoch')}: {l['collapse_warning']}" for l in lines
                if "collapse_warning" in l]

        def num(key):
            v = last.get(key)
            return f"{v:.3f}" if isinstance(v, (int, float)) else "-"
        print(f"| {name} | {num('loss')} | {num('ln_k')} | {num('teacher_entropy')} | "
              f"{num('effective_rank')} | {num('knn_accuracy')} | {'; '.join(hits) or 'none'} |")


def main():
    if sys.argv[1] == "--collapse":
        collapse_table(pathlib.Path(sys.argv[2]), sys.argv[3:])
        return
    run = pathlib.Path(sys.argv[1])
    columns = [("20-NN (Euclidean)", "", "knn20", "accuracy"),
               ("20-NN balanced acc.", "", "knn20", "balanced_accuracy"),
               ("20-NN (cosine)", "-cosine", "knn20", "accuracy"),
               ("1-NN", "", "knn1", "accuracy"), ("linear probe", "", "logreg", "accuracy"),
               ("probe balanced acc.", "", "logreg", "balanced_accuracy")]
    print("| features | " + " | ".join(c[0] for c in columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name in sys.argv[2:]:
        cells = []
        for _, suffix, method, metric in columns:
            path = run / f"eval-{name}{suffix}" / "results.json"
            cell = "-"
            if path.exists():
                results = json.loads(path.read_text())
                cell = method_metric(results, method, metric) or "-"
            cells.append(cell)
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
