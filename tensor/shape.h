// Shape arithmetic shared by every op entry point: numel, contiguous strides, broadcasting,
// dimension wrapping. Strides are in elements, PyTorch order (last dim fastest).
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace marrow {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);
// Wraps a possibly negative dim into [0, ndim); names the op when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, std::string_view op);
// Sorted, wrapped, unique dims; an empty list means "all dims".
std::vector<int64_t> wrap_dims(const std::vector<int64_t>& dims, int64_t ndim, std::string_view op);
// NumPy/PyTorch broadcasting; the error names the op and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);
// Strides of a tensor of shape `from` viewed as broadcast to `to` (stride 0 on expanded dims).
Shape broadcast_strides(const Shape& from, const Shape& from_strides, const Shape& to,
                        std::string_view op);

}  // namespace marrow
