// Evaluation protocols for frozen features: the classifiers of the papers (1-NN and 20-NN,
// the logistic-regression probe, the random forest) fit on training folds and scored on test
// folds, with the metrics the papers report, per fold and as mean +- sd over folds x repeats.
// DinoBloom's cell-level protocol is `folds = 5` with knn1, knn20 and logreg (ssl_mil_spec.md
// section 6); a dataset with its own train/test split (Fashion-MNIST, BMC) uses it instead.
//
//   eval::LabelledFeatures data{.features = x, .labels = y, .class_names = names};
//   eval::ProtocolResult r = eval::run_protocol(data, {.methods = {"knn1", "logreg"}});
//   for (const auto& row : eval::summarize(r)) ...
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eval/aggregate.h"
#include "eval/knn.h"
#include "eval/ranking_metrics.h"
#include "tensor/tensor.h"

namespace marrow::eval {

struct LabelledFeatures {
    Tensor features;                       // (N, F) floating
    std::vector<int64_t> labels;           // (N) class indices in [0, class_names.size())
    std::vector<std::string> class_names;  // one per class
    // Optional. groups: one id per row (a patient); folds never split a group, and a group's
    // label for stratification is its most frequent one. split: 0 = train, 1 = test per row,
    // a fixed split that replaces the folds.
    std::vector<std::string> groups;
    std::vector<int> split;
    std::optional<Tensor> images;  // (N, H, W) or (N, 3, H, W) uint8, for montages
    std::vector<std::string> files = {};  // the files read (the run record's fingerprints)
};

struct ProtocolOptions {
    // "knn<k>" (e.g. knn1, knn20), "logreg", "forest"; results come in this order.
    std::vector<std::string> methods = {"knn1", "knn20", "logreg", "forest"};
    int folds = 5;    // stratified folds (ignored with a fixed split)
    int repeats = 1;  // fold assignments (and forest seeds) seed, seed + 1, ...
    uint64_t seed = 0;
    KnnMetric knn_metric = KnnMetric::euclidean;
    KnnVote knn_vote = KnnVote::uniform;
    double logreg_c = 1.0;       // <= 0: DinoBloom's rule (LogisticRegression::dinobloom)
    int logreg_max_iter = 1000;  // DinoBloom's
    int64_t forest_trees = 100;
};

// One classifier on one test fold.
struct FoldResult {
    std::string method;
    int repeat = 0, fold = 0;
    std::vector<int64_t> rows;    // test rows, ascending
    std::vector<int64_t> y_true;  // their labels
    std::vector<int64_t> y_pred;
    ScoreMatrix proba;  // (rows, classes) class probabilities
    double seconds = 0;  // fit + predict
    std::map<std::string, double> metrics;  // see fold_metrics
};

struct ProtocolResult {
    std::vector<std::string> methods, class_names;
    int folds = 0, repeats = 0;  // folds = 1 for a fixed split
    std::vector<FoldResult> results;  // repeat-major, then fold, then method
    bool grouped = false;  // folds keep each group's (patient's) rows together
};

// accuracy, balanced_accuracy, f1_macro, f1_weighted, precision_macro, recall_macro,
// cohen_kappa, roc_auc_macro (CLAM's NaN-aware one-vs-rest mean), pr_auc_macro (average
// precision, one-vs-rest), log_loss.
std::map<std::string, double> fold_metrics(const std::vector<int64_t>& y_true,
                                           const std::vector<int64_t>& y_pred,
                                           const ScoreMatrix& proba, int64_t num_classes);

// Runs every method on every fold of every repeat. `progress` (optional) is called with
// (0, total) first, then after each fit with (done, total). Errors: mismatched counts, non-finite features (the row), a
// fold without test rows, a training fold with a single class.
ProtocolResult run_protocol(const LabelledFeatures& data, const ProtocolOptions& options,
                            const std::function<void(int, int)>& progress = {});

// Per method and metric: mean +- sd over folds x repeats (NaN folds skipped).
struct SummaryRow {
    std::string method;
    std::map<std::string, MeanSd> metrics;
};
std::vector<SummaryRow> summarize(const ProtocolResult& result);

// The test predictions of one method and repeat, every row once (the folds pooled, in row
// order): the confusion matrix and curves of a cross-validation.
FoldResult pooled(const ProtocolResult& result, const std::string& method, int repeat = 0);

}  // namespace marrow::eval
