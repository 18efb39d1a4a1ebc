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

void optim_step_(const OptimStepParams& params, const std::vector<Tensor>& ps,
                 const std::vector<Tensor>& gs, const std::vector<std::vector<Tensor>>& states) {
    MARROW_CHECK(ps.size() == gs.size() && ps.size() == states.size(),
                 "optim_step_: {} parameters, {} gradients and {} state lists", ps.size(),
                 gs.size(), states.size());
    if (ps.empty()) return;
    size_t needed =
        params.kind == OptimStep::sgd ? (params.momentum != 0 ? 1 : 0) : (params.amsgrad ? 3 : 2);
    std::vector<OptimTensors> tensors;
    for (size_t i = 0; i < ps.size(); ++i) {
        const Tensor& p = ps[i];
        const std::vector<Tensor>& state = states[i];
        MARROW_CHECK(state.size() == needed, "optim_step_: {} state tensors given, {} needed",
                     state.size(), needed);
        MARROW_CHECK(p.dtype() == DType::f32 || p.dtype() == DType::f64,
                     "optim_step_: parameter of shape {} is {}; the fused update takes float32 "
                     "or float64",
                     p.shape(), p.dtype());
        MARROW_CHECK(p.dtype() == ps[0].dtype() && p.device() == ps[0].device(),
                     "optim_step_: parameter {} is {} on {}, parameter 0 {} on {}; one update "
                     "takes one dtype and device",
                     i, p.dtype(), p.device(), ps[0].dtype(), ps[0].device());
        auto check = [&](const Tensor& t, const char* what) {
            MARROW_CHECK(t.is_contiguous() && t.shape() == p.shape() && t.dtype() == p.dtype() &&
                             t.device() == p.device(),
                         "optim_step_: {} (shape {}, {}, {}{}) must match the parameter (shape "
                         "{}, {}, {}, contiguous)",
                         what, t.shape(), t.dtype(), t.device(),
                         t.is_contiguous() ? "" : ", strided", p.shape(), p.dtype(), p.device());
        };
        check(p, "the parameter");
        check(gs[i], "the gradient");
        for (const Tensor& s : state) check(s, "a state tensor");
        tensors.push_back({p, gs[i], needed > 0 ? state[0] : p, needed > 1 ? state[1] : p,
                           needed > 2 ? state[2] : p});
    }
    kernel<OpId::optim_step>(ps[0].device(), "optim_step_")(params, tensors);
    for (size_t i = 0; i < ps.size(); ++i) {
        ps[i].bump_version();
        for (const Tensor& s : states[i]) s.bump_version();
    }
}

void optim_step_(const OptimStepParams& params, const Tensor& p, const Tensor& g,
                 const std::vector<Tensor>& state) {
    optim_step_(params, std::vector<Tensor>{p}, std::vector<Tensor>{g},
                std::vector<std::vector<Tensor>>{state});
}

}  // namespace marrow::op
