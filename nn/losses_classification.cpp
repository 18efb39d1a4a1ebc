// Classification losses composed from differentiable ops; see losses.h for the semantics.
// PyTorch references (1.13, the golden fixtures' version): aten/src/ATen/native/LossNLL.cpp
// (nll_loss_nd, cross_entropy_loss, its label-smoothing branch and
// cross_entropy_loss_prob_target) and Loss.cpp (binary_cross_entropy,
// binary_cross_entropy_with_logits), whose reductions and denominators these follow term by
// term.
#include "nn/losses.h"

#include <limits>
#include <string_view>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "nn/loss_common.h"

namespace marrow::nn {

namespace {

using detail::reduce;

// The input as (N, C, d1, ...) and the target as (N, d1, ...) after the checks both losses
// share; `any_ignored` says whether some target equals ignore_index (when none does, the
// mask multiplications are skipped and "mean" is a plain mean).
struct Prepared {
    Tensor input;
    Tensor target;
    std::optional<Tensor> weight;  // (C), in the input's dtype
    bool any_ignored = false;
};

Prepared prepare(std::string_view op, const Tensor& input, const Tensor& target,
                 const std::optional<Tensor>& weight, int64_t ignore_index) {
    MARROW_CHECK(is_floating(input.dtype()), "{}: input must be floating point, got {} (shape {})",
                 op, input.dtype(), input.shape());
    MARROW_CHECK(target.dtype() == DType::i64,
                 "{}: target must hold int64 class indices, got {} (shape {})", op, target.dtype(),
                 target.shape());
    MARROW_CHECK(input.dim() >= 1, "{}: input needs a class dimension, got shape {}", op,
                 input.shape());
    Prepared p{input, target, std::nullopt, false};
    if (input.dim() == 1) {  // unbatched: (C) logits with a 0-d target
        MARROW_CHECK(target.dim() == 0, "{}: input of shape {} takes a 0-d target, got shape {}",
                     op, input.shape(), target.shape());
        p.input = unsqueeze(input, 0);
        p.target = unsqueeze(target, 0);
    }
    Shape expected = p.input.shape();
    expected.erase(expected.begin() + 1);  // (N, C, d1, ...) -> (N, d1, ...)
    MARROW_CHECK(p.target.shape() == expected,
                 "{}: target shape {} does not match input shape {} (expected target {})", op,
                 target.shape(), input.shape(), expected);
    int64_t classes = p.input.size(1);
    if (weight) {
        MARROW_CHECK(weight->dim() == 1 && weight->size(0) == classes,
                     "{}: weight must have shape [{}] (one per class of input {}), got {}", op,
                     classes, input.shape(), weight->shape());
        MARROW_CHECK(is_floating(weight->dtype()), "{}: weight must be floating point, got {}", op,
                     weight->dtype());
        p.weight = weight->dtype() == input.dtype() ? *weight : to(*weight, input.dtype());
    }
    // The range check reads the target on the host: a copy for device tensors, until kernels
    // can raise a device-side assert (an out-of-range index would otherwise read past the row).
    Tensor host = contiguous(to(p.target, Device::cpu()));
    const int64_t* t = host.data<int64_t>();
    for (int64_t i = 0; i < host.numel(); ++i) {
        if (t[i] == ignore_index) {
            p.any_ignored = true;
            continue;
        }
        MARROW_CHECK(t[i] >= 0 && t[i] < classes,
                     "{}: target value {} (element {}) is out of range [0, {}) for input of "
                     "shape {} (ignore_index is {})",
                     op, t[i], i, classes, input.shape(), ignore_index);
    }
    return p;
}

// -reduce(w_i log_probs[i, t_i]) (+ label smoothing), on prepared (N, C, ...) log-probs.
Tensor nll_prepared(const Tensor& log_probs, const Prepared& p, int64_t ignore_index,
                    Reduction reduction, double label_smoothing) {
    Tensor target = p.target;    // (N, d1, ...)
    std::optional<Tensor> mask;  // (N, d1, ...): 1 where counted, 0 at ignored targets
    if (p.any_ignored) {
        Tensor ignored = eq(target, double(ignore_index));
        mask = to(logical_not(ignored), log_probs.dtype());
        target = masked_fill(target, ignored, 0);  // any valid class; its term is masked out
    }
    // Per-element weights w_i = weight[t_i] * mask_i (absent when both are all ones).
    std::optional<Tensor> w = mask;
    if (p.weight) {
        Tensor picked_w = reshape(index_select(*p.weight, 0, flatten(target)), target.shape());
        w = mask ? picked_w * *mask : picked_w;
    }
    std::optional<Tensor> denominator;
    if (w && reduction == Reduction::mean) denominator = sum(*w);

    Tensor picked = squeeze(gather(log_probs, 1, unsqueeze(target, 1)), 1);  // (N, d1, ...)
    Tensor nll = reduce(w ? picked * *w : picked, reduction, denominator);
    if (label_smoothing == 0) return -nll;

    // smooth_i = sum_c weight[c] log_probs[i, c], zero at ignored targets.
    Tensor weighted = log_probs;
    if (p.weight) {
        Shape class_shape(size_t(log_probs.dim()), 1);
        class_shape[1] = log_probs.size(1);
        weighted = log_probs * reshape(*p.weight, class_shape);
    }
    Tensor smooth = sum(weighted, {1});
    if (mask) smooth = smooth * *mask;
    double classes = double(log_probs.size(1));
    return -((1 - label_smoothing) * nll +
             (label_smoothing / classes) * reduce(smooth, reduction, denominator));
}

// Class-probability targets (PyTorch's cross_entropy_loss_prob_target), logits (N, C, d...)
// or (C), target of the same shape:
//   p = (1 - e) target + e / C,  loss_i = -sum_c weight[c] p[i, c] log_softmax(logits)[i, c];
//   "none" returns (N, d...) (0-d for (C) logits), "sum" sums, "mean" divides the sum by the
//   number of rows N d... whatever the weights (unlike class indices). No ignore_index: a row
//   with an all-zero target simply adds nothing. Gradients reach the logits through
//   log_softmax and the target through the products (distillation may train both).
Tensor cross_entropy_soft(const Tensor& logits, const Tensor& target,
                          const CrossEntropyOptions& options) {
    MARROW_CHECK(logits.dim() >= 1, "cross_entropy: input needs a class dimension, got shape {}",
                 logits.shape());
    MARROW_CHECK(is_floating(target.dtype()),
                 "cross_entropy: a target of the input's shape {} holds class probabilities and "
                 "must be floating point, got {} (class indices have shape (N, d...))",
                 logits.shape(), target.dtype());
    MARROW_CHECK(options.ignore_index < 0,
                 "cross_entropy: ignore_index ({}) is not supported for class-probability "
                 "targets (target and input shape {})",
                 options.ignore_index, logits.shape());
    Tensor t = detail::checked_target("cross_entropy", logits, target, /*same_shape=*/true);
    int64_t class_dim = logits.dim() == 1 ? 0 : 1;
    int64_t classes = logits.size(class_dim);
    Tensor terms = log_softmax(logits, class_dim);
    double e = options.label_smoothing;
    terms = terms * (e > 0 ? t * (1 - e) + e / double(classes) : t);  // PyTorch's order
    if (options.weight) {
        const Tensor& w = *options.weight;
        MARROW_CHECK(w.dim() == 1 && w.size(0) == classes,
                     "cross_entropy: weight must have shape [{}] (one per class of input {}), "
                     "got {}",
                     classes, logits.shape(), w.shape());
        MARROW_CHECK(is_floating(w.dtype()), "cross_entropy: weight must be floating point, got {}",
                     w.dtype());
        Tensor wc = w.dtype() == logits.dtype() ? w : to(w, logits.dtype());
        Shape class_shape(size_t(logits.dim()), 1);
        class_shape[size_t(class_dim)] = classes;
        terms = terms * reshape(wc, class_shape);
    }
    switch (options.reduction) {
        case Reduction::none:
            return -sum(terms, {class_dim});
        case Reduction::sum:
            return -sum(terms);
        case Reduction::mean: {
            int64_t rows = 1;  // N d1 ... = numel / C, without dividing by a zero C
            for (int64_t d = 0; d < logits.dim(); ++d)
                if (d != class_dim) rows *= logits.size(d);
            return -sum(terms) / double(rows);  // 0 rows: 0 / 0 = NaN, as PyTorch
        }
    }
    fail("cross_entropy: unknown reduction {}", int(options.reduction));
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NllLossOptions& options) {
    Prepared p = prepare("nll_loss", log_probs, target, options.weight, options.ignore_index);
    Tensor out = nll_prepared(p.input, p, options.ignore_index, options.reduction, 0);
    return log_probs.dim() == 1 && options.reduction == Reduction::none ? squeeze(out, 0) : out;
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target,
                     const CrossEntropyOptions& options) {
    MARROW_CHECK(options.label_smoothing >= 0 && options.label_smoothing <= 1,
                 "cross_entropy: label_smoothing must be in [0, 1], got {}",
                 options.label_smoothing);
    // PyTorch's rule: a target of the input's shape holds probabilities, any other indices.
    if (target.shape() == logits.shape()) return cross_entropy_soft(logits, target, options);
    Prepared p = prepare("cross_entropy", logits, target, options.weight, options.ignore_index);
    Tensor out = nll_prepared(log_softmax(p.input, 1), p, options.ignore_index, options.reduction,
                              options.label_smoothing);
    return logits.dim() == 1 && options.reduction == Reduction::none ? squeeze(out, 0) : out;
}

namespace {

// The elementwise binary cross entropy of probabilities x against targets t (same shape,
// same dtype), recorded as one node so that its gradient is PyTorch's closed form:
//   l = -(t max(log x, -100) + (1 - t) max(log(1 - x), -100))
//   dl/dx = -t / x + (1 - t) / (1 - x) = (x - t) / (x (1 - x)),
//           taken as (x - t) / max(x (1 - x), eps): at x = 0 or 1 (a saturated sigmoid in
//           f32) PyTorch's slope is large and finite, where composing clamp(log x) would give
//           0 * inf = NaN. eps is PyTorch's EPSILON, the float 1e-12f (9.99999996e-13: the
//           f64 slope at x = 0 differs from (x - t) 1e12 in the 9th digit, and so does ours);
//   dl/dt = log(1 - x) - log x (unclamped, so +-inf at x = 0 or 1, as PyTorch).
// log(1 - x) is computed as log1p(-x): exact for small x (PyTorch 1.13's CPU kernel).
Tensor bce_elementwise(const Tensor& x, const Tensor& t) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    Tensor loss = [&] {
        autograd::NoGradGuard no_grad;
        return -(t * clamp(log(x), -100, inf) + (1 - t) * clamp(log1p(-x), -100, inf));
    }();
    using autograd::Grads, autograd::NeedsGrad, autograd::SavedTensor;
    SavedTensor sx(x, "binary_cross_entropy"),
        st = autograd::save_if(autograd::needs_grad(x), t, "binary_cross_entropy");
    return autograd::record("binary_cross_entropy", {x, t}, loss,
                            [=](const Grads& g, const NeedsGrad& needs) -> Grads {
                                const Tensor& in = sx.get();
                                Grads out(2);
                                if (needs[0]) {
                                    Tensor slope_den = clamp(in * (1 - in), double(1e-12f), inf);
                                    out[0] = *g[0] * (in - st.get()) / slope_den;
                                }
                                if (needs[1]) out[1] = *g[0] * (log1p(-in) - log(in));
                                return out;
                            });
}

void check_same_shape(std::string_view op, const Tensor& input, const Tensor& target) {
    MARROW_CHECK(target.shape() == input.shape(),
                 "{}: target shape {} must be the same as input shape {}", op, target.shape(),
                 input.shape());
}

}  // namespace

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target,
                            const BinaryCrossEntropyOptions& options) {
    constexpr std::string_view op = "binary_cross_entropy";
    check_same_shape(op, input, target);
    MARROW_CHECK(is_floating(target.dtype()),
                 "{}: target must be floating point, got {} (shape {})", op, target.dtype(),
                 target.shape());
    Tensor t = detail::checked_target(op, input, target, /*same_shape=*/true);
    // PyTorch checks the range in its kernel; we read it on the host (one bool for CUDA).
    MARROW_CHECK(all(logical_and(ge(input, 0.0), le(input, 1.0))).item() != 0,
                 "{}: all elements of input (shape {}) should be between 0 and 1", op,
                 input.shape());
    Tensor loss = bce_elementwise(input, t);
    if (options.weight) {
        MARROW_CHECK(!autograd::needs_grad(*options.weight),
                     "{}: weight (shape {}) requires grad, but its derivative is not implemented "
                     "(as in PyTorch); detach it",
                     op, options.weight->shape());
        loss = loss * detail::checked_weight(op, "weight", input, *options.weight);
    }
    return reduce(loss, options.reduction);
}

