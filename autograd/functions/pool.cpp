// Pooling, dropout and normalize with their backward (torch.nn.functional's max_pool2d,
// avg_pool2d, adaptive_avg_pool2d, dropout, normalize).
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops/pool.h"

namespace marrow {

using autograd::Grads;
using autograd::record;
using autograd::SavedTensor;

// y[o] = x[idx[o]] (the window's maximum), so dL/dx[j] = sum over outputs o with idx[o] = j
// of g[o]: g scattered through the indices (overlapping windows that share a maximum add).
// PyTorch's max_pool2d_with_indices_backward. Only the int64 indices are saved, not x.
std::pair<Tensor, Tensor> max_pool2d_with_indices(const Tensor& x, const Dims& kernel_size,
                                                  const Dims& stride, const Dims& padding,
                                                  const Dims& dilation, bool ceil_mode) {
    Pool2dParams p =
        op::max_pool2d_params(x.shape(), kernel_size, stride, padding, dilation, ceil_mode);
    auto [y, indices] = op::max_pool2d(x, p);
    Shape shape = x.shape();
    SavedTensor si(indices, "max_pool2d");
    auto outs = record("max_pool2d", {x}, {y, indices}, [=](const Grads& g) -> Grads {
        return {op::pool2d_backward(p, *g[0], si.get(), shape)};
    });
    return {outs[0], outs[1]};
}

Tensor max_pool2d(const Tensor& x, const Dims& kernel_size, const Dims& stride, const Dims& padding,
                  const Dims& dilation, bool ceil_mode) {
    return max_pool2d_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode).first;
}

// y[o] = sum_{j in window(o)} x[j] / divisor(o), linear in x: dL/dx[j] = sum over the windows
// o holding j of g[o] / divisor(o) (PyTorch's avg_pool2d_backward and
// adaptive_avg_pool2d_backward). Nothing is saved.
static Tensor avg_pool(const char* name, const Tensor& x, const Pool2dParams& p) {
    Shape shape = x.shape();
    return record(name, {x}, op::avg_pool2d(x, p), [=](const Grads& g) -> Grads {
        return {op::pool2d_backward(p, *g[0], std::nullopt, shape)};
    });
}

Tensor avg_pool2d(const Tensor& x, const Dims& kernel_size, const Dims& stride, const Dims& padding,
                  bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
    return avg_pool("avg_pool2d", x,
                    op::avg_pool2d_params(x.shape(), kernel_size, stride, padding, ceil_mode,
                                          count_include_pad, divisor_override));
}

Tensor adaptive_avg_pool2d(const Tensor& x, const Dims& output_size) {
    return avg_pool("adaptive_avg_pool2d", x,
                    op::adaptive_avg_pool2d_params(x.shape(), output_size));
}

// Training: y = x * m / (1 - p) with m_i ~ Bernoulli(1 - p) drawn from `gen`'s Philox stream
// at (seed, offset); dL/dx = g * m / (1 - p), the same kernel on g with the same (seed,
// offset): the mask is recomputed, never stored (the graph keeps two integers). As PyTorch:
// eval or p = 0 returns x itself, p = 1 gives x * 0 (zeros, NaN where x is NaN), and neither
// draws from the generator.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
    MARROW_CHECK(p >= 0 && p <= 1,
                 "dropout: probability has to be between 0 and 1, but got {} (input shape {})", p,
                 x.shape());
    if (!training || p == 0 || x.numel() == 0) return x;
    MARROW_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64,
                 "dropout: expected a float32 or float64 input, got {} (shape {})", x.dtype(),
                 x.shape());
    if (p == 1) return x * 0.0;
    uint64_t seed = gen.state().seed;
    uint64_t offset = gen.reserve(x.numel());
    return record(
        "dropout", {x}, op::dropout_mask_apply(x, p, seed, offset),
        [=](const Grads& g) -> Grads { return {op::dropout_mask_apply(*g[0], p, seed, offset)}; });
}

// Stochastic depth, as timm's and DINOv2's drop_path (scale_by_keep): one keep decision per
// sample, mask m (B, 1, ..., 1) with m_b ~ Bernoulli(1 - p), y = x * (m / (1 - p)). Composed
// from differentiable ops (rand, lt, mul), so its backward (dL/dx = g * m / (1 - p), the mask
// a constant) and its CUDA path are mul's; the graph holds the (B, 1, ..., 1) mask only. The
// uniforms are drawn in float32 whatever x's dtype, so a seed gives the same mask for f32 and
// f64 inputs. p = 1 keeps nothing and, as timm, does not divide: x * 0 (NaN stays NaN).
Tensor drop_path_masked(const Tensor& x, const Tensor& keep, double p) {
    MARROW_CHECK(p >= 0 && p <= 1,
                 "drop_path: drop probability has to be between 0 and 1, but got {} (input shape "
                 "{})",
                 p, x.shape());
    MARROW_CHECK(x.dim() >= 1 && keep.dim() == x.dim() && keep.size(0) == x.size(0) &&
                     keep.numel() == x.size(0),
                 "drop_path: the keep mask must have shape (B, 1, ..., 1) for input shape {}, got "
                 "{}",
                 x.shape(), keep.shape());
    Tensor m = to(keep, x.dtype());
    return x * (p < 1 ? m / (1 - p) : m);
}

Tensor drop_path(const Tensor& x, double p, bool training, Generator& gen) {
    MARROW_CHECK(p >= 0 && p <= 1,
                 "drop_path: drop probability has to be between 0 and 1, but got {} (input shape "
                 "{})",
                 p, x.shape());
    if (!training || p == 0) return x;
    MARROW_CHECK(x.dim() >= 1, "drop_path: expected an input with a batch dim, got shape {}",
                 x.shape());
    MARROW_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64,
                 "drop_path: expected a float32 or float64 input, got {} (shape {})", x.dtype(),
                 x.shape());
    Shape mask_shape(size_t(x.dim()), 1);
    mask_shape[0] = x.size(0);
    Tensor u = rand(mask_shape, {.dtype = DType::f32, .device = x.device(), .generator = &gen});
    return drop_path_masked(x, lt(u, 1 - p), p);
}

// F.normalize: y = x / d, d = max(||x||_p over dim, eps), one fused kernel each way. With
// n = ||x||_p: dL/dx_k = g_k / d - [n >= eps] (sum_j g_j x_j) / d^2 * dn/dx_k, where
// dn/dx_k = x_k / n for p = 2; below eps d is the constant eps and only g / eps remains (the
// clamp_min of PyTorch's composition passes no gradient there). Only x is saved. The composed
// form (norm, clamp, division: tests/ops/cases/pool.cpp) is the reference and gradient
// oracle; the fused backward is ~40x faster on (4096, 256) (docs/design.md).
Tensor normalize(const Tensor& x, double p, int64_t dim, double eps) {
    SavedTensor sx(x, "normalize");
    return record("normalize", {x}, op::normalize(x, p, dim, eps), [=](const Grads& g) -> Grads {
        return {op::normalize_backward(sx.get(), *g[0], p, dim, eps)};
    });
}

}  // namespace marrow
