// Shape ops without autograd. Views (view, permute, transpose, expand, squeeze, unsqueeze,
// narrow, slice) are stride arithmetic on the same storage; reshape views when it can and
// copies otherwise; cat allocates.
// Layers call the differentiable marrow::* ops instead (Note [Raw entry points], tensor.h).
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace marrow::op {

// `shape` may hold one -1, inferred from the element count.
Shape infer_shape(const Shape& shape, int64_t numel, std::string_view op);
Tensor view(const Tensor& x, const Shape& shape);     // fails if strides don't allow it
Tensor reshape(const Tensor& x, const Shape& shape);  // view when possible, else a copy
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor expand(const Tensor& x, const Shape& shape);  // -1 keeps a size
Tensor squeeze(const Tensor& x, std::optional<int64_t> dim = std::nullopt);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
// Python's x[start:end:step] along dim (negative start/end count from the end; clamped).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor cat(const std::vector<Tensor>& xs, int64_t dim);
// Contiguous x viewed as (outer, size of dim, inner): the layout of kernels that work along
// one dim (softmax, cumsum, index_select, ...). A 0-d x is (1, 1, 1).
Tensor as_3d_around(const Tensor& x, int64_t dim);

}  // namespace marrow::op
