// Shape arithmetic shared by every op entry point: numel, contiguous strides, broadcasting,
// dimension wrapping. Strides are in elements, PyTorch order (last dim fastest).
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace marrow {

using Shape = std::vector<int64_t>;

// Note [Checked shape products]: every product of sizes that comes from a file or a user goes
// through the checked multiply below, so a hostile shape such as [2^32, 2^32] is an Error
// naming the shape, never a product that wraps to a small (or zero) allocation, and never
// signed-overflow UB. Sizes must be >= 0.

// a * b for a, b >= 0, or nullopt when the product does not fit in int64.
std::optional<int64_t> checked_mul(int64_t a, int64_t b);
// Number of elements; an Error naming `what` and the shape when a size is negative, the
// element count or a contiguous stride (the product of the sizes >= 1) does not fit in int64,
// or numel * element_size bytes does not. Parsers call this before they allocate.
int64_t checked_numel(const Shape& shape, std::string_view what, int64_t element_size = 1);
// Number of elements; an Error naming the shape when the product overflows (checked, cheap:
// shapes of live tensors were checked when they were made).
int64_t shape_numel(const Shape& shape);
// Row-major strides; an Error naming the shape when one does not fit in int64.
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
