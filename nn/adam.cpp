// Adam / AdamW; see adam.h. PyTorch reference: torch/optim/adam.py (_single_tensor_adam),
// torch/optim/adamw.py.
#include "nn/adam.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tensor/ops/optim.h"

namespace marrow::nn {

namespace {

AdamOptions as_adam(const AdamWOptions& o) {
    return {.lr = o.lr,
            .beta1 = o.beta1,
            .beta2 = o.beta2,
            .eps = o.eps,
            .weight_decay = o.weight_decay,
            .amsgrad = o.amsgrad,
            .maximize = o.maximize,
            .fused = o.fused};
}

}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam(single_group(std::move(params)), options, false, "Adam") {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options)
    : Adam(std::move(groups), options, false, "Adam") {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled,
           std::string_view name)
    : Optimizer(std::move(groups), name, options.lr, options.weight_decay),
      options_(options),
      decoupled_(decoupled) {
    MARROW_CHECK(options.lr >= 0, "{}: invalid learning rate {}", name, options.lr);
    MARROW_CHECK(options.eps >= 0, "{}: invalid epsilon value {}", name, options.eps);
    MARROW_CHECK(options.beta1 >= 0 && options.beta1 < 1,
                 "{}: invalid beta parameter at index 0: {} (needs 0 <= beta1 < 1)", name,
                 options.beta1);
    MARROW_CHECK(options.beta2 >= 0 && options.beta2 < 1,
                 "{}: invalid beta parameter at index 1: {} (needs 0 <= beta2 < 1)", name,
                 options.beta2);
    MARROW_CHECK(options.weight_decay >= 0, "{}: invalid weight_decay value {}", name,
                 options.weight_decay);
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : Adam(single_group(std::move(params)), as_adam(options), true, "AdamW") {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options)
    : Adam(std::move(groups), as_adam(options), true, "AdamW") {}

std::vector<std::string> Adam::state_names() const {
    if (options_.amsgrad) return {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    return {"step", "exp_avg", "exp_avg_sq"};
}

void Adam::step() {
    autograd::NoGradGuard no_grad;
    const AdamOptions& o = options_;
    for_each_with_grad([&](size_t i, const Tensor& p, OptimizerGroup& group) {
        auto& st = state_[i];
        if (st.empty()) {
            st.emplace("step", scalar_tensor(0, DType::i64));
            st.emplace("exp_avg", zeros_like(p));
            st.emplace("exp_avg_sq", zeros_like(p));
            if (o.amsgrad) st.emplace("max_exp_avg_sq", zeros_like(p));
        }
        const Tensor& step_t = st.at("step");
        auto t = int64_t(step_t.item()) + 1;
        fill_(step_t, double(t));
        double lr = group.lr, wd = group.weight_decay;
        double bias_correction1 = 1 - std::pow(o.beta1, double(t));
        double bias_correction2 = 1 - std::pow(o.beta2, double(t));
        double step_size = lr / bias_correction1;
        double bias_correction2_sqrt = std::sqrt(bias_correction2);
        const Tensor& m = st.at("exp_avg");
        const Tensor& v = st.at("exp_avg_sq");
        Tensor g = p.grad();
        std::vector<Tensor> buffers = {m, v};
        if (o.amsgrad) buffers.push_back(st.at("max_exp_avg_sq"));
        if (o.fused && op::optim_step_supported(p, g, buffers)) {
            fused_update({.kind = OptimStep::adam,
                          .lr = lr,
                          .weight_decay = wd,
                          .maximize = o.maximize,
                          .beta1 = o.beta1,
                          .beta2 = o.beta2,
                          .eps = o.eps,
                          .step_size = step_size,
                          .bias_correction2_sqrt = bias_correction2_sqrt,
                          .amsgrad = o.amsgrad,
                          .decoupled = decoupled_},
                         p, g, buffers);
            return;
        }
        // The composite reference, op for op as torch 1.13's _single_tensor_adam.
        if (o.maximize) g = -g;
        if (decoupled_) {
            if (wd != 0) mul_(p, 1 - lr * wd);
        } else if (wd != 0) {
            g = g + wd * p;
        }
        mul_(m, o.beta1);  // torch 2 writes exp_avg.lerp_(g, 1 - beta1)
        add_(m, g, 1 - o.beta1);
        mul_(v, o.beta2);
        add_(v, g * g, 1 - o.beta2);
        Tensor second = v;
        if (o.amsgrad) {
            const Tensor& vmax = st.at("max_exp_avg_sq");
            copy_(vmax, maximum(vmax, v));
            second = vmax;
        }
        Tensor denom = sqrt(second) / bias_correction2_sqrt + o.eps;
        add_(p, m / denom, -step_size);  // torch: p.addcdiv_(exp_avg, denom, value=-step_size)
    });
}

}  // namespace marrow::nn
