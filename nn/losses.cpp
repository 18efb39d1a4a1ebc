// Classification losses composed from differentiable ops; see losses.h for the semantics.
// PyTorch reference: aten/src/ATen/native/LossNLL.cpp (nll_loss_nd, cross_entropy_loss and
// its label-smoothing branch), whose reductions and denominators these follow term by term.
#include "nn/losses.h"

#include <string_view>

#include "autograd/ops.h"

namespace marrow::nn {

namespace {

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

// Reduces a per-element term x_i (N, d1, ...); "mean" divides by sum_i w_i when per-element
// weights exist (class weights and/or the ignore mask), else by the element count.
Tensor reduce(const Tensor& x, Reduction reduction, const std::optional<Tensor>& denominator) {
    switch (reduction) {
        case Reduction::none:
            return x;
        case Reduction::sum:
            return sum(x);
        case Reduction::mean:
            return denominator ? sum(x) / *denominator : mean(x);
    }
    fail("loss: unknown reduction {}", int(reduction));
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
    Prepared p = prepare("cross_entropy", logits, target, options.weight, options.ignore_index);
    Tensor out = nll_prepared(log_softmax(p.input, 1), p, options.ignore_index, options.reduction,
                              options.label_smoothing);
    return logits.dim() == 1 && options.reduction == Reduction::none ? squeeze(out, 0) : out;
}

}  // namespace marrow::nn
