// Layer-wise adaptive learning rates for large-batch self-supervised training
// (You, Gitman & Ginsburg 2017, arXiv:1708.03888): LARS as SimCLR runs it and LARC as SwAV /
// VISSL run it. The two are not equivalent (ssl_mil_spec.md 1.2): SimCLR puts the lr inside
// the momentum buffer and excludes biases and batch-norm parameters; LARC rescales the
// gradient (weight decay folded in) and then takes an ordinary torch SGD step.
//
//   // SimCLR: no decay and no trust ratio on biases and norm weights
//   nn::LARS opt(nn::decay_groups(model.named_parameters()),
//                {.lr = 0.3 * batch / 256, .momentum = 0.9, .weight_decay = 1e-6});
//   // SwAV: every parameter adapted, clip=false as main_swav.py
//   nn::LARC opt(model.parameters(), {.lr = 4.8, .momentum = 0.9, .weight_decay = 1e-6},
//                {.trust_coefficient = 1e-3, .clip = false});
#pragma once
#include "nn/optim.h"

namespace marrow::nn {

struct LARSOptions {
    double lr = 0.1;
    double momentum = 0.9;
    double weight_decay = 0;
    double eta = 1e-3;  // SimCLR's eeta: the trust coefficient
    bool nesterov = false;
    // DINO's LARS (facebookresearch/dino utils.LARS, from barlowtwins): the lr multiplies the
    // momentum buffer when it is applied, v = momentum v + trust g, w -= lr v (no nesterov).
    // Its exclusion of 1-D parameters is decay_groups' second group.
    bool lr_outside_momentum = false;
};

// google-research/simclr tf2/lars_optimizer.py with classic_momentum=True. Per parameter w
// with gradient g in a group with lr and weight_decay wd:
//   g += wd w                                   (groups with wd 0: excluded from decay)
//   trust = eta ||w|| / ||g|| if ||w|| > 0 and ||g|| > 0, else 1
//           (groups with layer_adaptation false: trust = 1)
//   v = momentum v + lr trust g                 (v starts at 0: the lr sits inside v)
//   w -= nesterov ? momentum v + lr trust g : v
// or, with lr_outside_momentum (DINO): v = momentum v + trust g, w -= lr v.
// A schedule that changes lr therefore affects only new contributions to v, as in SimCLR.
// State: "momentum_buffer". Exclusion (SimCLR: 'bias' and batch-norm variables) is by group:
// decay_groups(named_parameters(), predicate) makes the excluded group (wd 0, no adaptation).
class LARS : public Optimizer {
public:
    explicit LARS(std::vector<Tensor> params, LARSOptions options = {});
    LARS(std::vector<ParamGroup> groups, LARSOptions options);
    void step() override;
    const LARSOptions& options() const { return options_; }

protected:
    std::vector<std::string> state_names() const override { return {"momentum_buffer"}; }

private:
    LARSOptions options_;
};

struct LARCOptions {
    double trust_coefficient = 0.02;  // apex's default; SwAV passes 0.001
    bool clip = true;                 // apex's default; SwAV passes false
    double eps = 1e-8;
};

// NVIDIA apex apex/parallel/LARC.py (vendored by VISSL and SwAV) around torch SGD. Per
// parameter p with gradient g, in a group with lr and weight_decay wd, when ||p|| != 0 and
// ||g|| != 0:
//   a = trust_coefficient ||p|| / (||g|| + wd ||p|| + eps)
//   clip:  a = min(a / lr, 1)     (the effective lr, lr a, never exceeds lr)
//   g = (g + wd p) a
// otherwise g is left as it is and no weight decay applies. Then SGD's step with weight
// decay 0 (momentum, dampening, nesterov and maximize as SGD). Groups with layer_adaptation
// false take a plain SGD step with their weight decay. p.grad() itself is not modified
// (apex rescales it in place; the parameters come out the same). State: SGD's.
class LARC : public SGD {
public:
    LARC(std::vector<Tensor> params, SGDOptions sgd, LARCOptions options = {});
    LARC(std::vector<ParamGroup> groups, SGDOptions sgd, LARCOptions options);
    void step() override;
    const LARCOptions& larc_options() const { return larc_; }

private:
    LARCOptions larc_;
};

}  // namespace marrow::nn
