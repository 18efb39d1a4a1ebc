// Classification metrics on integer labels, with scikit-learn 1.2.1's definitions (rows of the
// confusion matrix are the truth, columns the prediction). Labels come as std::vector<int64_t>
// or as 1-D int64 tensors (read on the host); empty input and mismatched lengths are errors.
// Score-based metrics (ROC, PR, log loss) are in eval/ranking_metrics.h.
//
// Label sets (sklearn's `labels=` argument): where a function takes `labels`, an empty vector
// means sklearn's default, the sorted union of the labels found in y_true and y_pred; a given
// list fixes the classes and their order, may name classes absent from both inputs (their
// scores are 0 by sklearn's zero_division) and may leave present classes out.
// Division by zero gives 0 everywhere, as sklearn's default zero_division="warn" does (without
// the warning).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::eval {

using ConfusionMatrix = std::vector<std::vector<int64_t>>;  // [truth][prediction] counts
using RealMatrix = std::vector<std::vector<double>>;        // a normalized confusion matrix

// Fraction of predictions equal to the truth (sklearn.metrics.accuracy_score).
double accuracy(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred);
double accuracy(const Tensor& y_true, const Tensor& y_pred);

// Counts of (truth, prediction) pairs (sklearn.metrics.confusion_matrix). num_classes < 0:
// 1 + the largest label in either input; otherwise every label must lie in [0, num_classes).
// Labels are class indices, so negative labels are an error. The result is C x C.
ConfusionMatrix confusion_matrix(const std::vector<int64_t>& y_true,
                                 const std::vector<int64_t>& y_pred, int64_t num_classes = -1);
ConfusionMatrix confusion_matrix(const Tensor& y_true, const Tensor& y_pred,
                                 int64_t num_classes = -1);

// sklearn.metrics.confusion_matrix(y_true, y_pred, labels=labels) for any integer labels:
// row/column i is labels[i]; samples whose truth or prediction is not in `labels` are left
// out. Empty `labels`: the sorted union of both inputs. Errors as sklearn's: no label of
// `labels` occurs in y_true.
ConfusionMatrix confusion_matrix_for_labels(const std::vector<int64_t>& y_true,
                                            const std::vector<int64_t>& y_pred,
                                            const std::vector<int64_t>& labels);

enum class Normalize { true_rows, pred_columns, all };

// A confusion matrix divided by its row sums (sklearn's normalize='true': each row is the
// distribution of predictions for one true class), column sums ('pred') or the total ('all').
// A row (column) with no samples becomes zeros, as sklearn's nan_to_num makes it.
RealMatrix normalize_confusion(const ConfusionMatrix& counts, Normalize how = Normalize::true_rows);

// Mean per-class recall over the classes present in y_true
// (sklearn.metrics.balanced_accuracy_score, adjusted=False): a class that only appears among
// the predictions has no recall and is left out of the mean, as sklearn does.
double balanced_accuracy(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred);
double balanced_accuracy(const Tensor& y_true, const Tensor& y_pred);
// The same from a confusion matrix (rows with no samples are left out).
double balanced_accuracy(const ConfusionMatrix& confusion);

// Precision, recall, F1 and specificity of one class or one average.
struct ClassScores {
    double precision = 0;    // TP / (TP + FP)
    double recall = 0;       // TP / (TP + FN), the sensitivity
    double f1 = 0;           // 2 P R / (P + R)
    double specificity = 0;  // TN / (TN + FP), the selectivity SCEMILA reports (not in sklearn)
    int64_t support = 0;     // true samples of the class (of the classes, for an average)
};

// Everything sklearn.metrics.classification_report computes, plus specificity
// (sklearn.metrics.precision_recall_fscore_support with average=None, 'micro', 'macro',
// 'weighted'). Averages: micro pools the counts of the listed classes; macro is the plain
// mean over them; weighted weighs each class by its support (when no listed class has
// support, sklearn returns precision 0, recall 0 and F1 0, and we give specificity 0).
// Specificity counts TN over all samples (sklearn's multilabel_confusion_matrix) and averages
// like recall.
struct ClassificationReport {
    std::vector<int64_t> labels;         // the classes, in the order of per_class
    std::vector<ClassScores> per_class;  // one per label
    ClassScores micro, macro, weighted;  // support: the total over the listed classes
    double accuracy = 0;                 // accuracy_score over all samples
    bool micro_is_accuracy = true;       // the listed classes are exactly those present

    // sklearn's text table (classification_report(digits=...)), names[i] naming labels[i]
    // (empty: the label numbers). Specificity is not printed, as in sklearn.
    std::string to_string(const std::vector<std::string>& names = {}, int digits = 2) const;
};
ClassificationReport classification_report(const std::vector<int64_t>& y_true,
                                           const std::vector<int64_t>& y_pred,
                                           const std::vector<int64_t>& labels = {});
ClassificationReport classification_report(const Tensor& y_true, const Tensor& y_pred,
                                           const std::vector<int64_t>& labels = {});

enum class Average { micro, macro, weighted };

// One averaged score (sklearn's f1_score / precision_score / recall_score with average=
// 'micro' | 'macro' | 'weighted').
double f1_score(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                Average average, const std::vector<int64_t>& labels = {});
double precision_score(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                       Average average, const std::vector<int64_t>& labels = {});
double recall_score(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                    Average average, const std::vector<int64_t>& labels = {});

enum class KappaWeights { none, linear, quadratic };

// Cohen's kappa between two labelings (sklearn.metrics.cohen_kappa_score): 1 - sum(W * O) /
// sum(W * E) with O the confusion matrix over `labels`, E the outer product of its marginals
// over the total, W 0 on the diagonal and 1 off it (none), |i - j| (linear) or (i - j)^2
// (quadratic) in positions of `labels`. NaN when the denominator is 0 (one class in both), as
// sklearn's 0/0.
double cohen_kappa(const std::vector<int64_t>& y1, const std::vector<int64_t>& y2,
                   KappaWeights weights = KappaWeights::none,
                   const std::vector<int64_t>& labels = {});

// A 1-D int64 tensor's values, on the host; `what` names the argument in errors.
std::vector<int64_t> labels_to_vector(const Tensor& labels, const char* what);

// 0, 1, ..., num_classes - 1: the label list of class-index labels.
std::vector<int64_t> class_range(int64_t num_classes);

}  // namespace marrow::eval
