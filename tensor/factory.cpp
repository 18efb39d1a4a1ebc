#include "tensor/factory.h"

#include <cmath>

#include "tensor/dispatch.h"
#include "tensor/kernels.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/index.h"

namespace marrow {

Tensor empty(const Shape& shape, DType dtype, Device device) {
    int64_t numel = checked_numel(shape, "empty", int64_t(dtype_size(dtype)));
    auto storage = Storage::allocate(size_t(numel) * dtype_size(dtype), device);
    return Tensor(std::move(storage), 0, shape, contiguous_strides(shape), dtype);
}
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
    Tensor t = empty(shape, dtype, device);
    op::fill_(t, value);
    return t;
}
Tensor full_like(const Tensor& t, double value) {
    return full(t.shape(), value, t.dtype(), t.device());
}
Tensor zeros(const Shape& shape, DType dtype, Device device) {
    return full(shape, 0, dtype, device);
}
Tensor zeros_like(const Tensor& t) { return full_like(t, 0); }
Tensor ones(const Shape& shape, DType dtype, Device device) {
    return full(shape, 1, dtype, device);
}
Tensor ones_like(const Tensor& t) { return full_like(t, 1); }
Tensor scalar_tensor(double value, DType dtype, Device device) {
    return full({}, value, dtype, device);
}

// Small index-like tensors are computed on the CPU in double and converted once.
static Tensor from_doubles(const std::vector<double>& v, const Shape& shape, DType dtype,
                           Device device) {
    Tensor host = from_vector(v, shape);
    return op::to_device(op::to_dtype(host, dtype), device);
}

Tensor arange(double start, double end, double step, DType dtype, Device device) {
    MARROW_CHECK(step != 0, "arange: step must be nonzero");
    double count = std::ceil((end - start) / step);
    MARROW_CHECK(count >= 0 && std::isfinite(count),
                 "arange: range [{}, {}) with step {} is empty or infinite", start, end, step);
    std::vector<double> v(static_cast<size_t>(count));
    for (size_t i = 0; i < v.size(); ++i) v[i] = start + double(i) * step;
    return from_doubles(v, {int64_t(v.size())}, dtype, device);
}
Tensor arange(int64_t end, DType dtype, Device device) {
    return arange(0, double(end), 1, dtype, device);
}

Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device) {
    MARROW_CHECK(steps >= 0, "linspace: steps must be >= 0, got {}", steps);
    std::vector<double> v(static_cast<size_t>(steps));
    double step = steps > 1 ? (end - start) / double(steps - 1) : 0;
    // Symmetric formula (PyTorch): the second half counts back from `end`, so both ends are exact.
    for (int64_t i = 0; i < steps; ++i)
        v[size_t(i)] =
            i < steps / 2 ? start + step * double(i) : end - step * double(steps - 1 - i);
    return from_doubles(v, {steps}, dtype, device);
}

Tensor eye(int64_t n, DType dtype, Device device) {
    MARROW_CHECK(n >= 0, "eye: n must be >= 0, got {}", n);
    std::vector<double> v(size_t(n * n), 0.0);
    for (int64_t i = 0; i < n; ++i) v[size_t(i * n + i)] = 1.0;
    return from_doubles(v, {n, n}, dtype, device);
}

static Tensor random_tensor(RandomDist dist, const Shape& shape, DType dtype, Device device,
                            Generator& gen, double a, double b) {
    Tensor t = empty(shape, dtype, device);
    uint64_t offset = gen.reserve(t.numel());
    kernel<OpId::random>(device)(dist, gen.state().seed, offset, t, a, b);
    return t;
}

Tensor rand(const Shape& shape, DType dtype, Device device, Generator& gen) {
    MARROW_CHECK(dtype == DType::f32 || dtype == DType::f64,
                 "rand: dtype must be float32 or "
                 "float64, got {}",
                 dtype);
    return random_tensor(RandomDist::uniform, shape, dtype, device, gen, 0, 1);
}

Tensor randn(const Shape& shape, DType dtype, Device device, Generator& gen) {
    MARROW_CHECK(dtype == DType::f32 || dtype == DType::f64,
                 "randn: dtype must be float32 or "
                 "float64, got {}",
                 dtype);
    return random_tensor(RandomDist::normal, shape, dtype, device, gen, 0, 1);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device,
               Generator& gen) {
    MARROW_CHECK(high > low, "randint: empty range [{}, {})", low, high);
    MARROW_CHECK(high - low <= (int64_t(1) << 32), "randint: range [{}, {}) wider than 2^32", low,
                 high);
    return random_tensor(RandomDist::randint, shape, dtype, device, gen, double(low), double(high));
}

Tensor randperm(int64_t n, Generator& gen) {
    MARROW_CHECK(n >= 0, "randperm: n must be >= 0, got {}", n);
    return op::sort(rand({n}, DType::f64, Device::cpu(), gen), 0).second;
}

Tensor from_blob(void* data, const Shape& shape, DType dtype, Storage::Deleter deleter,
                 Device device) {
    size_t nbytes =
        size_t(checked_numel(shape, "from_blob", int64_t(dtype_size(dtype)))) * dtype_size(dtype);
    return Tensor(Storage::wrap(data, nbytes, device, std::move(deleter)), 0, shape,
                  contiguous_strides(shape), dtype);
}

namespace {
Tensor with_options(Tensor t, const TensorOptions& o) {
    if (o.requires_grad) t.requires_grad_();
    return t;
}
Generator& generator_of(const TensorOptions& o) {
    return o.generator ? *o.generator : default_generator();
}
}  // namespace

Tensor empty(const Shape& shape, const TensorOptions& o) {
    return with_options(empty(shape, o.dtype, o.device), o);
}
Tensor zeros(const Shape& shape, const TensorOptions& o) {
    return with_options(zeros(shape, o.dtype, o.device), o);
}
Tensor ones(const Shape& shape, const TensorOptions& o) {
    return with_options(ones(shape, o.dtype, o.device), o);
}
Tensor full(const Shape& shape, double value, const TensorOptions& o) {
    return with_options(full(shape, value, o.dtype, o.device), o);
}
Tensor rand(const Shape& shape, const TensorOptions& o) {
    return with_options(rand(shape, o.dtype, o.device, generator_of(o)), o);
}
Tensor randn(const Shape& shape, const TensorOptions& o) {
    return with_options(randn(shape, o.dtype, o.device, generator_of(o)), o);
}
Tensor randint(int64_t low, int64_t high, const Shape& shape, const TensorOptions& o) {
    MARROW_CHECK(!o.requires_grad, "randint: integer tensors cannot require grad");
    return randint(low, high, shape, o.dtype == DType::f32 ? DType::i64 : o.dtype, o.device,
                   generator_of(o));
}

}  // namespace marrow
