// Classification metrics; see metrics.h. References: sklearn/metrics/_classification.py
// (accuracy_score, confusion_matrix, balanced_accuracy_score).
#include "eval/metrics.h"

#include <algorithm>

#include "autograd/ops.h"

namespace marrow::eval {

namespace {

void check_pair(const char* op, const std::vector<int64_t>& y_true,
                const std::vector<int64_t>& y_pred) {
    MARROW_CHECK(!y_true.empty(), "{}: empty input (no labels)", op);
    MARROW_CHECK(y_true.size() == y_pred.size(), "{}: y_true has {} labels but y_pred has {}", op,
                 y_true.size(), y_pred.size());
}

}  // namespace

std::vector<int64_t> labels_to_vector(const Tensor& labels, const char* what) {
    MARROW_CHECK(labels.dim() == 1 && labels.dtype() == DType::i64,
                 "metrics: {} must be a 1-D int64 tensor of labels, got {} of shape {}", what,
                 labels.dtype(), labels.shape());
    Tensor host = contiguous(to(labels, Device::cpu()));
    const int64_t* v = host.data<int64_t>();
    return std::vector<int64_t>(v, v + host.numel());
}

double accuracy(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred) {
    check_pair("accuracy", y_true, y_pred);
    int64_t correct = 0;
    for (size_t i = 0; i < y_true.size(); ++i) correct += y_true[i] == y_pred[i];
    return double(correct) / double(y_true.size());
}

double accuracy(const Tensor& y_true, const Tensor& y_pred) {
    return accuracy(labels_to_vector(y_true, "y_true"), labels_to_vector(y_pred, "y_pred"));
}

ConfusionMatrix confusion_matrix(const std::vector<int64_t>& y_true,
                                 const std::vector<int64_t>& y_pred, int64_t num_classes) {
    check_pair("confusion_matrix", y_true, y_pred);
    int64_t lo = std::min(*std::min_element(y_true.begin(), y_true.end()),
                          *std::min_element(y_pred.begin(), y_pred.end()));
    int64_t hi = std::max(*std::max_element(y_true.begin(), y_true.end()),
                          *std::max_element(y_pred.begin(), y_pred.end()));
    MARROW_CHECK(lo >= 0, "confusion_matrix: labels are class indices, got {}", lo);
    if (num_classes < 0) num_classes = hi + 1;
    MARROW_CHECK(hi < num_classes, "confusion_matrix: label {} is out of range [0, {})", hi,
                 num_classes);
    ConfusionMatrix m(size_t(num_classes), std::vector<int64_t>(size_t(num_classes), 0));
    for (size_t i = 0; i < y_true.size(); ++i) ++m[size_t(y_true[i])][size_t(y_pred[i])];
    return m;
}

ConfusionMatrix confusion_matrix(const Tensor& y_true, const Tensor& y_pred, int64_t num_classes) {
    return confusion_matrix(labels_to_vector(y_true, "y_true"), labels_to_vector(y_pred, "y_pred"),
                            num_classes);
}

double balanced_accuracy(const ConfusionMatrix& confusion) {
    double recall_sum = 0;
    int64_t present = 0;
    for (size_t c = 0; c < confusion.size(); ++c) {
        MARROW_CHECK(confusion[c].size() == confusion.size(),
                     "balanced_accuracy: confusion matrix row {} has {} columns, expected {}", c,
                     confusion[c].size(), confusion.size());
        int64_t row = 0;
        for (int64_t v : confusion[c]) row += v;
        if (row == 0) continue;  // class absent from the truth: no recall (sklearn drops it)
        recall_sum += double(confusion[c][c]) / double(row);
        ++present;
    }
    MARROW_CHECK(present > 0, "balanced_accuracy: the confusion matrix holds no samples");
    return recall_sum / double(present);
}

double balanced_accuracy(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred) {
    return balanced_accuracy(confusion_matrix(y_true, y_pred));
}

double balanced_accuracy(const Tensor& y_true, const Tensor& y_pred) {
    return balanced_accuracy(labels_to_vector(y_true, "y_true"),
                             labels_to_vector(y_pred, "y_pred"));
}

}  // namespace marrow::eval
