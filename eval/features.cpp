// Feature and label checks; see features.h.
#include "eval/features.h"

#include <cmath>
#include <string>

#include "autograd/ops.h"
#include "eval/metrics.h"

namespace marrow::eval {

namespace {

template <typename T>
void check_finite(const T* v, int64_t n, int64_t f, const char* op, const char* what) {
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < f; ++j)
            MARROW_CHECK(std::isfinite(double(v[i * f + j])),
                         "{}: {} has a non-finite value ({}) in row {}, column {}", op, what,
                         double(v[i * f + j]), i, j);
}

}  // namespace

void check_features(const Tensor& x, const char* op, const char* what) {
    MARROW_CHECK(x.dim() == 2 && is_floating(x.dtype()),
                 "{}: {} must be a 2-D floating tensor (N, F), got {} of shape {}", op, what,
                 x.dtype(), x.shape());
    MARROW_CHECK(x.size(0) >= 1 && x.size(1) >= 1, "{}: {} is empty (shape {})", op, what,
                 x.shape());
    Tensor host = contiguous(to(x, Device::cpu()));
    if (host.dtype() == DType::f32) return check_finite(host.data<float>(), x.size(0), x.size(1), op, what);
    host = contiguous(to(host, DType::f64));  // f64, or a half type widened
    check_finite(host.data<double>(), x.size(0), x.size(1), op, what);
}

std::vector<int64_t> check_labels(const Tensor& y, int64_t n, const char* op,
                                  int64_t num_classes) {
    MARROW_CHECK(y.dim() == 1 && y.dtype() == DType::i64,
                 "{}: labels must be a 1-D int64 tensor, got {} of shape {}", op, y.dtype(),
                 y.shape());
    MARROW_CHECK(y.size(0) == n, "{}: {} feature rows but {} labels", op, n, y.size(0));
    std::vector<int64_t> labels = labels_to_vector(y, "y");
    for (size_t i = 0; i < labels.size(); ++i)
        MARROW_CHECK(labels[i] >= 0 && (num_classes < 0 || labels[i] < num_classes),
                     "{}: label {} at row {} is outside [0, {})", op, labels[i], i,
                     num_classes < 0 ? std::string("inf") : std::to_string(num_classes));
    return labels;
}

}  // namespace marrow::eval
