// Reduction entry points (no autograd). `dims` empty means all dims; keepdim keeps reduced dims
// as size 1. The input is rearranged to (kept, reduced) rows for the kernel.
// Layers call the differentiable marrow::* ops instead (Note [Raw entry points], tensor.h).
#pragma once
#include <utility>
#include <vector>

#include "tensor/kernels.h"

namespace marrow::op {

Tensor reduce(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim,
              ReduceParams params = {});
// max/min along one dim: (values, int64 indices of the first occurrence).
std::pair<Tensor, Tensor> reduce_with_indices(ReduceOp op, const Tensor& x, int64_t dim,
                                              bool keepdim);
// The shape `x` reduces to over `dims`.
Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim);

}  // namespace marrow::op
