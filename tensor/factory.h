// Tensor factories (PyTorch names and semantics). Random factories draw from the Philox stream
// of `gen` (default: default_generator()), so (seed, offset) reproduces them anywhere.
#pragma once
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace marrow {

Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor empty_like(const Tensor& t);
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor zeros_like(const Tensor& t);
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
Tensor ones_like(const Tensor& t);
Tensor full(const Shape& shape, double value, DType dtype = DType::f32,
            Device device = Device::cpu());
Tensor full_like(const Tensor& t, double value);
// A 0-d tensor holding `value`.
Tensor scalar_tensor(double value, DType dtype = DType::f32, Device device = Device::cpu());
// [start, end) in steps of `step` (the count is ceil((end - start) / step), like PyTorch).
Tensor arange(double start, double end, double step = 1, DType dtype = DType::i64,
              Device device = Device::cpu());
Tensor arange(int64_t end, DType dtype = DType::i64, Device device = Device::cpu());
Tensor linspace(double start, double end, int64_t steps, DType dtype = DType::f32,
                Device device = Device::cpu());
Tensor eye(int64_t n, DType dtype = DType::f32, Device device = Device::cpu());
// Uniform [0, 1), standard normal, and integers in [low, high).
Tensor rand(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu(),
            Generator& gen = default_generator());
Tensor randn(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu(),
             Generator& gen = default_generator());
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::i64,
               Device device = Device::cpu(), Generator& gen = default_generator());

// Factory options in one struct, as torch.TensorOptions:
//   zeros({2, 3}, {.dtype = DType::f64, .requires_grad = true})
//   randn({8, 16}, {.device = Device::cuda(), .generator = &gen})
// The positional forms above stay for the short cases (zeros({2, 3}, DType::f64)).
struct TensorOptions {
    DType dtype = DType::f32;
    Device device = Device::cpu();
    bool requires_grad = false;      // floating dtypes only
    Generator* generator = nullptr;  // random factories; null: default_generator()
};
Tensor empty(const Shape& shape, const TensorOptions& options);
Tensor zeros(const Shape& shape, const TensorOptions& options);
Tensor ones(const Shape& shape, const TensorOptions& options);
Tensor full(const Shape& shape, double value, const TensorOptions& options);
Tensor rand(const Shape& shape, const TensorOptions& options);
Tensor randn(const Shape& shape, const TensorOptions& options);
Tensor randint(int64_t low, int64_t high, const Shape& shape, const TensorOptions& options);

// A random permutation of 0..n-1 (int64): the order that sorts n float64 uniforms.
Tensor randperm(int64_t n, Generator& gen = default_generator());

// Copies `values` into a new CPU tensor of `shape` (default: 1-d).
template <typename T>
Tensor from_vector(const std::vector<T>& values, Shape shape = {}) {
    if (shape.empty() && values.size() != 1) shape = {int64_t(values.size())};
    MARROW_CHECK(shape_numel(shape) == int64_t(values.size()),
                 "from_vector: {} values do not fill shape {}", values.size(), shape);
    Tensor t = empty(shape, dtype_v<T>);
    T* dst = t.data<T>();
    for (size_t i = 0; i < values.size(); ++i) dst[i] = values[i];
    return t;
}

// Wraps an external contiguous buffer without copying; `deleter` (may be empty: the caller
// keeps ownership) runs when the last view goes away.
Tensor from_blob(void* data, const Shape& shape, DType dtype, Storage::Deleter deleter = {},
                 Device device = Device::cpu());

}  // namespace marrow
