// Optimizer base (groups, state by name, exact restore) and SGD; see optim.h. PyTorch
// reference: torch/optim/optimizer.py (param_groups, state_dict), torch/optim/sgd.py
// (_single_tensor_sgd).
#include "nn/optim.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tensor/ops/optim.h"

namespace marrow::nn {

bool no_weight_decay(const std::string& name, const Tensor& param) {
    return param.dim() <= 1 || name.ends_with(".bias");
}

std::vector<ParamGroup> decay_groups(
    const std::vector<std::pair<std::string, Tensor>>& named_params,
    const std::function<bool(const std::string&, const Tensor&)>& exclude) {
    ParamGroup regularized, not_regularized;
    not_regularized.weight_decay = 0.0;
    not_regularized.layer_adaptation = false;
    for (const auto& [name, p] : named_params) {
        if (!p.requires_grad()) continue;  // frozen (DINO skips them too)
        (exclude(name, p) ? not_regularized : regularized).params.push_back(p);
    }
    return {std::move(regularized), std::move(not_regularized)};
}

std::vector<ParamGroup> single_group(std::vector<Tensor> params) {
    std::vector<ParamGroup> groups(1);
    groups[0].params = std::move(params);
    return groups;
}

Optimizer::Optimizer(std::vector<ParamGroup> groups, std::string_view name, double default_lr,
                     double default_weight_decay)
    : name_(name) {
    for (size_t g = 0; g < groups.size(); ++g) {
        ParamGroup& in = groups[g];
        double lr = in.lr.value_or(default_lr);
        double wd = in.weight_decay.value_or(default_weight_decay);
        MARROW_CHECK(lr >= 0, "{}: invalid learning rate {} (group {})", name, lr, g);
        MARROW_CHECK(wd >= 0, "{}: invalid weight_decay {} (group {})", name, wd, g);
        for (const Tensor& p : in.params) params_.push_back(p);
        groups_.push_back({std::move(in.params), lr, wd, in.layer_adaptation.value_or(true)});
    }
    MARROW_CHECK(!params_.empty(), "{}: got an empty parameter list", name);
    for (size_t i = 0; i < params_.size(); ++i) {
        const Tensor& p = params_[i];
        MARROW_CHECK(is_floating(p.dtype()),
                     "{}: parameter {} must be floating point, got {} (shape {})", name, i,
                     p.dtype(), p.shape());
        MARROW_CHECK(p.is_leaf(),
                     "{}: parameter {} (shape {}) is not a leaf tensor: it was computed by an "
                     "op; optimize the tensor it came from, or detach() it",
                     name, i, p.shape());
        for (size_t j = 0; j < i; ++j)
            MARROW_CHECK(!params_[j].is_same(p),
                         "{}: parameter {} is listed twice (also as {}; a parameter belongs to "
                         "one group)",
                         name, i, j);
    }
    state_.resize(params_.size());
}

void Optimizer::zero_grad() {
    for (const Tensor& p : params_) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
    MARROW_CHECK(lr >= 0, "{}: invalid learning rate {}", name_, lr);
    for (OptimizerGroup& g : groups_) g.lr = lr;
}

std::map<std::string, Tensor> Optimizer::state() const {
    std::map<std::string, Tensor> out;
    for (size_t i = 0; i < state_.size(); ++i)
        for (const auto& [key, t] : state_[i]) out.emplace(fmt::format("{}.{}", i, key), t);
    for (size_t g = 0; g < groups_.size(); ++g) {
        out.emplace(fmt::format("param_groups.{}.lr", g), scalar_tensor(groups_[g].lr, DType::f64));
        out.emplace(fmt::format("param_groups.{}.weight_decay", g),
                    scalar_tensor(groups_[g].weight_decay, DType::f64));
    }
    return out;
}

void Optimizer::load_state(const std::map<std::string, Tensor>& state) {
    const std::vector<std::string> names = state_names();
    std::vector<std::map<std::string, Tensor>> restored(params_.size());
    std::vector<std::pair<double, double>> group_values(groups_.size());
    std::set<std::string> used;

    // Group hyperparameters: required, float scalars.
    for (size_t g = 0; g < groups_.size(); ++g) {
        for (const char* field : {"lr", "weight_decay"}) {
            std::string key = fmt::format("param_groups.{}.{}", g, field);
            auto it = state.find(key);
            MARROW_CHECK(it != state.end(), "{}.load_state: missing entry \"{}\"", name_, key);
            MARROW_CHECK(it->second.numel() == 1,
                         "{}.load_state: entry \"{}\" must hold one number, got shape {}", name_,
                         key, it->second.shape());
            double v = it->second.item();
            (field[0] == 'l' ? group_values[g].first : group_values[g].second) = v;
            used.insert(key);
        }
    }
    // Per-parameter entries: all of this optimizer's names, or none.
    for (size_t i = 0; i < params_.size(); ++i) {
        const Tensor& p = params_[i];
        std::vector<std::string> present, missing;
        for (const std::string& n : names)
            (state.count(fmt::format("{}.{}", i, n)) ? present : missing).push_back(n);
        if (present.empty()) continue;  // never stepped
        MARROW_CHECK(missing.empty(),
                     "{}.load_state: parameter {} (shape {}) has \"{}.{}\" but misses \"{}.{}\"",
                     name_, i, p.shape(), i, present[0], i, missing[0]);
        for (const std::string& n : names) {
            std::string key = fmt::format("{}.{}", i, n);
            const Tensor& t = state.at(key);
            used.insert(key);
            if (n == "step") {
                MARROW_CHECK(t.numel() == 1 && !is_floating(t.dtype()) && t.dtype() != DType::b8,
                             "{}.load_state: \"{}\" must be one integer, got {} of shape {}", name_,
                             key, t.dtype(), t.shape());
                restored[i].emplace(n, clone(reshape(to(to(t, Device::cpu()), DType::i64), {})));
                continue;
            }
            MARROW_CHECK(t.shape() == p.shape() && t.dtype() == p.dtype(),
                         "{}.load_state: \"{}\" has shape {} ({}), but parameter {} has shape {} "
                         "({})",
                         name_, key, t.shape(), t.dtype(), i, p.shape(), p.dtype());
            restored[i].emplace(
                n, clone(to(t, p.device())));  // a copy: the caller's tensor stays its own
        }
    }
    for (const auto& [key, t] : state)
        MARROW_CHECK(used.count(key),
                     "{}.load_state: unexpected entry \"{}\" (this optimizer has {} parameters in "
                     "{} groups and keeps [{}] per parameter)",
                     name_, key, params_.size(), groups_.size(), fmt::join(names, ", "));
    // All checked: commit.
    for (size_t g = 0; g < groups_.size(); ++g) {
        MARROW_CHECK(group_values[g].first >= 0 && group_values[g].second >= 0,
                     "{}.load_state: group {} has lr {} and weight_decay {}", name_, g,
                     group_values[g].first, group_values[g].second);
    }
    for (size_t g = 0; g < groups_.size(); ++g) {
        groups_[g].lr = group_values[g].first;
        groups_[g].weight_decay = group_values[g].second;
    }
    state_ = std::move(restored);
}

// ---- SGD

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(single_group(std::move(params)), options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions options)
    : Optimizer(std::move(groups), "SGD", options.lr, options.weight_decay), options_(options) {
    MARROW_CHECK(options.lr >= 0, "SGD: invalid learning rate {}", options.lr);
    MARROW_CHECK(options.momentum >= 0, "SGD: invalid momentum {}", options.momentum);
    MARROW_CHECK(options.weight_decay >= 0, "SGD: invalid weight_decay {}", options.weight_decay);
    MARROW_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0),
                 "SGD: nesterov momentum needs momentum > 0 and dampening = 0 (got momentum "
                 "{}, dampening {})",
                 options.momentum, options.dampening);
}