// loss = w ((1 - t) x + l softplus(-x)), l = 1 + (pos_weight - 1) t, from
//   -w (pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))) with log sigmoid(x) = -softplus(-x)
//   and log(1 - sigmoid(x)) = -x - softplus(-x).
// softplus's threshold is raised from 20 to 50: above it softplus(y) = y, and
// log1p(e^-50) ~ 2e-22 is below an f64 ulp of 50, so the switch loses nothing in either dtype
// (at 20 it would drop 2e-9, visible in f64). Its gradient, sigmoid(-x), is exact for any x:
//   dloss/dx = w ((1 - t) - l sigmoid(-x)) = w (l sigmoid(x) - pw t), PyTorch's closed form;
//   dloss/dt = w (-x + (pw - 1) softplus(-x)).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsOptions& options) {
    constexpr std::string_view op = "binary_cross_entropy_with_logits";
    check_same_shape(op, input, target);
    MARROW_CHECK(is_floating(target.dtype()),
                 "{}: target must be floating point, got {} (shape {})", op, target.dtype(),
                 target.shape());
    Tensor t = detail::checked_target(op, input, target, /*same_shape=*/true);
    Tensor softplus_neg = softplus(-input, 1, 50);  // -log sigmoid(x)
    Tensor loss = (1 - t) * input;
    if (options.pos_weight) {
        Tensor pw = detail::checked_weight(op, "pos_weight", input, *options.pos_weight);
        loss = loss + ((pw - 1) * t + 1) * softplus_neg;
    } else {
        loss = loss + softplus_neg;
    }
    if (options.weight) loss = loss * detail::checked_weight(op, "weight", input, *options.weight);
    return reduce(loss, options.reduction);
}

}  // namespace marrow::nn
