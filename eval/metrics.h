// Classification metrics on integer labels, with scikit-learn's definitions (rows of the
// confusion matrix are the truth, columns the prediction). Labels come as std::vector<int64_t>
// or as 1-D int64 tensors (read on the host); empty input and mismatched lengths are errors.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::eval {

using ConfusionMatrix = std::vector<std::vector<int64_t>>;  // [truth][prediction] counts

// Fraction of predictions equal to the truth (sklearn.metrics.accuracy_score).
double accuracy(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred);
double accuracy(const Tensor& y_true, const Tensor& y_pred);

// Counts of (truth, prediction) pairs (sklearn.metrics.confusion_matrix). num_classes < 0:
// 1 + the largest label in either input; otherwise every label must lie in [0, num_classes).
// Labels are class indices, so negative labels are an error.
ConfusionMatrix confusion_matrix(const std::vector<int64_t>& y_true,
                                 const std::vector<int64_t>& y_pred, int64_t num_classes = -1);
ConfusionMatrix confusion_matrix(const Tensor& y_true, const Tensor& y_pred,
                                 int64_t num_classes = -1);

// Mean per-class recall over the classes present in y_true
// (sklearn.metrics.balanced_accuracy_score, adjusted=False): a class that only appears among
// the predictions has no recall and is left out of the mean, as sklearn does.
double balanced_accuracy(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred);
double balanced_accuracy(const Tensor& y_true, const Tensor& y_pred);
// The same from a confusion matrix (rows with no samples are left out).
double balanced_accuracy(const ConfusionMatrix& confusion);

// A 1-D int64 tensor's values, on the host; `what` names the argument in errors.
std::vector<int64_t> labels_to_vector(const Tensor& labels, const char* what);

}  // namespace marrow::eval
