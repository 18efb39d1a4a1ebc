// Closeness and value tests, composed from comparisons (no gradient: bool results).
#include <limits>

#include "autograd/ops.h"
#include "tensor/ops/copy.h"

namespace marrow {

Tensor isnan(const Tensor& x) { return ne(x, x); }

Tensor isinf(const Tensor& x) {
    if (!is_floating(x.dtype())) return zeros(x.shape(), DType::b8, x.device());
    return eq(abs(detach(x)), std::numeric_limits<double>::infinity());
}

Tensor isfinite(const Tensor& x) {
    if (!is_floating(x.dtype())) return ones(x.shape(), DType::b8, x.device());
    return lt(abs(detach(x)), std::numeric_limits<double>::infinity());  // NaN compares false
}

// PyTorch's rule: equal values (infinities included) are close; otherwise both finite and
// |a - b| <= atol + rtol |b|; NaN is close to NaN only with equal_nan.
Tensor isclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
    MARROW_CHECK(rtol >= 0 && atol >= 0, "isclose: rtol {} and atol {} must be >= 0", rtol, atol);
    op::check_same_device("isclose", a, b);
    MARROW_CHECK(a.dtype() == b.dtype(),
                 "isclose: dtypes differ ({} and {}); convert one with to(t, dtype)", a.dtype(),
                 b.dtype());
    Tensor x = detach(a), y = detach(b);
    Tensor same = eq(x, y);
    if (!is_floating(x.dtype())) return same;
    Tensor diff = abs(x - y);
    Tensor within = logical_and(le(diff, atol + rtol * abs(y)), isfinite(diff));
    Tensor close = logical_or(same, within);
    return equal_nan ? logical_or(close, logical_and(isnan(x), isnan(y))) : close;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
    return all(isclose(a, b, rtol, atol, equal_nan)).item() != 0;
}

bool equal(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && all(eq(a, b)).item() != 0;
}

}  // namespace marrow
