// GradScaler; see grad_scaler.h. Reference: torch 1.13 torch/cuda/amp/grad_scaler.py and
// the update rule of aten/src/ATen/native/cuda/AmpKernels.cu (_amp_update_scale_).
#include "nn/grad_scaler.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace marrow::nn {

GradScaler::GradScaler(GradScalerOptions options)
    : options_(options), scale_(float(options.init_scale)) {
    MARROW_CHECK(options.growth_factor > 1.0, "GradScaler: growth_factor must be > 1, got {}",
                 options.growth_factor);
    MARROW_CHECK(options.backoff_factor < 1.0 && options.backoff_factor > 0.0,
                 "GradScaler: backoff_factor must be in (0, 1), got {}", options.backoff_factor);
    MARROW_CHECK(options.growth_interval > 0, "GradScaler: growth_interval must be > 0, got {}",
                 options.growth_interval);
}

Tensor GradScaler::scale(const Tensor& loss) const {
    if (!options_.enabled) return loss;
    return loss * double(scale_);
}

void GradScaler::unscale_(Optimizer& opt) {
    if (!options_.enabled) return;
    PerOptimizer& state = per_optimizer_[&opt];
    MARROW_CHECK(!state.unscaled,
                 "GradScaler::unscale_: already called on this optimizer ({}) since the last "
                 "update()",
                 opt.name());
    MARROW_CHECK(!state.stepped,
                 "GradScaler::unscale_: called after step() on this optimizer ({}) since the "
                 "last update()",
                 opt.name());
    autograd::NoGradGuard no_grad;
    // torch: inv_scale = scale.double().reciprocal().float(); non-finite is checked on the
    // scaled gradient, then it is multiplied in place. g * 0 is NaN exactly where g is inf or
    // NaN, so one sum per gradient finds them.
    double inv_scale = double(float(1.0 / double(scale_)));
    bool found = false;
    for (const Tensor& p : opt.parameters()) {
        if (!p.has_grad()) continue;
        Tensor g = p.grad();
        found = std::isnan(sum(g * 0.0).item()) || found;
        mul_(g, inv_scale);
    }
    state.found_inf = found;
    state.unscaled = true;
}

bool GradScaler::step(Optimizer& opt) {
    if (!options_.enabled) {
        opt.step();
        return true;
    }
    PerOptimizer& state = per_optimizer_[&opt];
    MARROW_CHECK(!state.stepped,
                 "GradScaler::step: already called on this optimizer ({}) since the last update()",
                 opt.name());
    if (!state.unscaled) unscale_(opt);
    PerOptimizer& after = per_optimizer_[&opt];
    after.stepped = true;
    if (after.found_inf) return false;
    opt.step();
    return true;
}

void GradScaler::update() {
    if (!options_.enabled) return;
    MARROW_CHECK(!per_optimizer_.empty(),
                 "GradScaler::update: no inf checks were recorded prior to update() (call "
                 "step() or unscale_() first)");
    bool found_inf = false;
    for (const auto& [opt, state] : per_optimizer_) found_inf = found_inf || state.found_inf;
    if (found_inf) {
        scale_ = float(double(scale_) * options_.backoff_factor);
        growth_tracker_ = 0;
    } else if (growth_tracker_ + 1 == options_.growth_interval) {
        float grown = float(double(scale_) * options_.growth_factor);
        if (std::isfinite(grown)) scale_ = grown;  // never grow past float32's range
        growth_tracker_ = 0;
    } else {
        ++growth_tracker_;
    }
    per_optimizer_.clear();
}

void GradScaler::update(double new_scale) {
    if (!options_.enabled) return;
    scale_ = float(new_scale);
    per_optimizer_.clear();
}

std::map<std::string, Tensor> GradScaler::state() const {
    if (!options_.enabled) return {};
    return {{"scale", scalar_tensor(double(scale_), DType::f32)},
            {"growth_factor", scalar_tensor(options_.growth_factor, DType::f64)},
            {"backoff_factor", scalar_tensor(options_.backoff_factor, DType::f64)},
            {"growth_interval", scalar_tensor(double(options_.growth_interval), DType::i64)},
            {"_growth_tracker", scalar_tensor(double(growth_tracker_), DType::i64)}};
}

void GradScaler::load_state(const std::map<std::string, Tensor>& state) {
    MARROW_CHECK(!state.empty(),
                 "GradScaler::load_state: the state is empty (saved from a disabled scaler)");
    for (const char* key :
         {"scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker"})
        MARROW_CHECK(state.count(key), "GradScaler::load_state: missing key '{}'", key);
    scale_ = float(state.at("scale").item());
    options_.growth_factor = state.at("growth_factor").item();
    options_.backoff_factor = state.at("backoff_factor").item();
    options_.growth_interval = int64_t(state.at("growth_interval").item());
    growth_tracker_ = int64_t(state.at("_growth_tracker").item());
}

}  // namespace marrow::nn
