// Evaluation protocols; see protocol.h.
#include "eval/protocol.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <unordered_map>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "data/splits.h"
#include "eval/features.h"
#include "eval/logistic_regression.h"
#include "eval/metrics.h"
#include "eval/random_forest.h"
#include "tensor/factory.h"

namespace marrow::eval {

namespace {

// k of a "knn<k>" method, or 0 for another method.
int64_t knn_k(const std::string& method) {
    if (!method.starts_with("knn") || method.size() == 3) return 0;
    int64_t k = 0;
    for (char c : method.substr(3)) {
        MARROW_CHECK(c >= '0' && c <= '9' && k < 1000000,
                     "run_protocol: unknown method \"{}\" (knn<k>, logreg or forest)", method);
        k = 10 * k + (c - '0');
    }
    MARROW_CHECK(k >= 1, "run_protocol: {} needs k >= 1", method);
    return k;
}

// Fold of each row: stratified by label, or by group (its most frequent label) when groups
// are given, with data/'s splitter (one implementation for cells and patients).
std::vector<int> assign_folds(const LabelledFeatures& d, int k, uint64_t seed) {
    if (d.groups.empty()) return data::stratified_folds(d.labels, k, seed);
    std::unordered_map<std::string, int64_t> index;
    std::vector<std::map<int64_t, int64_t>> counts;
    std::vector<int64_t> group_of(d.labels.size());
    for (size_t i = 0; i < d.labels.size(); ++i) {
        auto [it, inserted] = index.try_emplace(d.groups[i], int64_t(counts.size()));
        if (inserted) counts.emplace_back();
        group_of[i] = it->second;
        ++counts[size_t(it->second)][d.labels[i]];
    }
    std::vector<int64_t> group_label;
    for (const auto& c : counts)  // most frequent, ties to the smallest label
        group_label.push_back(std::max_element(c.begin(), c.end(), [](auto& a, auto& b) {
                                  return a.second < b.second;
                              })->first);
    std::vector<int> group_fold = data::stratified_folds(group_label, k, seed);
    std::vector<int> fold(d.labels.size());
    for (size_t i = 0; i < fold.size(); ++i) fold[i] = group_fold[size_t(group_of[i])];
    return fold;
}

ScoreMatrix to_scores(const Tensor& proba) { return scores_from_tensor(proba, "proba"); }

std::vector<int64_t> argmax_rows(const ScoreMatrix& p) {
    std::vector<int64_t> out(size_t(p.rows));
    for (int64_t i = 0; i < p.rows; ++i) {
        const double* row = p.values.data() + i * p.cols;
        out[size_t(i)] = std::max_element(row, row + p.cols) - row;
    }
    return out;
}

void check_data(const LabelledFeatures& d, const ProtocolOptions& o) {
    check_features(d.features, "run_protocol", "features");
    int64_t n = d.features.size(0), c = int64_t(d.class_names.size());
    MARROW_CHECK(int64_t(d.labels.size()) == n,
                 "run_protocol: {} feature rows but {} labels", n, d.labels.size());
    MARROW_CHECK(d.groups.empty() || int64_t(d.groups.size()) == n,
                 "run_protocol: {} feature rows but {} group ids", n, d.groups.size());
    MARROW_CHECK(d.split.empty() || int64_t(d.split.size()) == n,
                 "run_protocol: {} feature rows but {} split entries", n, d.split.size());
    for (size_t i = 0; i < d.labels.size(); ++i)
        MARROW_CHECK(d.labels[i] >= 0 && d.labels[i] < c,
                     "run_protocol: label {} of row {} is outside the {} classes", d.labels[i],
                     i, c);
    MARROW_CHECK(!o.methods.empty(), "run_protocol: no methods");
    for (const std::string& m : o.methods)
        MARROW_CHECK(knn_k(m) > 0 || m == "logreg" || m == "forest",
                     "run_protocol: unknown method \"{}\" (knn<k>, logreg or forest)", m);
    MARROW_CHECK(o.repeats >= 1, "run_protocol: repeats must be >= 1, got {}", o.repeats);
    MARROW_CHECK(!d.split.empty() || o.folds >= 2, "run_protocol: folds must be >= 2, got {}",
                 o.folds);
}

}  // namespace

std::map<std::string, double> fold_metrics(const std::vector<int64_t>& y_true,
                                           const std::vector<int64_t>& y_pred,
                                           const ScoreMatrix& proba, int64_t num_classes) {
    (void)num_classes;  // the curves take their classes from the score columns
    return {{"accuracy", accuracy(y_true, y_pred)},
            {"balanced_accuracy", balanced_accuracy(y_true, y_pred)},
            {"f1_macro", f1_score(y_true, y_pred, Average::macro)},
            {"f1_weighted", f1_score(y_true, y_pred, Average::weighted)},
            {"precision_macro", precision_score(y_true, y_pred, Average::macro)},
            {"recall_macro", recall_score(y_true, y_pred, Average::macro)},
            {"cohen_kappa", cohen_kappa(y_true, y_pred)},
            {"roc_auc_macro", roc_auc_ovr_nan_aware(y_true, proba).macro},
            {"pr_auc_macro", average_precision_ovr(y_true, proba, Average::macro)},
            {"log_loss", log_loss(y_true, proba)}};
}

ProtocolResult run_protocol(const LabelledFeatures& d, const ProtocolOptions& o,
                            const std::function<void(int, int)>& progress) {
    autograd::NoGradGuard no_grad;
    check_data(d, o);
    const int64_t n = d.features.size(0), classes = int64_t(d.class_names.size());
    const bool fixed = !d.split.empty();
    ProtocolResult out{o.methods, d.class_names, fixed ? 1 : o.folds, o.repeats, {},
                       !fixed && !d.groups.empty()};
    int64_t max_k = 0;
    for (const std::string& m : o.methods) max_k = std::max(max_k, knn_k(m));
    const int total = out.folds * out.repeats * int(o.methods.size());
    int done = 0;
    if (progress) progress(0, total);
    Tensor x = contiguous(to(d.features, Device::cpu()));
    for (int r = 0; r < out.repeats; ++r) {
        std::vector<int> fold = fixed ? std::vector<int>() : assign_folds(d, o.folds, o.seed + r);
        for (int f = 0; f < out.folds; ++f) {
            std::vector<int64_t> train, test, y_train, y_test;
            for (int64_t i = 0; i < n; ++i) {
                bool is_test = fixed ? d.split[size_t(i)] == 1 : fold[size_t(i)] == f;
                (is_test ? test : train).push_back(i);
                (is_test ? y_test : y_train).push_back(d.labels[size_t(i)]);
            }
            MARROW_CHECK(!test.empty(),
                         "run_protocol: fold {} of {} has no test rows ({} rows{} for {} folds)",
                         f, out.folds, n, d.groups.empty() ? "" : " in groups", out.folds);
            MARROW_CHECK(std::adjacent_find(y_train.begin(), y_train.end(),
                                            std::not_equal_to<>()) != y_train.end(),
                         "run_protocol: the training rows of fold {} hold a single class ({})", f,
                         d.class_names[size_t(y_train.front())]);
            Tensor x_train = index_select(x, 0, from_vector<int64_t>(train));
            Tensor x_test = index_select(x, 0, from_vector<int64_t>(test));
            Tensor t_train = from_vector<int64_t>(y_train);
            std::optional<Neighbors> neighbors;  // one search for every knn<k>
            double search_seconds = 0;
            for (const std::string& method : o.methods) {
                auto t0 = std::chrono::steady_clock::now();
                Tensor proba = zeros({0});
                if (int64_t k = knn_k(method)) {
                    MARROW_CHECK(k <= int64_t(train.size()),
                                 "run_protocol: {} but fold {} has {} training rows", method, f,
                                 train.size());
                    if (!neighbors) {
                        neighbors = kneighbors(x_train, x_test, std::min<int64_t>(max_k, int64_t(train.size())), o.knn_metric);
                        search_seconds = std::chrono::duration<double>(
                                             std::chrono::steady_clock::now() - t0)
                                             .count();
                        t0 = std::chrono::steady_clock::now();
                    }
                    proba = knn_vote(*neighbors, t_train, k, {.vote = o.knn_vote}, classes);
                } else if (method == "logreg") {
                    LogisticRegressionOptions lo =
                        o.logreg_c > 0 ? LogisticRegressionOptions{.C = o.logreg_c}
                                       : LogisticRegression::dinobloom(x.size(1), classes);
                    lo.max_iter = o.logreg_max_iter;
                    proba = LogisticRegression(lo).fit(x_train, t_train, classes).predict_proba(x_test);
                } else {
                    proba = RandomForestClassifier({.n_estimators = o.forest_trees,
                                                    .seed = o.seed + uint64_t(r)})
                                .fit(x_train, t_train, classes)
                                .predict_proba(x_test);
                }
                FoldResult res{method, r, f, test, y_test, {}, to_scores(proba), 0, {}};
                res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                                  .count() +
                              (knn_k(method) ? search_seconds : 0);
                res.y_pred = argmax_rows(res.proba);
                res.metrics = fold_metrics(res.y_true, res.y_pred, res.proba, classes);
                out.results.push_back(std::move(res));
                if (progress) progress(++done, total);
            }
        }
    }
    return out;
}

std::vector<SummaryRow> summarize(const ProtocolResult& result) {
    std::vector<SummaryRow> rows;
    for (const std::string& method : result.methods) {
        std::map<std::string, std::vector<double>> values;
        for (const FoldResult& f : result.results)
            if (f.method == method)
                for (const auto& [name, v] : f.metrics) values[name].push_back(v);
        SummaryRow row{method, {}};
        for (const auto& [name, v] : values) row.metrics[name] = mean_sd(v);
        rows.push_back(std::move(row));
    }
    return rows;
}

FoldResult pooled(const ProtocolResult& result, const std::string& method, int repeat) {
    std::vector<const FoldResult*> parts;
    for (const FoldResult& f : result.results)
        if (f.method == method && f.repeat == repeat) parts.push_back(&f);
    MARROW_CHECK(!parts.empty(), "pooled: no results for method {} in repeat {}", method,
                 repeat);
    std::vector<std::pair<int64_t, std::pair<const FoldResult*, int64_t>>> order;
    for (const FoldResult* p : parts)
        for (size_t j = 0; j < p->rows.size(); ++j) order.push_back({p->rows[j], {p, int64_t(j)}});
    std::sort(order.begin(), order.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    int64_t cols = parts.front()->proba.cols;
    FoldResult out{method, repeat, -1, {}, {}, {}, {}, 0, {}};
    std::vector<double> values;
    for (const auto& [row, at] : order) {
        const auto& [p, j] = at;
        out.rows.push_back(row);
        out.y_true.push_back(p->y_true[size_t(j)]);
        out.y_pred.push_back(p->y_pred[size_t(j)]);
        for (int64_t c = 0; c < cols; ++c) values.push_back(p->proba(j, c));
    }
    for (const FoldResult* p : parts) out.seconds += p->seconds;
    out.proba = ScoreMatrix(int64_t(out.rows.size()), cols, std::move(values));
    out.metrics = fold_metrics(out.y_true, out.y_pred, out.proba, cols);
    return out;
}

}  // namespace marrow::eval
