#include "tensor/ops/softmax.h"

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/kernels.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow::op {

Tensor softmax(const Tensor& x, int64_t dim, bool log) {
    const char* name = log ? "log_softmax" : "softmax";
    int64_t d = wrap_dim(dim, x.dim(), name);
    Tensor y = empty(x.shape(), x.dtype(), x.device());
    kernel<OpId::softmax>(x.device(), name)(log, as_3d_around(x, d), as_3d_around(y, d));
    return y;
}

Tensor softmax_backward(const Tensor& y, const Tensor& g, int64_t dim, bool log) {
    const char* name = log ? "log_softmax_backward" : "softmax_backward";
    int64_t d = wrap_dim(dim, y.dim(), name);
    MARROW_CHECK(y.shape() == g.shape(), "{}: gradient shape {} != output {}", name, g.shape(),
                 y.shape());
    Tensor gx = empty(y.shape(), y.dtype(), y.device());
    kernel<OpId::softmax_backward>(y.device(), name)(
        log, as_3d_around(y, d), as_3d_around(g, d), as_3d_around(gx, d));
    return gx;
}

Tensor cumsum(const Tensor& x, int64_t dim) {
    int64_t d = wrap_dim(dim, x.dim(), "cumsum");
    Tensor y = empty(x.shape(), x.dtype(), x.device());
    kernel<OpId::cumsum>(x.device())(as_3d_around(x, d), as_3d_around(y, d));
    return y;
}

}  // namespace marrow::op
