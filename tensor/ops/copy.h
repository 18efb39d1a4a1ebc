// Copies and conversions (no autograd): contiguous, clone, dtype and device conversion,
// in-place copy_ and fill_ (which bump the version counter, Note [Version counter]).
// Layers call the differentiable marrow::* ops instead (Note [Raw entry points], tensor.h).
#pragma once
#include "tensor/tensor.h"

namespace marrow::op {

Tensor contiguous(const Tensor& x);  // x itself when already contiguous
Tensor clone(const Tensor& x);       // always a fresh contiguous copy
Tensor to_dtype(const Tensor& x, DType dtype);
Tensor to_device(const Tensor& x, Device device);
// dst = src broadcast to dst's shape (converting dtype).
void copy_(const Tensor& dst, const Tensor& src);
void fill_(const Tensor& dst, double value);
// Waits for the device's queued kernels (a no-op on the CPU and in the simulator). Timing
// code must call it: CUDA kernels run asynchronously.
void synchronize(Device device);

// Entry-point checks shared by every op family.
void check_same_device(std::string_view op, const Tensor& a, const Tensor& b);
void check_same_dtype(std::string_view op, const Tensor& a, const Tensor& b);

}  // namespace marrow::op
