#include "tensor/ops/pool.h"

#include <cmath>

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow::op {
namespace {

// (H, W) from a PyTorch int-or-pair argument; `what` completes PyTorch's message.
std::pair<int64_t, int64_t> pair_of(const Size2& v, const char* op, const char* what) {
    MARROW_CHECK(v.size() == 1 || v.size() == 2, "{}: {}, got {} values", op, what, v.size());
    return {v[0], v.size() == 2 ? v[1] : v[0]};
}

bool is_float(DType d) { return d == DType::f32 || d == DType::f64; }

// PyTorch's pooling_output_shape: floor (or ceil) division rounding toward -inf, + 1; with
// ceil_mode, a last window that would start in the right padding is dropped.
int64_t pooled_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dilation,
                    bool ceil_mode) {
    int64_t num = in + 2 * pad - dilation * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
    int64_t q = num / stride;
    if (num % stride != 0 && num < 0) --q;  // div_rtn
    int64_t out = q + 1;
    if (ceil_mode && (out - 1) * stride >= in + pad) --out;
    return out;
}

// Shared by max_pool2d and avg_pool2d (PyTorch's pool2d_shape_check).
Pool2dParams pool_params(const char* op, PoolKind kind, const Shape& x, const Size2& kernel,
                         const Size2& stride, const Size2& padding, const Size2& dilation,
                         bool ceil_mode) {
    auto [kh, kw] =
        pair_of(kernel, op, "kernel_size must either be a single int, or a tuple of two ints");
    Size2 s = stride.empty() ? Size2{kh, kw} : stride;
    auto [sh, sw] =
        pair_of(s, op, "stride must either be omitted, a single int, or a tuple of two ints");
    auto [ph, pw] =
        pair_of(padding, op, "padding must either be a single int, or a tuple of two ints");
    auto [dh, dw] =
        pair_of(dilation, op, "dilation must be either a single int, or a tuple of two ints");
    MARROW_CHECK(kh > 0 && kw > 0,
                 "{}: kernel size should be greater than zero, but got kH: {} kW: {}", op, kh, kw);
    MARROW_CHECK(sh > 0 && sw > 0, "{}: stride should be greater than zero, but got dH: {} dW: {}",
                 op, sh, sw);
    MARROW_CHECK(dh > 0 && dw > 0,
                 "{}: dilation should be greater than zero, but got dilationH: {} dilationW: {}",
                 op, dh, dw);
    MARROW_CHECK(ph >= 0 && pw >= 0, "{}: pad must be non-negative, but got padH: {} padW: {}", op,
                 ph, pw);
    MARROW_CHECK(ph <= kh / 2 && pw <= kw / 2,
                 "{}: pad should be at most half of kernel size, but got pad=({}, {}) and "
                 "kernel_size=({}, {})",
                 op, ph, pw, kh, kw);
    size_t nd = x.size();
    bool ok = (nd == 3 && x[0] > 0 && x[1] > 0 && x[2] > 0) ||
              (nd == 4 && x[1] > 0 && x[2] > 0 && x[3] > 0);
    MARROW_CHECK(ok,
                 "{}: expected a 3D (C, H, W) or 4D (N, C, H, W) input with non-zero C, H, W "
                 "(N may be 0), got shape {}",
                 op, x);
    Pool2dParams p;
    p.kind = kind;
    p.kh = kh, p.kw = kw, p.sh = sh, p.sw = sw, p.ph = ph, p.pw = pw, p.dh = dh, p.dw = dw;
    p.h = x[nd - 2];
    p.w = x[nd - 1];
    p.oh = pooled_size(p.h, kh, ph, sh, dh, ceil_mode);
    p.ow = pooled_size(p.w, kw, pw, sw, dw, ceil_mode);
    MARROW_CHECK(p.oh >= 1 && p.ow >= 1,
                 "{}: given input size ({}x{}x{}), the calculated output size ({}x{}x{}) is too "
                 "small (input shape {})",
                 op, x[nd - 3], p.h, p.w, x[nd - 3], p.oh, p.ow, x);
    return p;
}

// x's shape with the last two dims replaced by the pooled plane.
Shape pooled_shape(const Shape& x, const Pool2dParams& p) {
    Shape out = x;
    out[out.size() - 2] = p.oh;
    out[out.size() - 1] = p.ow;
    return out;
}

void check_input(const char* op, const Tensor& x, const Pool2dParams& p) {
    MARROW_CHECK(is_float(x.dtype()), "{}: expected a float32 or float64 input, got {} (shape {})",
                 op, x.dtype(), x.shape());
    MARROW_CHECK(x.dim() >= 3 && x.size(-2) == p.h && x.size(-1) == p.w,
                 "{}: input shape {} does not match the parameters' {}x{} plane", op, x.shape(),
                 p.h, p.w);
}

const char* kind_name(PoolKind kind) {
    return kind == PoolKind::max   ? "max_pool2d"
           : kind == PoolKind::avg ? "avg_pool2d"
                                   : "adaptive_avg_pool2d";
}

// t viewed as (planes, rows, cols) over its last two dims (t contiguous).
Tensor as_planes(const Tensor& t, int64_t rows, int64_t cols) {
    return view(t, {rows * cols == 0 ? 0 : t.numel() / (rows * cols), rows, cols});
}

}  // namespace

