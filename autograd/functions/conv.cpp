// conv2d with its backward (torch.nn.functional.conv2d; PyTorch's convolution_backward).
#include "tensor/ops/conv.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/autocast.h"
#include "tensor/ops/linalg.h"

namespace marrow {

using autograd::Grads;
using autograd::needs_grad;
using autograd::NeedsGrad;
using autograd::record;
using autograd::save_if;
using autograd::SavedTensor;

// y[n, o, r, s] = b[o] + sum_{ci, i, j} w[o, ci, i, j] x[n, c(o, ci), r sh - ph + i dh,
// s sw - pw + j dw] is linear in each of x, w, b, so with g = dL/dy:
//   dL/dx[n, c, ih, iw] = sum over every (o, r, s, i, j) whose tap reads (ih, iw) of
//                         w[o, ci, i, j] g[n, o, r, s]      (the transposed convolution of g)
//   dL/dw[o, ci, i, j]  = sum_{n, r, s} g[n, o, r, s] x[n, c, r sh - ph + i dh, ...]
//                         (the correlation of x with g)
//   dL/db[o]            = sum_{n, r, s} g[n, o, r, s]
// Each is computed only when needed: dx reads only w, dw only x, so x is saved only for dw
// (a frozen layer keeps no activation) and w only for dx (the first layer, on images, runs
// no input-gradient kernel).
//
// Under autocast (Note [Mixed precision], tensor/autocast.h) x and w are rounded to bf16 /
// f16 values and the float32 convolution runs on them: the products are exact and the sums
// float32, as a bf16 convolution with float32 accumulation computes, at the cost of one
// rounding pass over x and w (no bf16 convolution kernel). The unrounded x and w are saved and
// rounded again in backward (a rounded copy saved instead would add to the activations the
// graph already keeps: ResNet-18 peak memory +20%). The gradients' convolutions round g too;
// the gradients flow to x and w unrounded (straight through the rounding).
Tensor conv2d(const Tensor& x, const Tensor& weight, const std::optional<Tensor>& bias,
              const Conv2dParams& params) {
    const bool recorded = needs_grad(x) || needs_grad(weight) || (bias && needs_grad(*bias));
    MARROW_CHECK(!(params.relu && recorded),
                 "conv2d: the fused ReLU (Conv2dParams::relu) is for inference and has no "
                 "backward; input {} and weight {} need gradients (use relu(conv2d(...)))",
                 x.shape(), weight.shape());
    GemmPrecision p = gemm_precision(x.dtype());
    SavedTensor sx = save_if(needs_grad(weight), x, "conv2d");
    SavedTensor sw = save_if(needs_grad(x), weight, "conv2d");
    Shape x_shape = x.shape(), w_shape = weight.shape();
    std::vector<Tensor> inputs{x, weight};
    if (bias) inputs.push_back(*bias);
    Tensor y = op::conv2d(op::round_operand(x, p), op::round_operand(weight, p), bias, params);
    return record("conv2d", inputs, y, [=](const Grads& g, const NeedsGrad& needs) {
        Grads out(needs.size());
        Tensor gr = op::round_operand(*g[0], p);
        if (needs[0])
            out[0] = op::conv2d_backward_input(gr, op::round_operand(sw.get(), p), x_shape,
                                               params);
        if (needs[1])
            out[1] = op::conv2d_backward_weight(op::round_operand(sx.get(), p), gr, w_shape,
                                                params);
        if (needs.size() > 2 && needs[2])
            out[2] = x_shape.size() == 4 ? sum(*g[0], {0, 2, 3}) : sum(*g[0], {1, 2});
        return out;
    });
}

}  // namespace marrow
