// Adam and AdamW with torch.optim's rules (torch/optim/adam.py and adamw.py, the single-tensor
// form that PyTorch runs on CPU tensors): bias correction, eps added outside the square root,
// optional AMSGrad and maximize. AdamW differs only in where weight decay goes: Adam adds
// weight_decay * p to the gradient (L2, which then passes through the adaptive scaling),
// AdamW shrinks the parameter first, p *= 1 - lr * weight_decay (decoupled, Loshchilov &
// Hutter), which is what DINO/DINOv2 train ViTs with (ssl_mil_spec.md 1.1).
//
//   nn::AdamW opt(nn::decay_groups(model.named_parameters()), {.lr = 5e-4, .weight_decay = 0.04});
#pragma once
#include "nn/optim.h"

namespace marrow::nn {

struct AdamOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0;  // Adam: L2 added to the gradient
    bool amsgrad = false;     // keep the running maximum of exp_avg_sq for the denominator
    bool maximize = false;
    bool fused = true;  // as SGDOptions::fused
};

// AdamW's defaults differ from Adam's only in weight_decay (torch: 1e-2).
struct AdamWOptions {
    double lr = 1e-3;
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 1e-2;  // decoupled: p *= 1 - lr * weight_decay before the update
    bool amsgrad = false;
    bool maximize = false;
    bool fused = true;
};

// Per parameter p with gradient g, at step t (counted per parameter from 1), in a group with
// lr and weight_decay wd:
//   g = maximize ? -g : g
//   Adam: g += wd p          AdamW: p *= 1 - lr wd
//   m = beta1 m + (1 - beta1) g           (m starts at 0)
//   v = beta2 v + (1 - beta2) g^2         (v starts at 0)
//   amsgrad: v_max = max(v_max, v), used for v below
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// State: "step" (int64 scalar on the CPU), "exp_avg", "exp_avg_sq", and "max_exp_avg_sq"
// with amsgrad: torch's names.
class Adam : public Optimizer {
public:
    explicit Adam(std::vector<Tensor> params, AdamOptions options = {});
    Adam(std::vector<ParamGroup> groups, AdamOptions options);
    void step() override;
    const AdamOptions& options() const { return options_; }

protected:
    Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled,
         std::string_view name);
    std::vector<std::string> state_names() const override;

private:
    AdamOptions options_;
    bool decoupled_;  // AdamW
};

class AdamW : public Adam {
public:
    explicit AdamW(std::vector<Tensor> params, AdamWOptions options = {});
    AdamW(std::vector<ParamGroup> groups, AdamWOptions options);
};

}  // namespace marrow::nn