Pool2dParams max_pool2d_params(const Shape& x, const Size2& kernel, const Size2& stride,
                               const Size2& padding, const Size2& dilation, bool ceil_mode) {
    return pool_params("max_pool2d", PoolKind::max, x, kernel, stride, padding, dilation,
                       ceil_mode);
}

Pool2dParams avg_pool2d_params(const Shape& x, const Size2& kernel, const Size2& stride,
                               const Size2& padding, bool ceil_mode, bool count_include_pad,
                               std::optional<int64_t> divisor_override) {
    Pool2dParams p =
        pool_params("avg_pool2d", PoolKind::avg, x, kernel, stride, padding, {1}, ceil_mode);
    MARROW_CHECK(!divisor_override || *divisor_override != 0,
                 "avg_pool2d: divisor must be not zero (input shape {})", x);
    p.count_include_pad = count_include_pad;
    p.divisor_override = divisor_override.value_or(0);
    return p;
}

Pool2dParams adaptive_avg_pool2d_params(const Shape& x, const Size2& output_size) {
    auto [oh, ow] = pair_of(output_size, "adaptive_avg_pool2d",
                            "output_size must be a single int or a pair of ints");
    size_t nd = x.size();
    if (nd >= 2) {  // None: the input's size (the rank is checked below)
        oh = oh == kNone ? x[nd - 2] : oh;
        ow = ow == kNone ? x[nd - 1] : ow;
    }
    MARROW_CHECK(oh >= 0 && ow >= 0,
                 "adaptive_avg_pool2d: elements of output_size must be greater than or equal to "
                 "0, got ({}, {})",
                 oh, ow);
    MARROW_CHECK(nd == 3 || nd == 4,
                 "adaptive_avg_pool2d: expected a 3D (C, H, W) or 4D (N, C, H, W) input, got "
                 "shape {}",
                 x);
    MARROW_CHECK(x[nd - 2] > 0 && x[nd - 1] > 0,
                 "adaptive_avg_pool2d: expected the input to have non-zero H and W, got shape {}",
                 x);
    Pool2dParams p;
    p.kind = PoolKind::adaptive_avg;
    p.h = x[nd - 2];
    p.w = x[nd - 1];
    p.oh = oh;
    p.ow = ow;
    return p;
}

