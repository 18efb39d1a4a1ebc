// batch_norm with its backward: torch.nn.functional.batch_norm's semantics, gradients as
// PyTorch's native_batch_norm_backward (aten/src/ATen/native/Normalization.cpp).
#include "tensor/ops/norm.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace marrow {

using autograd::Grads;
using autograd::needs_grad;
using autograd::NeedsGrad;
using autograd::record;
using autograd::save_if;
using autograd::SavedTensor;

// Forward, per channel c over its n = N S values (all of batch and space):
//   training: mu = mean(x), var = mean((x - mu)^2) (biased), sigma = sqrt(var + eps)
//   eval:     mu, var = the running buffers (constants)
//   xhat = (x - mu) / sigma,   y = w xhat + b
// Backward, with g = dL/dy:
//   dL/db = sum_i g_i,   dL/dw = sum_i g_i xhat_i
//   eval: mu and sigma are constants, so dL/dx_i = g_i w / sigma.
//   training: mu and sigma depend on every x_j. With h_i = dL/dxhat_i = g_i w,
//     dxhat_i/dx_j = (delta_ij - 1/n) / sigma - xhat_i xhat_j / (n sigma)
//   because dmu/dx_j = 1/n and dsigma/dx_j = (x_j - mu) / (n sigma) = xhat_j / n. So
//     dL/dx_j = sum_i h_i dxhat_i/dx_j
//             = (1/sigma) [h_j - mean(h) - xhat_j mean(h xhat)]          (term 1, 2, 3)
//             = (w/sigma) [g_j - mean(g) - xhat_j mean(g xhat)].
//   Term 1 is the direct path, term 2 the path through mu, term 3 through sigma. The kernels
//   compute it as (g - sum(g)/n - (x - mu) proj) w invstd with invstd = 1/sigma and
//   proj = sum(g (x - mu)) invstd^2 / n (PyTorch's form): one reduction pass for sum(g) and
//   sum(g (x - mu)), which also give dL/db and dL/dw = sum(g (x - mu)) invstd, then one
//   pass for dx. The running buffers get no gradient (PyTorch's are non-differentiable).
Tensor batch_norm(const Tensor& x, const std::optional<Tensor>& running_mean,
                  const std::optional<Tensor>& running_var, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, bool training, double momentum, double eps) {
    if (training)
        for (const std::optional<Tensor>* buffer : {&running_mean, &running_var})
            MARROW_CHECK(!(*buffer && autograd::grad_enabled() && (*buffer)->requires_grad()),
                         "batch_norm: the running buffers are updated in place in training and "
                         "must not require grad (shape {})",
                         (*buffer)->shape());
    op::BatchNormForward f =
        op::batch_norm(x, running_mean, running_var, weight, bias, {training, momentum, eps});

    // The differentiable inputs: x, then weight and bias when given.
    std::vector<Tensor> inputs = {x};
    int weight_at = -1, bias_at = -1;
    if (weight) weight_at = int(inputs.size()), inputs.push_back(*weight);
    if (bias) bias_at = int(inputs.size()), inputs.push_back(*bias);
    bool dx = needs_grad(x), dw = weight && needs_grad(*weight);
    // x for dL/dw and, in training, for dL/dx; w only for dL/dx.
    SavedTensor sx = save_if((dx && training) || dw, x, "batch_norm");
    SavedTensor sw = save_if(dx && weight, weight ? *weight : x, "batch_norm");
    SavedTensor smean(f.mean, "batch_norm"), sinvstd(f.invstd, "batch_norm");
    return record("batch_norm", inputs, f.y, [=](const Grads& g, const NeedsGrad& needs) {
        op::BatchNormNeeds want{needs[0], weight_at >= 0 && needs[size_t(weight_at)],
                                bias_at >= 0 && needs[size_t(bias_at)]};
        std::optional<Tensor> xs = sx.defined() ? std::optional<Tensor>(sx.get()) : std::nullopt;
        std::optional<Tensor> ws = sw.defined() ? std::optional<Tensor>(sw.get()) : std::nullopt;
        op::BatchNormGrads d =
            op::batch_norm_backward(*g[0], xs, smean.get(), sinvstd.get(), ws, training, want);
        Grads out(needs.size());
        out[0] = d.x;
        if (weight_at >= 0) out[size_t(weight_at)] = d.weight;
        if (bias_at >= 0) out[size_t(bias_at)] = d.bias;
        return out;
    });
}

double batch_norm_momentum(std::optional<double> momentum, int64_t num_batches_tracked) {
    if (momentum) return *momentum;
    MARROW_CHECK(num_batches_tracked >= 1,
                 "batch_norm_momentum: cumulative averaging (momentum none) needs the count of "
                 "batches including this one (>= 1), got {}",
                 num_batches_tracked);
    return 1.0 / double(num_batches_tracked);
}

}  // namespace marrow
