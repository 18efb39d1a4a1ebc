#include "tensor/ops/softmax.h"

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/kernels.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow::op {

// Contiguous x viewed as (outer, D, inner) around dim.
static Tensor as_3d(const Tensor& x, int64_t dim) {
    int64_t outer = 1, inner = 1, d = x.dim() == 0 ? 1 : x.size(dim);
    for (int64_t i = 0; i < dim; ++i) outer *= x.size(i);
    for (int64_t i = dim + 1; i < x.dim(); ++i) inner *= x.size(i);
    return view(contiguous(x), {outer, d, inner});
}

Tensor softmax(const Tensor& x, int64_t dim, bool log) {
    int64_t d = wrap_dim(dim, x.dim(), log ? "log_softmax" : "softmax");
    Tensor y = empty(x.shape(), x.dtype(), x.device());
    kernel<SoftmaxKernel>(OpId::softmax, x.device())(log, as_3d(x, d), as_3d(y, d));
    return y;
}

Tensor softmax_backward(const Tensor& y, const Tensor& g, int64_t dim, bool log) {
    int64_t d = wrap_dim(dim, y.dim(), log ? "log_softmax_backward" : "softmax_backward");
    MARROW_CHECK(y.shape() == g.shape(), "softmax_backward: gradient shape {} != output {}",
                 g.shape(), y.shape());
    Tensor gx = empty(y.shape(), y.dtype(), y.device());
    kernel<SoftmaxBackwardKernel>(OpId::softmax_backward, y.device())(log, as_3d(y, d),
                                                                      as_3d(g, d), as_3d(gx, d));
    return gx;
}

Tensor cumsum(const Tensor& x, int64_t dim) {
    int64_t d = wrap_dim(dim, x.dim(), "cumsum");
    Tensor y = empty(x.shape(), x.dtype(), x.device());
    kernel<CumsumKernel>(OpId::cumsum, x.device())(as_3d(x, d), as_3d(y, d));
    return y;
}

}  // namespace marrow::op
