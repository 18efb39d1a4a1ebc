// Feature and label checks; see features.h.
#include "eval/features.h"

#include <cmath>
#include <string>

#include "autograd/grad_mode.h"
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

namespace {

void check_shape(const Tensor& x, const char* op, const char* what) {
    MARROW_CHECK(x.dim() == 2 && is_floating(x.dtype()),
                 "{}: {} must be a 2-D floating tensor (N, F), got {} of shape {}", op, what,
                 x.dtype(), x.shape());
    MARROW_CHECK(x.size(0) >= 1 && x.size(1) >= 1,
                 "{}: {} is empty (shape {}); need at least one row and one column", op, what,
                 x.shape());
}

}  // namespace

Tensor host_matrix(const Tensor& x, DType dtype, const char* op, const char* what) {
    check_shape(x, op, what);
    autograd::NoGradGuard no_grad;
    Tensor m = contiguous(to(detach(x), Device::cpu(), dtype));
    if (dtype == DType::f32)
        check_finite(m.data<float>(), m.size(0), m.size(1), op, what);
    else if (dtype == DType::f64)
        check_finite(m.data<double>(), m.size(0), m.size(1), op, what);
    else
        host_matrix(m, DType::f64, op, what);
    return m;
}

void check_features(const Tensor& x, const char* op, const char* what) {
    check_shape(x, op, what);
    // f32 and f64 are checked where they are; other dtypes through an f64 copy.
    host_matrix(x, x.dtype() == DType::f32 ? DType::f32 : DType::f64, op, what);
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
