// softmax / log_softmax over one dim (forward and backward) and cumsum (no autograd).
// Layers call the differentiable marrow::* ops instead (Note [Raw entry points], tensor.h).
#pragma once
#include "tensor/tensor.h"

namespace marrow::op {

Tensor softmax(const Tensor& x, int64_t dim, bool log);
// g: dL/dy for y = softmax(x) (or log_softmax when `log`); returns dL/dx.
Tensor softmax_backward(const Tensor& y, const Tensor& g, int64_t dim, bool log);
Tensor cumsum(const Tensor& x, int64_t dim);

}  // namespace marrow::op
