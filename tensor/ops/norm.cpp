// batch_norm entry points: argument checks as torch.nn.functional.batch_norm (messages name
// the op and the shapes), contiguous (N, C, S) views for the kernels, in-place running
// statistics (through a contiguous copy when a buffer is a strided view).
#include "tensor/ops/norm.h"

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow::op {
namespace {

// A per-channel tensor (weight, bias, a running buffer): shape (C,), x's dtype and device.
void check_channel_tensor(const char* op, const char* what, const Tensor& t, const Tensor& x) {
    int64_t c = x.size(1);
    MARROW_CHECK(t.dim() == 1 && t.size(0) == c,
                 "{}: {} should have shape [{}] (one value per channel of input shape {}), got "
                 "shape {}",
                 op, what, c, x.shape(), t.shape());
    MARROW_CHECK(t.dtype() == x.dtype(), "{}: {} has dtype {} but input (shape {}) has {}", op,
                 what, t.dtype(), x.shape(), x.dtype());
    MARROW_CHECK(t.device() == x.device(), "{}: {} is on {} but input (shape {}) is on {}", op,
                 what, t.device(), x.shape(), x.device());
}

// (N, C, *) as (N, C, S), contiguous.
Tensor as_ncs(const Tensor& x) { return as_3d_around(contiguous(x), 1); }

const Tensor* ptr(const std::optional<Tensor>& t) { return t ? &*t : nullptr; }

std::optional<Tensor> contiguous_opt(const std::optional<Tensor>& t) {
    return t ? std::optional<Tensor>(contiguous(*t)) : std::nullopt;
}

}  // namespace

BatchNormForward batch_norm(const Tensor& x, const std::optional<Tensor>& running_mean,
                            const std::optional<Tensor>& running_var,
                            const std::optional<Tensor>& weight, const std::optional<Tensor>& bias,
                            const BatchNormParams& params) {
    const char* op = "batch_norm";
    MARROW_CHECK(x.dim() >= 2,
                 "{}: expected an input of shape (N, C, *) with at least 2 dims, got shape {}", op,
                 x.shape());
    MARROW_CHECK(is_floating(x.dtype()), "{}: expected a floating input, got {} (shape {})", op,
                 x.dtype(), x.shape());
    int64_t c = x.size(1), per_channel = c == 0 ? 0 : x.numel() / c;
    // torch.nn.functional.batch_norm's _verify_batch_size (a ValueError there).
    MARROW_CHECK(!params.training || per_channel != 1,
                 "{}: Expected more than 1 value per channel when training, got input size {}", op,
                 x.shape());
    MARROW_CHECK(params.training || running_mean,
                 "{}: running_mean must be defined in evaluation mode (input shape {})", op,
                 x.shape());
    MARROW_CHECK(params.training || running_var,
                 "{}: running_var must be defined in evaluation mode (input shape {})", op,
                 x.shape());
    if (running_mean) check_channel_tensor(op, "running_mean", *running_mean, x);
    if (running_var) check_channel_tensor(op, "running_var", *running_var, x);
    if (weight) check_channel_tensor(op, "weight", *weight, x);
    if (bias) check_channel_tensor(op, "bias", *bias, x);

    BatchNormForward out{empty(x.shape(), x.dtype(), x.device()), zeros({c}, x.dtype(), x.device()),
                         zeros({c}, x.dtype(), x.device())};
    if (x.numel() == 0) return out;  // as PyTorch: an empty output, running buffers untouched
    std::optional<Tensor> w = contiguous_opt(weight), b = contiguous_opt(bias);
    // The kernel reads the running buffers in eval mode and updates them in training; a
    // strided buffer is updated through a contiguous copy.
    std::optional<Tensor> rm = contiguous_opt(running_mean), rv = contiguous_opt(running_var);
    kernel<OpId::batch_norm>(x.device(), op)(params, as_ncs(x), ptr(w), ptr(b), ptr(rm), ptr(rv),
                                             as_ncs(out.y), out.mean, out.invstd);
    auto write_back = [](const std::optional<Tensor>& buffer,
                         const std::optional<Tensor>& updated) {
        if (!buffer) return;
        if (updated->is_same(*buffer))
            buffer->bump_version();  // updated in place (Note [Version counter])
        else
            copy_(*buffer, *updated);  // bumps the version itself
    };
    if (params.training) {
        write_back(running_mean, rm);
        write_back(running_var, rv);
    }
    return out;
}

BatchNormGrads batch_norm_backward(const Tensor& g, const std::optional<Tensor>& x,
                                   const Tensor& mean, const Tensor& invstd,
                                   const std::optional<Tensor>& weight, bool training,
                                   BatchNormNeeds needs) {
    const char* op = "batch_norm_backward";
    MARROW_CHECK(g.dim() >= 2, "{}: expected a gradient of shape (N, C, *), got shape {}", op,
                 g.shape());
    bool needs_x = (training && needs.x) || needs.weight;
    MARROW_CHECK(x || !needs_x, "{}: the input is needed for these gradients", op);
    if (x) {
        MARROW_CHECK(x->shape() == g.shape(), "{}: gradient shape {} != input shape {}", op,
                     g.shape(), x->shape());
        check_same_dtype(op, g, *x);
        check_same_device(op, g, *x);
    }
    check_channel_tensor(op, "mean", mean, g);
    check_channel_tensor(op, "invstd", invstd, g);
    if (weight) check_channel_tensor(op, "weight", *weight, g);

    int64_t c = g.size(1);
    BatchNormGrads out;
    if (needs.x) out.x = empty(g.shape(), g.dtype(), g.device());
    if (needs.weight) out.weight = zeros({c}, g.dtype(), g.device());
    if (needs.bias) out.bias = zeros({c}, g.dtype(), g.device());
    if (g.numel() == 0 || !(needs.x || needs.weight || needs.bias)) return out;
    std::optional<Tensor> x3 = x ? std::optional<Tensor>(as_ncs(*x)) : std::nullopt;
    std::optional<Tensor> dx3 = out.x ? std::optional<Tensor>(as_ncs(*out.x)) : std::nullopt;
    std::optional<Tensor> w = contiguous_opt(weight);
    kernel<OpId::batch_norm_backward>(g.device(), op)(training, ptr(x3), as_ncs(g),
                                                      contiguous(mean), contiguous(invstd), ptr(w),
                                                      ptr(dx3), ptr(out.weight), ptr(out.bias));
    return out;
}

}  // namespace marrow::op
