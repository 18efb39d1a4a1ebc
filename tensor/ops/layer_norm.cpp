// layer_norm entry points: argument checks as torch.nn.functional.layer_norm (aten's
// _check_layer_norm_inputs; messages name the op and the shapes), contiguous (M, N) views for
// the kernels (tensor/kernels.h: LayerNormKernel), empty inputs answered here.
#include "tensor/ops/layer_norm.h"

#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/kernels.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow::op {
namespace {

// Rows M (the leading dims) and row length N (the product of normalized_shape) of x, after
// checking x ends with normalized_shape.
struct Rows {
    int64_t m, n;
};

Rows check_input(const char* op, const Tensor& x, const std::vector<int64_t>& shape) {
    MARROW_CHECK(!shape.empty(),
                 "{}: expected normalized_shape to be at least 1-dimensional, i.e., containing at "
                 "least one element, but got normalized_shape = [] (input shape {})",
                 op, x.shape());
    int64_t k = int64_t(shape.size()), lead = x.dim() - k;
    bool ends_with = lead >= 0;
    for (int64_t i = 0; ends_with && i < k; ++i) ends_with = x.size(lead + i) == shape[size_t(i)];
    MARROW_CHECK(ends_with,
                 "{}: given normalized_shape={}, expected input with shape [*, {}], but got "
                 "input of shape {}",
                 op, Shape(shape), fmt::join(shape, ", "), x.shape());
    MARROW_CHECK(x.dtype() == DType::f32 || x.dtype() == DType::f64,
                 "{}: expected a float32 or float64 input, got {} (shape {})", op, x.dtype(),
                 x.shape());
    Rows r{1, 1};
    for (int64_t i = 0; i < x.dim(); ++i) (i < lead ? r.m : r.n) *= x.size(i);
    return r;
}

// weight / bias: exactly normalized_shape, x's dtype and device.
void check_affine(const char* op, const char* what, const Tensor& t, const Tensor& x,
                  const std::vector<int64_t>& shape) {
    MARROW_CHECK(t.shape() == Shape(shape),
                 "{}: expected {} to be of same shape as normalized_shape, but got {} of shape "
                 "{} and normalized_shape = {} (input shape {})",
                 op, what, what, t.shape(), Shape(shape), x.shape());
    MARROW_CHECK(t.dtype() == x.dtype(), "{}: {} has dtype {} but input (shape {}) has {}", op,
                 what, t.dtype(), x.shape(), x.dtype());
    MARROW_CHECK(t.device() == x.device(), "{}: {} is on {} but input (shape {}) is on {}", op,
                 what, t.device(), x.shape(), x.device());
}

const Tensor* ptr(const std::optional<Tensor>& t) { return t ? &*t : nullptr; }

// An (N,) contiguous view of a weight or bias of shape normalized_shape.
std::optional<Tensor> flat(const std::optional<Tensor>& t, int64_t n) {
    return t ? std::optional<Tensor>(reshape(contiguous(*t), {n})) : std::nullopt;
}

}  // namespace

LayerNormForward layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape,
                            const std::optional<Tensor>& weight, const std::optional<Tensor>& bias,
                            double eps) {
    const char* op = "layer_norm";
    Rows r = check_input(op, x, normalized_shape);
    if (weight) check_affine(op, "weight", *weight, x, normalized_shape);
    if (bias) check_affine(op, "bias", *bias, x, normalized_shape);
    LayerNormForward out{empty(x.shape(), x.dtype(), x.device()),
                         empty({r.m}, x.dtype(), x.device()), empty({r.m}, x.dtype(), x.device())};
    if (x.numel() == 0) {
        // An empty output; rows over an empty normalized shape get mean 0 and rstd NaN, as
        // PyTorch's native_layer_norm (backward never reads them: its outputs are empty or 0).
        if (r.m > 0) {
            fill_(out.mean, 0.0);
            fill_(out.rstd, std::numeric_limits<double>::quiet_NaN());
        }
        return out;
    }
    std::optional<Tensor> w = flat(weight, r.n), b = flat(bias, r.n);
    kernel<OpId::layer_norm>(x.device(), op)(eps, reshape(contiguous(x), {r.m, r.n}), ptr(w),
                                             ptr(b), view(out.y, {r.m, r.n}), out.mean, out.rstd);
    return out;
}

LayerNormGrads layer_norm_backward(const Tensor& g, const std::optional<Tensor>& x,
                                   const std::vector<int64_t>& normalized_shape,
                                   const std::optional<Tensor>& mean,
                                   const std::optional<Tensor>& rstd,
                                   const std::optional<Tensor>& weight, LayerNormNeeds needs) {
    const char* op = "layer_norm_backward";
    Rows r = check_input(op, g, normalized_shape);
    MARROW_CHECK((x && mean && rstd) || !(needs.x || needs.weight),
                 "{}: the input and its statistics are needed for these gradients (shape {})", op,
                 g.shape());
    if (x) {
        MARROW_CHECK(x->shape() == g.shape(), "{}: gradient shape {} != input shape {}", op,
                     g.shape(), x->shape());
        check_same_dtype(op, g, *x);
        check_same_device(op, g, *x);
    }
    for (const std::optional<Tensor>* stat : {&mean, &rstd}) {
        if (!*stat) continue;
        MARROW_CHECK((*stat)->numel() == r.m,
                     "{}: expected {} per-row statistics (input shape {}), got shape {}", op, r.m,
                     g.shape(), (*stat)->shape());
        check_same_dtype(op, g, **stat);
        check_same_device(op, g, **stat);
    }
    if (weight) check_affine(op, "weight", *weight, g, normalized_shape);

    Shape affine_shape(normalized_shape);
    LayerNormGrads out;
    if (needs.x) out.x = empty(g.shape(), g.dtype(), g.device());
    if (needs.weight) out.weight = zeros(affine_shape, g.dtype(), g.device());
    if (needs.bias) out.bias = zeros(affine_shape, g.dtype(), g.device());
    if (g.numel() == 0 || !(needs.x || needs.weight || needs.bias)) return out;
    // The kernel reads x, mean and rstd only for dx and dweight.
    bool stats = needs.x || needs.weight;
    auto rows = [&](const Tensor& t) { return reshape(contiguous(t), {r.m, r.n}); };
    std::optional<Tensor> x2, mean1, rstd1;
    if (stats) x2 = rows(*x), mean1 = contiguous(*mean), rstd1 = contiguous(*rstd);
    std::optional<Tensor> dx =
        out.x ? std::optional<Tensor>(view(*out.x, {r.m, r.n})) : std::nullopt;
    std::optional<Tensor> w = flat(weight, r.n), dw = flat(out.weight, r.n),
                          db = flat(out.bias, r.n);
    kernel<OpId::layer_norm_backward>(g.device(), op)(ptr(x2), rows(g), ptr(mean1), ptr(rstd1),
                                                      ptr(w), ptr(dx), ptr(dw), ptr(db));
    return out;
}

}  // namespace marrow::op
