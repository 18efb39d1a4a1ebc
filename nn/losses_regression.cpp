// Regression losses, kl_div and cosine similarity composed from differentiable ops; see
// losses.h for the semantics. PyTorch references (1.13, the golden fixtures' version):
// torch/nn/functional.py (the size checks, batchmean), aten/src/ATen/native/Loss.cpp
// (mse, l1, smooth_l1, huber, kl_div, cosine_embedding_loss) and Distance.cpp
// (cosine_similarity). Gradients come from the composed ops; each function says why they
// equal PyTorch's closed forms, including at the branch points (|x - y| = beta, a tie).
#include "nn/losses.h"

#include <limits>
#include <string_view>

#include "autograd/ops.h"
#include "nn/loss_common.h"

namespace marrow::nn {

using detail::reduce;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

// (x - y)^2: d/dx = 2 (x - y) (pow's backward), PyTorch's mse_loss_backward.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
    Tensor t = detail::checked_target("mse_loss", input, target, /*same_shape=*/true);
    return reduce(pow(input - t, 2.0), reduction);
}

// |x - y|: d/dx = sign(x - y), 0 at a tie (abs's backward), as PyTorch's l1_loss.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
    Tensor t = detail::checked_target("l1_loss", input, target, /*same_shape=*/true);
    return reduce(abs(input - t), reduction);
}

// d = x - y, z = |d|: where(z < beta, 0.5 d^2 / beta, z - 0.5 beta).
//   d/dx = d / beta inside, sign(d) outside: at z = beta both are +-1, and where picks the
//   outer branch there, as PyTorch's smooth_l1_backward (x <= -beta: -1, x >= beta: 1).
//   Both branches are finite everywhere, so where's zero gradient to the unpicked one never
//   meets an inf.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target,
                      const SmoothL1LossOptions& options) {
    double beta = options.beta;
    MARROW_CHECK(beta >= 0,
                 "smooth_l1_loss does not support negative values for beta, got {} (input {})",
                 beta, input.shape());
    if (beta == 0) return l1_loss(input, target, options.reduction);  // z < 0 never holds
    Tensor t = detail::checked_target("smooth_l1_loss", input, target, /*same_shape=*/true);
    Tensor d = input - t, z = abs(d);
    Tensor loss = where(lt(z, beta), pow(d, 2.0) * (0.5 / beta), z - 0.5 * beta);
    return reduce(loss, options.reduction);
}

// where(z < delta, 0.5 d^2, delta (z - 0.5 delta)): d/dx = d inside, delta sign(d) outside
// (PyTorch's huber_loss_backward, delta sign(d) at z = delta).
Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossOptions& options) {
    double delta = options.delta;
    MARROW_CHECK(delta > 0,
                 "huber_loss does not support non-positive values for delta, got {} (input {})",
                 delta, input.shape());
    Tensor t = detail::checked_target("huber_loss", input, target, /*same_shape=*/true);
    Tensor d = input - t, z = abs(d);
    Tensor loss = where(lt(z, delta), 0.5 * pow(d, 2.0), delta * (z - 0.5 * delta));
    return reduce(loss, options.reduction);
}

// Pointwise t (log t - x) = xlogy(t, t) - t x, or exp(t) (t - x) with log targets (PyTorch
// 1.13's composite kl_div). xlogy(t, t) = t log(t'), t' = t with zeros replaced by 1: 0 at
// t = 0 (not 0 * -inf), and no inf ever enters the graph. Gradients: d/dx = -t (or -exp(t));
// d/dt = log t + 1 - x for t > 0 (PyTorch gives NaN at t = 0 where this gives -x).
Tensor kl_div(const Tensor& input, const Tensor& target, const KlDivOptions& options) {
    Tensor t = detail::checked_target("kl_div", input, target, /*same_shape=*/false);
    Tensor pointwise = options.log_target ? exp(t) * (t - input)
                                          : t * log(masked_fill(t, eq(t, 0.0), 1)) - t * input;
    switch (options.reduction) {
        case KlDivReduction::none:
            return pointwise;
        case KlDivReduction::mean:
            return reduce(pointwise, Reduction::mean);
        case KlDivReduction::sum:
            return sum(pointwise);
        case KlDivReduction::batchmean:  // the sum over the batch size input.size(0)
            return input.dim() == 0 ? sum(pointwise) : sum(pointwise) / double(input.size(0));
    }
    fail("kl_div: unknown reduction {}", int(options.reduction));
}

