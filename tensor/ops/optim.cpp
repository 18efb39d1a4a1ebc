#include "tensor/ops/optim.h"

#include "tensor/dispatch.h"

namespace marrow::op {

bool optim_step_supported(const Tensor& p, const Tensor& g, const std::vector<Tensor>& state) {
    auto same = [&](const Tensor& t) {
        return t.is_contiguous() && t.shape() == p.shape() && t.dtype() == p.dtype() &&
               t.device() == p.device();
    };
    if (p.dtype() != DType::f32 && p.dtype() != DType::f64) return false;
    if (!same(p) || !same(g)) return false;
    for (const Tensor& s : state)
        if (!same(s)) return false;
    return true;
}

void optim_step_(const OptimStepParams& params, const Tensor& p, const Tensor& g,
                 const std::vector<Tensor>& state) {
    size_t needed =
        params.kind == OptimStep::sgd ? (params.momentum != 0 ? 1 : 0) : (params.amsgrad ? 3 : 2);
    MARROW_CHECK(state.size() == needed, "optim_step_: {} state tensors given, {} needed",
                 state.size(), needed);
    MARROW_CHECK(p.dtype() == DType::f32 || p.dtype() == DType::f64,
                 "optim_step_: parameter of shape {} is {}; the fused update takes float32 or "
                 "float64",
                 p.shape(), p.dtype());
    auto check = [&](const Tensor& t, const char* what) {
        MARROW_CHECK(t.is_contiguous() && t.shape() == p.shape() && t.dtype() == p.dtype() &&
                         t.device() == p.device(),
                     "optim_step_: {} (shape {}, {}, {}{}) must match the parameter (shape {}, "
                     "{}, {}, contiguous)",
                     what, t.shape(), t.dtype(), t.device(), t.is_contiguous() ? "" : ", strided",
                     p.shape(), p.dtype(), p.device());
    };
    check(p, "the parameter");
    check(g, "the gradient");
    for (const Tensor& s : state) check(s, "a state tensor");
    const Tensor& s0 = needed > 0 ? state[0] : p;
    const Tensor& s1 = needed > 1 ? state[1] : p;
    const Tensor& s2 = needed > 2 ? state[2] : p;
    kernel<OpId::optim_step>(p.device(), "optim_step_")(params, p, g, s0, s1, s2);
    p.bump_version();
    for (const Tensor& s : state) s.bump_version();
}

}  // namespace marrow::op
