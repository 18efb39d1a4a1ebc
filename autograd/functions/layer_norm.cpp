// layer_norm with its backward: torch.nn.functional.layer_norm's semantics, gradients as
// PyTorch's native_layer_norm_backward (aten/src/ATen/native/layer_norm.cpp). The composed
// form (mean, var, sub, div: tests/ops/cases/layer_norm.cpp) is the reference and gradient
// oracle of the fused kernels.
#include "tensor/ops/layer_norm.h"

#include "autograd/node.h"
#include "autograd/ops.h"

namespace marrow {

using autograd::Grads;
using autograd::needs_grad;
using autograd::NeedsGrad;
using autograd::record;
using autograd::save_if;
using autograd::SavedTensor;

// Forward, per row r (the leading dims) over its N values x_j (the normalized dims):
//   mu = mean(x), var = mean((x - mu)^2) (biased), rstd = 1 / sqrt(var + eps)
//   xhat_j = (x_j - mu) rstd,   y_j = w_j xhat_j + b_j
// Backward, with g = dL/dy (w and b are shared by all rows, so their gradients sum over rows):
//   dL/db_j = sum_r g_rj,   dL/dw_j = sum_r g_rj xhat_rj
//   Within a row, with a_j = dL/dxhat_j = g_j w_j: dmu/dx_k = 1/N and
//   drstd/dx_k = -rstd^3 (x_k - mu) / N = -rstd^2 xhat_k / N (the mean's own path cancels:
//   sum_j (x_j - mu) = 0), so
//     dxhat_j/dx_k = rstd (delta_jk - 1/N) - xhat_j rstd xhat_k / N
//     dL/dx_k = sum_j a_j dxhat_j/dx_k
//             = rstd [a_k - mean(a) - xhat_k mean(a xhat)]            (term 1, 2, 3)
//   Term 1 is the direct path, term 2 the path through mu, term 3 through rstd. The kernels
//   compute it from one pass of sums, sum(a) and sum(a (x - mu)), as
//     dx_k = rstd a_k - rstd sum(a) / N - (x_k - mu) rstd^3 sum(a (x - mu)) / N.
// Saved: x, mean and rstd when dx or dw will be computed; w only for dx. db reads g alone.
Tensor layer_norm(const Tensor& x, const std::vector<int64_t>& normalized_shape,
                  const std::optional<Tensor>& weight, const std::optional<Tensor>& bias,
                  double eps) {
    op::LayerNormForward f = op::layer_norm(x, normalized_shape, weight, bias, eps);

    // The differentiable inputs: x, then weight and bias when given.
    std::vector<Tensor> inputs = {x};
    int weight_at = -1, bias_at = -1;
    if (weight) weight_at = int(inputs.size()), inputs.push_back(*weight);
    if (bias) bias_at = int(inputs.size()), inputs.push_back(*bias);
    bool dx = needs_grad(x), dw = weight && needs_grad(*weight);
    SavedTensor sx = save_if(dx || dw, x, "layer_norm");
    SavedTensor smean = save_if(dx || dw, f.mean, "layer_norm");
    SavedTensor srstd = save_if(dx || dw, f.rstd, "layer_norm");
    SavedTensor sw = save_if(dx && weight, weight ? *weight : x, "layer_norm");
    return record("layer_norm", inputs, f.y, [=](const Grads& g, const NeedsGrad& needs) {
        op::LayerNormNeeds want{needs[0], weight_at >= 0 && needs[size_t(weight_at)],
                                bias_at >= 0 && needs[size_t(bias_at)]};
        auto get = [](const SavedTensor& s) {
            return s.defined() ? std::optional<Tensor>(s.get()) : std::nullopt;
        };
        op::LayerNormGrads d = op::layer_norm_backward(*g[0], get(sx), normalized_shape, get(smean),
                                                       get(srstd), get(sw), want);
        Grads out(needs.size());
        out[0] = d.x;
        if (weight_at >= 0) out[size_t(weight_at)] = d.weight;
        if (bias_at >= 0) out[size_t(bias_at)] = d.bias;
        return out;
    });
}

}  // namespace marrow
