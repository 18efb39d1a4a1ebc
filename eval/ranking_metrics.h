// Score-based classification metrics with scikit-learn 1.2.1's definitions: ROC and
// precision-recall curves, ROC AUC and average precision (binary and one-vs-rest), log loss.
//
// Binary functions take y_true as 0/1 labels (1 = positive) and one score per sample (higher =
// more positive). One-vs-rest functions take class-index labels y_true in [0, C) and an (N, C)
// ScoreMatrix whose column c scores class c (sklearn's labels=range(C)): class c's binary
// problem is (y_true == c, column c). Ties in scores are one threshold, as in sklearn.
// Scores must be finite (NaN or inf is an error naming the row). No sample weights.
#pragma once
#include <cstdint>
#include <vector>

#include "eval/metrics.h"
#include "tensor/tensor.h"

namespace marrow::eval {

// (rows, cols) scores, row-major on the host: a classifier's probabilities or decision values.
struct ScoreMatrix {
    int64_t rows = 0, cols = 0;
    std::vector<double> values;  // rows * cols

    ScoreMatrix() = default;
    ScoreMatrix(int64_t rows, int64_t cols, std::vector<double> values);
    double operator()(int64_t r, int64_t c) const { return values[size_t(r * cols + c)]; }
    std::vector<double> column(int64_t c) const;
};

// scores: (N, C) floating tensor on any device -> a host f64 ScoreMatrix; `what` names it.
ScoreMatrix scores_from_tensor(const Tensor& scores, const char* what);

// sklearn.metrics.roc_curve(y_true, y_score, drop_intermediate=True by default): one point
// per distinct score (thresholds decreasing), collinear interior points dropped, and a first
// point (0, 0) at threshold max(score) + 1 (1.2.1's convention; 1.3 uses inf). With no
// negatives fpr is all NaN, with no positives tpr is all NaN (sklearn warns and does the same).
struct RocCurve {
    std::vector<double> fpr, tpr, thresholds;
};
RocCurve roc_curve(const std::vector<int64_t>& y_true, const std::vector<double>& y_score,
                   bool drop_intermediate = true);

// sklearn.metrics.precision_recall_curve: precision and recall per distinct threshold (in
// increasing threshold order) and a last point (precision 1, recall 0) with no threshold:
// precision and recall have one more entry than thresholds. No positives: recall is all 1.
struct PrCurve {
    std::vector<double> precision, recall, thresholds;
};
PrCurve precision_recall_curve(const std::vector<int64_t>& y_true,
                               const std::vector<double>& y_score);

// Area under the ROC curve (sklearn.metrics.roc_auc_score, binary): the trapezoid area under
// roc_curve. An error when y_true holds only one class, as in sklearn.
double roc_auc(const std::vector<int64_t>& y_true, const std::vector<double>& y_score);

// Average precision (sklearn.metrics.average_precision_score, binary): the step sum
// sum_n (R_n - R_{n-1}) P_n over the PR curve, not the trapezoid. 0 with no positives.
double average_precision(const std::vector<int64_t>& y_true, const std::vector<double>& y_score);

// One-vs-rest ROC AUC per class (sklearn.metrics.roc_auc_score(..., average=None) on the
// one-hot matrix): an error naming the class when a class is absent from y_true or is all of it.
std::vector<double> roc_auc_per_class(const std::vector<int64_t>& y_true,
                                      const ScoreMatrix& scores);

// One-vs-rest ROC AUC averaged (sklearn.metrics.roc_auc_score(y_true, scores,
// multi_class='ovr', labels=range(C), average=...)): macro = mean over classes, weighted by
// class support, micro = the binary AUC of the flattened one-hot matrix against the flattened
// scores. As sklearn, for C >= 3 each row of scores must sum to 1 (np.allclose) and a class
// missing from y_true is an error. C = 2 gives the same averages over both columns (sklearn
// accepts C = 2 only as a one-hot matrix).
double roc_auc_ovr(const std::vector<int64_t>& y_true, const ScoreMatrix& scores,
                   Average average = Average::macro);
double roc_auc_ovr(const Tensor& y_true, const Tensor& scores, Average average = Average::macro);

// CLAM's NaN-aware one-vs-rest AUC (mahmoodlab/CLAM utils/eval_utils.py): per-class AUC, NaN
// for a class absent from y_true (or making up all of it), and the nanmean of the per-class
// values (NaN when every class is NaN). No row-sum check.
struct NanAwareAuc {
    std::vector<double> per_class;
    double macro = 0;
};
NanAwareAuc roc_auc_ovr_nan_aware(const std::vector<int64_t>& y_true, const ScoreMatrix& scores);

// One-vs-rest average precision (sklearn.metrics.average_precision_score on the one-hot matrix
// label_binarize(y_true, classes=range(C))): per class (0 for a class absent from y_true, as
// sklearn), and averaged: macro, weighted by support, micro over the flattened matrix.
std::vector<double> average_precision_per_class(const std::vector<int64_t>& y_true,
                                                const ScoreMatrix& scores);
double average_precision_ovr(const std::vector<int64_t>& y_true, const ScoreMatrix& scores,
                             Average average = Average::macro);
double average_precision_ovr(const Tensor& y_true, const Tensor& scores,
                             Average average = Average::macro);

// Mean negative log-likelihood (sklearn.metrics.log_loss(y_true, proba, labels=range(C)),
// 1.2.1's eps="auto"): probabilities clipped to [eps, 1 - eps] with eps = 2^-52 (float64's),
// each row renormalized to sum 1, then mean of -log p[i, y_true[i]]. C >= 2.
double log_loss(const std::vector<int64_t>& y_true, const ScoreMatrix& proba);
double log_loss(const Tensor& y_true, const Tensor& proba);

}  // namespace marrow::eval