std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const Pool2dParams& p) {
    check_input("max_pool2d", x, p);
    Shape shape = pooled_shape(x.shape(), p);
    Tensor out = empty(shape, x.dtype(), x.device());
    Tensor indices = empty(shape, DType::i64, x.device());
    if (out.numel() == 0) return {out, indices};
    Tensor xc = contiguous(x);
    Tensor idx3 = as_planes(indices, p.oh, p.ow);
    kernel<OpId::pool2d>(x.device(), "max_pool2d")(p, as_planes(xc, p.h, p.w),
                                                   as_planes(out, p.oh, p.ow), &idx3);
    return {out, indices};
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p) {
    const char* op = kind_name(p.kind);
    MARROW_CHECK(p.kind != PoolKind::max, "avg_pool2d: called with max pooling parameters");
    check_input(op, x, p);
    Tensor out = empty(pooled_shape(x.shape(), p), x.dtype(), x.device());
    if (out.numel() == 0) return out;
    Tensor xc = contiguous(x);
    kernel<OpId::pool2d>(x.device(), op)(p, as_planes(xc, p.h, p.w), as_planes(out, p.oh, p.ow),
                                         nullptr);
    return out;
}

Tensor pool2d_backward(const Pool2dParams& p, const Tensor& g, const std::optional<Tensor>& indices,
                       const Shape& x_shape) {
    const char* op = kind_name(p.kind);
    Shape out_shape = pooled_shape(x_shape, p);
    MARROW_CHECK(g.shape() == out_shape, "{} backward: gradient shape {} != output shape {}", op,
                 g.shape(), out_shape);
    MARROW_CHECK(p.kind != PoolKind::max || (indices && indices->shape() == out_shape),
                 "max_pool2d backward: needs indices of shape {}", out_shape);
    Tensor gx = empty(x_shape, g.dtype(), g.device());
    if (gx.numel() == 0) return gx;
    if (g.numel() == 0) {
        fill_(gx, 0);
        return gx;
    }
    Tensor gc = contiguous(g);
    std::optional<Tensor> idx3;
    if (indices) idx3 = as_planes(contiguous(*indices), p.oh, p.ow);
    kernel<OpId::pool2d_backward>(g.device(), op)(p, as_planes(gc, p.oh, p.ow),
                                                  idx3 ? &*idx3 : nullptr, as_planes(gx, p.h, p.w));
    return gx;
}

Tensor dropout_mask_apply(const Tensor& x, double p, uint64_t seed, uint64_t offset) {
    MARROW_CHECK(is_float(x.dtype()),
                 "dropout: expected a float32 or float64 input, got {} (shape {})", x.dtype(),
                 x.shape());
    MARROW_CHECK(p > 0 && p < 1, "dropout: the kernel takes 0 < p < 1, got {}", p);
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    if (out.numel() == 0) return out;
    kernel<OpId::dropout>(x.device(), "dropout")(seed, offset, p, contiguous(x), out);
    return out;
}

Tensor normalize(const Tensor& x, double p, int64_t dim, double eps) {
    MARROW_CHECK(is_float(x.dtype()),
                 "normalize: expected a float32 or float64 input, got {} (shape {})", x.dtype(),
                 x.shape());
    MARROW_CHECK(p > 0 && std::isfinite(p),
                 "normalize: p must be positive and finite, got {} (input shape {})", p, x.shape());
    int64_t d = wrap_dim(dim, x.dim(), "normalize");
    Tensor y = empty(x.shape(), x.dtype(), x.device());
    if (x.numel() == 0) return y;
    kernel<OpId::normalize>(x.device(), "normalize")(p, eps, as_3d_around(contiguous(x), d),
                                                     as_3d_around(y, d));
    return y;
}

Tensor normalize_backward(const Tensor& x, const Tensor& g, double p, int64_t dim, double eps) {
    int64_t d = wrap_dim(dim, x.dim(), "normalize_backward");
    MARROW_CHECK(x.shape() == g.shape(), "normalize backward: gradient shape {} != input shape {}",
                 g.shape(), x.shape());
    Tensor gx = empty(x.shape(), x.dtype(), x.device());
    if (x.numel() == 0) return gx;
    kernel<OpId::normalize_backward>(x.device(), "normalize")(
        p, eps, as_3d_around(contiguous(x), d), as_3d_around(contiguous(g), d),
        as_3d_around(gx, d));
    return gx;
}

}  // namespace marrow::op
