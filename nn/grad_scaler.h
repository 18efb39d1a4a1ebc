// Dynamic loss scaling for float16 training: torch.cuda.amp.GradScaler's semantics and
// defaults (torch 1.13, torch/cuda/amp/grad_scaler.py), on any device.
//
//   nn::GradScaler scaler;                         // init_scale 2^16
//   scaler.scale(loss).backward();                 // gradients of loss * scale
//   scaler.unscale_(opt);                          // optional: before clipping
//   scaler.step(opt);                              // skipped if any gradient is inf / NaN
//   scaler.update();                               // backoff on inf, growth after 2000 clean
//
// The scale is a float32 value on the host (torch keeps a device tensor; the inf check
// brings one number back either way, torch's step() syncs on it too). Gradients are
// unscaled in place by multiplying with float32(1 / double(scale)), as torch does, and
// checked for non-finite values *before* unscaling (torch's check-and-unscale kernel).
// With enabled = false every call is a pass-through (scale() returns the loss, step()
// steps), as torch's.
#pragma once
#include <map>
#include <string>

#include "nn/optim.h"

namespace marrow::nn {

struct GradScalerOptions {
    double init_scale = 65536.0;  // 2^16
    double growth_factor = 2.0;
    double backoff_factor = 0.5;
    int64_t growth_interval = 2000;
    bool enabled = true;
};

class GradScaler {
public:
    explicit GradScaler(GradScalerOptions options = {});

    // loss * scale (the loss itself when disabled).
    Tensor scale(const Tensor& loss) const;
    // Divides the gradients of `opt`'s parameters by the scale in place and records whether
    // any was inf / NaN. At most once per optimizer between update()s (as torch: an error).
    void unscale_(Optimizer& opt);
    // Unscales first unless unscale_ ran, then opt.step() unless an inf / NaN gradient was
    // found. Returns whether the step ran. At most once per optimizer between update()s.
    bool step(Optimizer& opt);
    // The scale for the next iteration: times backoff_factor if any optimizer stepped since
    // the last update() found inf / NaN (tracker reset), else the clean-step tracker grows
    // and at growth_interval the scale is multiplied by growth_factor (unless that overflows
    // float32) and the tracker resets. Needs at least one unscale_/step since the last update.
    void update();
    // Sets the scale directly (torch's update(new_scale)); the tracker is unchanged.
    void update(double new_scale);

    double get_scale() const { return options_.enabled ? double(scale_) : 1.0; }
    int64_t growth_tracker() const { return growth_tracker_; }
    bool is_enabled() const { return options_.enabled; }
    const GradScalerOptions& options() const { return options_; }

    // torch's state_dict(): "scale" (float32), "growth_factor", "backoff_factor" (float64),
    // "growth_interval", "_growth_tracker" (int64), all CPU scalars; empty when disabled.
    std::map<std::string, Tensor> state() const;
    // Restores state(); a missing key is an error naming it (an empty map is an error too:
    // it came from a disabled scaler).
    void load_state(const std::map<std::string, Tensor>& state);

private:
    struct PerOptimizer {
        bool unscaled = false, stepped = false, found_inf = false;
    };
    GradScalerOptions options_;
    float scale_;
    int64_t growth_tracker_ = 0;
    std::map<const Optimizer*, PerOptimizer> per_optimizer_;
};

}  // namespace marrow::nn
