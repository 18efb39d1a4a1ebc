// The reduction and the input/target checks shared by the losses (nn/loss_common.h).
#include "nn/loss_common.h"

#include "autograd/ops.h"

namespace marrow::nn::detail {

Tensor reduce(const Tensor& x, Reduction reduction, const std::optional<Tensor>& denominator) {
    switch (reduction) {
        case Reduction::none:
            return x;
        case Reduction::sum:
            return sum(x);
        case Reduction::mean:
            if (denominator) return sum(x) / *denominator;
            // mean() refuses an empty tensor; a loss over an empty batch is NaN in PyTorch.
            return x.numel() == 0 ? sum(x) / 0.0 : mean(x);
    }
    fail("loss: unknown reduction {}", int(reduction));
}

Tensor checked_target(std::string_view op, const Tensor& input, const Tensor& target,
                      bool same_shape) {
    MARROW_CHECK(is_floating(input.dtype()), "{}: input must be floating point, got {} (shape {})",
                 op, input.dtype(), input.shape());
    MARROW_CHECK(input.device() == target.device(),
                 "{}: input (shape {}) is on {} but target (shape {}) is on {}", op, input.shape(),
                 input.device(), target.shape(), target.device());
    if (same_shape) {
        MARROW_CHECK(target.shape() == input.shape(),
                     "{}: target shape {} differs from input shape {} (PyTorch would broadcast "
                     "them with a warning; give both the same shape)",
                     op, target.shape(), input.shape());
    } else {
        broadcast_shapes(input.shape(), target.shape(), op);  // throws naming both shapes
    }
    if (!is_floating(target.dtype())) return to(target, input.dtype());
    MARROW_CHECK(target.dtype() == input.dtype(),
                 "{}: target dtype {} (shape {}) differs from input dtype {} (shape {}); convert "
                 "one with to(t, dtype)",
                 op, target.dtype(), target.shape(), input.dtype(), input.shape());
    return target;
}

Tensor checked_weight(std::string_view op, std::string_view what, const Tensor& input,
                      const Tensor& weight) {
    MARROW_CHECK(is_floating(weight.dtype()), "{}: {} must be floating point, got {} (shape {})",
                 op, what, weight.dtype(), weight.shape());
    MARROW_CHECK(input.device() == weight.device(),
                 "{}: input (shape {}) is on {} but {} (shape {}) is on {}", op, input.shape(),
                 input.device(), what, weight.shape(), weight.device());
    Shape joint = broadcast_shapes(input.shape(), weight.shape(), op);
    MARROW_CHECK(joint == input.shape(),
                 "{}: {} of shape {} does not broadcast to input shape {} (it would grow the "
                 "loss to {})",
                 op, what, weight.shape(), input.shape(), joint);
    return weight.dtype() == input.dtype() ? weight : to(weight, input.dtype());
}

}  // namespace marrow::nn::detail
