// interpolate with its backward (torch.nn.functional.interpolate, modes nearest, linear,
// bilinear, bicubic; antialias=False).
#include "tensor/ops/interpolate.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace marrow {

using autograd::Grads;
using autograd::record;

// Per plane, out = Wy x Wx^T: Wy (H_out, H_in) and Wx (W_out, W_in) hold each output index's
// tap weights along its axis (tensor/math/interpolate_math.h; a 3-d input has Wy = [1]). The
// map is linear in x, so
//   dL/dx = Wy^T g Wx,   dL/dx[h, w] = sum_{oh, ow} Wy[oh, h] Wx[ow, w] g[oh, ow]:
// every output's gradient goes back to the input elements it read, with the weights it read
// them with (PyTorch's upsample_{nearest,linear1d,bilinear2d,bicubic2d}_backward). Border taps
// clamped onto the same element add up. The weights depend only on the sizes and options, so
// nothing is saved.
Tensor interpolate(const Tensor& x, const InterpolateOptions& options) {
    InterpolateParams p = op::interpolate_params(x.shape(), options);
    Shape shape = x.shape();
    return record("interpolate", {x}, op::interpolate(x, p), [=](const Grads& g) -> Grads {
        return {op::interpolate_backward(p, *g[0], shape)};
    });
}

}  // namespace marrow