namespace {

// max(||x||, eps) along dim (kept), with the gradient PyTorch 1.13 gives it: x / max(||x||,
// eps). PyTorch clamps a clone of the norm in place under no_grad, and the norm's backward
// then divides by the clamped value: below eps the gradient is neither the true norm's
// (x / ||x||) nor zero (a composed clamp). Here sqrt(s + lift) with s = sum x^2 and the
// constant lift = max(s, eps^2) - s (detached) has the value max(||x||, eps) and the
// gradient 2x / (2 sqrt(s + lift)) = x / max(||x||, eps); lift is exactly 0 when
// ||x|| >= eps, so the value is then sqrt(s) itself.
Tensor clamped_norm(const Tensor& x, int64_t dim, double eps) {
    Tensor s = sum(x * x, {dim}, /*keepdim=*/true);
    Tensor s_const = detach(s);
    return sqrt(s + (clamp(s_const, eps * eps, kInf) - s_const));
}

// x1 and x2 in one floating dtype: an integer (or bool) one takes the other's (PyTorch's
// promotion); two integers, or two different floating dtypes, are an error naming both.
std::pair<Tensor, Tensor> common_floating(std::string_view op, const Tensor& x1, const Tensor& x2) {
    bool f1 = is_floating(x1.dtype()), f2 = is_floating(x2.dtype());
    MARROW_CHECK(f1 || f2,
                 "{}: expected a floating point input, got {} (shape {}) and {} (shape {})", op,
                 x1.dtype(), x1.shape(), x2.dtype(), x2.shape());
    MARROW_CHECK(!(f1 && f2) || x1.dtype() == x2.dtype(),
                 "{}: x1 dtype {} (shape {}) differs from x2 dtype {} (shape {}); convert one "
                 "with to(t, dtype)",
                 op, x1.dtype(), x1.shape(), x2.dtype(), x2.shape());
    MARROW_CHECK(x1.device() == x2.device(),
                 "{}: x1 (shape {}) is on {} but x2 (shape {}) is on {}", op, x1.shape(),
                 x1.device(), x2.shape(), x2.device());
    return {f1 ? x1 : to(x1, x2.dtype()), f2 ? x2 : to(x2, x1.dtype())};
}

}  // namespace

// sum((x1 / max(||x1||, eps)) (x2 / max(||x2||, eps)), dim) on x1, x2 broadcast first, so the
// norms are those of the broadcast tensors (PyTorch's expand_outplace), e.g. x1 (N, 1) with
// x2 (N, D) along dim 1 takes ||x1 row|| = sqrt(D) |x1|. Gradients: through expand (summed
// back), the divisions and clamped_norm above.
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int64_t dim, double eps) {
    constexpr std::string_view op = "cosine_similarity";
    auto [a, b] = common_floating(op, x1, x2);
    Shape common = broadcast_shapes(a.shape(), b.shape(), op);
    int64_t d = wrap_dim(dim, int64_t(common.size()), op);
    if (a.shape() != common) a = expand(a, common);
    if (b.shape() != common) b = expand(b, common);
    return sum((a / clamped_norm(a, d, eps)) * (b / clamped_norm(b, d, eps)), {d});
}

// PyTorch's cosine_embedding_loss: cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)),
// loss = 1 - cos where target == 1, max(0, cos - margin) where target == -1, else 0 (two
// where's on finite branches; clamp passes the gradient at cos - margin = 0, as clamp_min).
Tensor cosine_embedding_loss(const Tensor& x1, const Tensor& x2, const Tensor& target,
                             const CosineEmbeddingLossOptions& options) {
    constexpr std::string_view op = "cosine_embedding_loss";
    int64_t tdim = target.dim();
    MARROW_CHECK(tdim == 0 || tdim == 1,
                 "{}: 0D or 1D target tensor expected (multi-target not supported), got shape {}",
                 op, target.shape());
    int64_t want = tdim + 1;  // (N, D) inputs with an (N) target, (D) with a 0-d one
    MARROW_CHECK(x1.dim() == want && x2.dim() == want,
                 "{}: a {}-D target (shape {}) expects {}-D inputs, got shapes {} and {}", op, tdim,
                 target.shape(), want, x1.shape(), x2.shape());
    MARROW_CHECK(is_floating(x1.dtype()) && x1.dtype() == x2.dtype(),
                 "{}: inputs must share one floating dtype, got {} (shape {}) and {} (shape {})",
                 op, x1.dtype(), x1.shape(), x2.dtype(), x2.shape());
    Shape pair = broadcast_shapes(x1.shape(), x2.shape(), op);
    MARROW_CHECK(tdim == 0 || target.size(0) == pair[0],
                 "{}: target shape {} does not match the {} rows of inputs {} and {}", op,
                 target.shape(), pair[0], x1.shape(), x2.shape());
    constexpr double kEpsilon = 1e-12;  // PyTorch's EPSILON in Loss.cpp
    Tensor prod = sum(x1 * x2, {tdim});
    Tensor mag1 = sum(x1 * x1, {tdim}) + kEpsilon, mag2 = sum(x2 * x2, {tdim}) + kEpsilon;
    Tensor cos = prod / sqrt(mag1 * mag2);
    Tensor zero = scalar_like(cos, 0);
    Tensor similar = where(eq(target, 1.0), 1 - cos, zero);
    Tensor dissimilar = where(eq(target, -1.0), clamp(cos - options.margin, 0, kInf), zero);
    return reduce(similar + dissimilar, options.reduction);
}

}  // namespace marrow::nn