std::vector<std::string> SGD::state_names() const {
    if (options_.momentum == 0) return {};
    return {"momentum_buffer"};
}

void Optimizer::fused_update(const OptimStepParams& params, const Tensor& p, const Tensor& g,
                             std::vector<Tensor> state) {
    if (!fused_.ps.empty() && (!(params == fused_.params) ||
                               p.dtype() != fused_.ps[0].dtype() ||
                               p.device() != fused_.ps[0].device()))
        flush_fused();
    fused_.params = params;
    fused_.ps.push_back(p);
    fused_.gs.push_back(g);
    fused_.states.push_back(std::move(state));
}

void Optimizer::flush_fused() {
    if (fused_.ps.empty()) return;
    op::optim_step_(fused_.params, fused_.ps, fused_.gs, fused_.states);
    fused_.ps.clear();
    fused_.gs.clear();
    fused_.states.clear();
}

void SGD::sgd_update(size_t index, const Tensor& p, Tensor g, double lr, double weight_decay) {
    const SGDOptions& o = options_;
    auto& st = state_[index];
    auto it = st.find("momentum_buffer");
    bool first = o.momentum != 0 && it == st.end();
    if (o.fused) {
        std::vector<Tensor> buffers;
        if (o.momentum != 0) buffers.push_back(first ? empty_like(p) : it->second);
        if (op::optim_step_supported(p, g, buffers)) {
            fused_update({.kind = OptimStep::sgd,
                          .lr = lr,
                          .weight_decay = weight_decay,
                          .maximize = o.maximize,
                          .momentum = o.momentum,
                          .dampening = o.dampening,
                          .nesterov = o.nesterov,
                          .first = first},
                         p, g, buffers);
            if (first) st.emplace("momentum_buffer", buffers[0]);
            return;
        }
    }
    // The composite reference, op for op as torch's _single_tensor_sgd.
    if (o.maximize) g = -g;
    if (weight_decay != 0) g = g + weight_decay * p;
    if (o.momentum != 0) {
        if (first) {
            it = st.emplace("momentum_buffer", clone(g)).first;  // starts at g (PyTorch)
        } else {
            mul_(it->second, o.momentum);
            add_(it->second, g, 1 - o.dampening);
        }
        g = o.nesterov ? g + o.momentum * it->second : it->second;
    }
    add_(p, g, -lr);
}

void SGD::step() {
    autograd::NoGradGuard no_grad;
    for_each_with_grad([&](size_t i, const Tensor& p, OptimizerGroup& group) {
        sgd_update(i, p, p.grad(), group.lr, group.weight_decay);
    });
}

}  // namespace marrow::nn
