// See host_matrix.h.
#include "eval/host_matrix.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace marrow::eval {

namespace {

template <typename T>
void check_finite(const Tensor& m, const char* op, const char* what) {
    const T* p = m.data<T>();
    int64_t n = m.size(0), f = m.size(1);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < f; ++j)
            MARROW_CHECK(std::isfinite(p[i * f + j]),
                         "{}: {} has a non-finite value ({}) in row {}, column {}", op, what,
                         double(p[i * f + j]), i, j);
}

}  // namespace

Tensor host_matrix(const Tensor& x, DType dtype, const char* op, const char* what) {
    MARROW_CHECK(x.dim() == 2 && is_floating(x.dtype()),
                 "{}: {} must be a 2-D floating tensor (N, F), got {} of shape {}", op, what,
                 x.dtype(), x.shape());
    MARROW_CHECK(x.size(0) > 0 && x.size(1) > 0,
                 "{}: {} is empty (shape {}); need at least one row and one column", op, what,
                 x.shape());
    autograd::NoGradGuard no_grad;
    Tensor m = contiguous(to(detach(x), Device::cpu(), dtype));
    if (dtype == DType::f64)
        check_finite<double>(m, op, what);
    else
        check_finite<float>(m, op, what);
    return m;
}

}  // namespace marrow::eval
