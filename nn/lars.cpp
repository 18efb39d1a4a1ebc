// LARS (SimCLR) and LARC (apex, SwAV); see lars.h. The trust ratios are computed as device
// scalars with where(), so a step on CUDA parameters does not copy norms to the host.
#include "nn/lars.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace marrow::nn {

LARS::LARS(std::vector<Tensor> params, LARSOptions options)
    : LARS(single_group(std::move(params)), options) {}

LARS::LARS(std::vector<ParamGroup> groups, LARSOptions options)
    : Optimizer(std::move(groups), "LARS", options.lr, options.weight_decay), options_(options) {
    MARROW_CHECK(options.lr >= 0, "LARS: invalid learning rate {}", options.lr);
    MARROW_CHECK(options.momentum >= 0, "LARS: invalid momentum {}", options.momentum);
    MARROW_CHECK(options.weight_decay >= 0, "LARS: invalid weight_decay {}", options.weight_decay);
    MARROW_CHECK(options.eta > 0, "LARS: invalid eta {} (the trust coefficient must be > 0)",
                 options.eta);
    MARROW_CHECK(!(options.nesterov && options.lr_outside_momentum),
                 "LARS: nesterov is SimCLR's option; DINO's rule (lr_outside_momentum) has none");
}

void LARS::step() {
    autograd::NoGradGuard no_grad;
    const LARSOptions& o = options_;
    for_each_with_grad([&](size_t i, const Tensor& w, OptimizerGroup& group) {
        Tensor g = w.grad();
        if (group.weight_decay != 0) g = g + group.weight_decay * w;
        // scaled = lr * trust * g (DINO: trust * g), trust a 0-d tensor (1 where either norm
        // is 0).
        Tensor scaled = o.lr_outside_momentum ? g : group.lr * g;
        if (group.layer_adaptation) {
            Tensor wn = norm(w), gn = norm(g);
            Tensor trust =
                where(logical_and(gt(wn, 0.0), gt(gn, 0.0)), o.eta * wn / gn, ones_like(wn));
            scaled = scaled * trust;
        }
        auto& st = state_[i];
        auto it = st.find("momentum_buffer");
        if (it == st.end()) it = st.emplace("momentum_buffer", zeros_like(w)).first;
        const Tensor& v = it->second;
        mul_(v, o.momentum);
        add_(v, scaled);
        if (o.lr_outside_momentum)
            add_(w, v, -group.lr);
        else if (o.nesterov)
            add_(w, o.momentum * v + scaled, -1);
        else
            add_(w, v, -1);
    });
}

LARC::LARC(std::vector<Tensor> params, SGDOptions sgd, LARCOptions options)
    : LARC(single_group(std::move(params)), sgd, options) {}

LARC::LARC(std::vector<ParamGroup> groups, SGDOptions sgd, LARCOptions options)
    : SGD(std::move(groups), sgd), larc_(options) {
    MARROW_CHECK(options.trust_coefficient > 0, "LARC: invalid trust_coefficient {}",
                 options.trust_coefficient);
    MARROW_CHECK(options.eps >= 0, "LARC: invalid eps {}", options.eps);
}

void LARC::step() {
    autograd::NoGradGuard no_grad;
    const LARCOptions& o = larc_;
    for_each_with_grad([&](size_t i, const Tensor& p, OptimizerGroup& group) {
        Tensor g = p.grad();
        if (!group.layer_adaptation) {
            sgd_update(i, p, g, group.lr, group.weight_decay);
            return;
        }
        double wd = group.weight_decay;
        Tensor pn = norm(p), gn = norm(g);
        Tensor adaptive = o.trust_coefficient * pn / (gn + pn * wd + o.eps);
        if (o.clip) adaptive = minimum(adaptive / group.lr, ones_like(adaptive));
        Tensor adapt = logical_and(ne(pn, 0.0), ne(gn, 0.0));
        Tensor scaled = wd != 0 ? (g + wd * p) * adaptive : g * adaptive;
        sgd_update(i, p, where(adapt, scaled, g), group.lr, 0.0);
    });
}

}  // namespace marrow::nn
