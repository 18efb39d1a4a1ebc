// Indexing, sorting and one-hot entry points (no autograd). Index tensors are int64; their values
// are range-checked by the kernels, on the index's own device (no host copy): an out-of-range
// index is an error naming the op, value, range and position, never a wild read. On CUDA it is
// raised at the next synchronisation point (Note [device-side index checks], cuda/stream.h).
// Layers call the differentiable marrow::* ops instead (Note [Raw entry points], tensor.h).
#pragma once
#include <utility>

#include "tensor/tensor.h"

namespace marrow::op {

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);  // index: (n,)
// zeros of `shape` with src (shape with dim of size n) added at rows `index` along dim.
Tensor index_add_into_zeros(const Shape& shape, int64_t dim, const Tensor& index,
                            const Tensor& src);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// self + scatter of src at index along dim (out of place).
Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
// (values, indices) of the k largest (or smallest) along dim, sorted.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest = true);
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending = false);
// int64 (...) -> int64 (..., num_classes); num_classes < 0 means max + 1.
Tensor one_hot(const Tensor& index, int64_t num_classes = -1);

// An index for `x` after checking its metadata: int64, on x's device or on the host (then
// uploaded to x's device). Its values are checked by the kernels.
Tensor index_for(std::string_view op, const Tensor& index, const Tensor& x);

}  // namespace marrow::op
