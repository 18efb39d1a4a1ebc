// The per-element optimizer updates behind the fused optim_step kernel (tensor/cpu/optim.cpp,
// cuda/kernels/optim.cu), shared so both backends run one formula. They are torch.optim's
// single-tensor updates (torch 1.13 _single_tensor_sgd / _single_tensor_adam), element by
// element, in T with the host-computed scalars rounded to T as torch does for a float tensor:
//   sgd:  g = maximize ? -g : g;  g += wd p
//         momentum: b = first ? g : momentum b + (1 - dampening) g;  g = nesterov ? g + momentum b
//         : b p += (-lr) g
//   adam: g = maximize ? -g : g;  decoupled (AdamW): p *= 1 - lr wd;  else g += wd p
//         m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g g
//         amsgrad: vmax = max(vmax, v) (NaN propagates, as torch.maximum), used for v
//         p += (-step_size) (m / (sqrt(v) / bias_correction2_sqrt + eps))
// The composite versions in nn/optim.cpp and nn/adam.cpp stay as the reference (fused = false).
#pragma once
#include "tensor/math/host_device.h"

namespace marrow {

enum class OptimStep { sgd, adam };

// The scalars of one step, computed on the host (step_size = lr / (1 - beta1^t),
// bias_correction2_sqrt = sqrt(1 - beta2^t) for Adam at step t).
struct OptimStepParams {
    OptimStep kind = OptimStep::sgd;
    double lr = 0;
    double weight_decay = 0;
    bool maximize = false;
    // sgd
    double momentum = 0;
    double dampening = 0;
    bool nesterov = false;
    bool first = false;  // the momentum buffer's first step: it starts at g
    // adam
    double beta1 = 0;
    double beta2 = 0;
    double eps = 0;
    double step_size = 0;
    double bias_correction2_sqrt = 1;
    bool amsgrad = false;
    bool decoupled = false;
};

namespace math {

template <typename T>
MARROW_HOST_DEVICE inline T nan_max(T a, T b) {
    return a != a ? a : (b != b ? b : (a > b ? a : b));
}

// One element: p, the gradient g, and the state slots (sgd: s0 = momentum buffer; adam:
// s0 = exp_avg, s1 = exp_avg_sq, s2 = max_exp_avg_sq). Unused slots are not touched.
template <typename T>
MARROW_HOST_DEVICE inline void optim_step_element(const OptimStepParams& o, T& p, T g, T& s0, T& s1,
                                                  T& s2) {
    if (o.maximize) g = -g;
    if (o.kind == OptimStep::sgd) {
        if (o.weight_decay != 0) g = g + T(o.weight_decay) * p;
        if (o.momentum != 0) {
            s0 = o.first ? g : s0 * T(o.momentum) + T(1 - o.dampening) * g;
            g = o.nesterov ? g + T(o.momentum) * s0 : s0;
        }
        p = p + T(-o.lr) * g;
        return;
    }
    if (o.decoupled)
        p = p * T(1 - o.lr * o.weight_decay);
    else if (o.weight_decay != 0)
        g = g + T(o.weight_decay) * p;
    s0 = s0 * T(o.beta1) + T(1 - o.beta1) * g;
    s1 = s1 * T(o.beta2) + T(1 - o.beta2) * g * g;
    T v = s1;
    if (o.amsgrad) {
        s2 = nan_max(s2, s1);
        v = s2;
    }
    T denom = MARROW_MATH(sqrt)(v) / T(o.bias_correction2_sqrt) + T(o.eps);
    p = p + T(-o.step_size) * (s0 / denom);
}

}  // namespace math
}  // namespace marrow
