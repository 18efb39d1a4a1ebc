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
    // The same step scalars: parameters that may share one multi-tensor update.
    bool operator==(const OptimStepParams&) const = default;
};

namespace math {

template <typename T>
MARROW_HOST_DEVICE inline T nan_max(T a, T b) {
    return a != a ? a : (b != b ? b : (a > b ? a : b));
}

// One element of each update. Flags are applied as selects rather than early returns, so the
// CPU loop (built with -fno-trapping-math) if-converts and vectorizes them. HasMomentum: the
// SGD step keeps a momentum buffer b (momentum != 0).
template <bool HasMomentum, typename T>
MARROW_HOST_DEVICE inline void sgd_step_element(const OptimStepParams& o, T& p, T g, T& b) {
    g = o.maximize ? -g : g;
    g = o.weight_decay != 0 ? g + T(o.weight_decay) * p : g;
    if constexpr (HasMomentum) {
        b = o.first ? g : b * T(o.momentum) + T(1 - o.dampening) * g;
        g = o.nesterov ? g + T(o.momentum) * b : b;
    }
    p = p + T(-o.lr) * g;
}

// m = exp_avg, v = exp_avg_sq, vmax = max_exp_avg_sq (AmsGrad only).
template <bool AmsGrad, typename T>
MARROW_HOST_DEVICE inline void adam_step_element(const OptimStepParams& o, T& p, T g, T& m, T& v,
                                                 T& vmax) {
    g = o.maximize ? -g : g;
    T decayed = p * T(1 - o.lr * o.weight_decay);
    p = o.decoupled ? decayed : p;
    g = !o.decoupled && o.weight_decay != 0 ? g + T(o.weight_decay) * p : g;
    m = m * T(o.beta1) + T(1 - o.beta1) * g;
    v = v * T(o.beta2) + T(1 - o.beta2) * g * g;
    T second = v;
    if constexpr (AmsGrad) {
        vmax = nan_max(vmax, v);
        second = vmax;
    }
    T denom = MARROW_MATH(sqrt)(second) / T(o.bias_correction2_sqrt) + T(o.eps);
    p = p + T(-o.step_size) * (m / denom);
}

// Dispatch on the kind and the flags that decide which state slots exist (sgd: s0 = momentum
// buffer; adam: s0 = exp_avg, s1 = exp_avg_sq, s2 = max_exp_avg_sq). Unused slots are not
// touched.
template <typename T>
MARROW_HOST_DEVICE inline void optim_step_element(const OptimStepParams& o, T& p, T g, T& s0, T& s1,
                                                  T& s2) {
    if (o.kind == OptimStep::sgd) {
        if (o.momentum != 0)
            sgd_step_element<true>(o, p, g, s0);
        else
            sgd_step_element<false>(o, p, g, s0);
    } else if (o.amsgrad) {
        adam_step_element<true>(o, p, g, s0, s1, s2);
    } else {
        adam_step_element<false>(o, p, g, s0, s1, s2);
    }
}

}  // namespace math
}  // namespace marrow
