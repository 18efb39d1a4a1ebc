// One self-supervised method as a module: the student (backbone + head), the teacher where
// the method has one, and the loss's own state (DINO's centers, SwAV's queue), so that
// state_dict() is the whole of what a checkpoint must hold and its keys follow the upstream
// checkpoints ("student.backbone.layer1.0.conv1.weight", "teacher.head.mlp.0.weight",
// "dino_loss.center", "queue").
//
// The trainer (ssl/trainer.h) drives every method through the same five calls, in DINO's
// order of an iteration (spec 5.3):
//   model.before_forward(ctx);            // SwAV: prototypes renormalized
//   StepLoss out = model.forward_loss(views, ctx);
//   out.total.backward();  [accumulate, clip]
//   model.before_optimizer_step(ctx);     // frozen last layer / prototypes lose their grads
//   optimizer.step();
//   model.after_optimizer_step(ctx);      // the teacher's EMA
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"
#include "ssl/config.h"
#include "ssl/encoder.h"
#include "tensor/random.h"

namespace marrow::ssl {

// Where the run is, and the scheduled values the loss needs at this iteration.
struct StepContext {
    int64_t iteration = 0;  // optimizer steps taken so far (global)
    int64_t epoch = 0;
    double teacher_temp = 0.04;
    double teacher_momentum = 0.996;
    Generator* generator = nullptr;  // the model's (masks, drop path)
};

struct StepLoss {
    Tensor total;  // 0-d, differentiable
    // The weighted terms that make up total, by name ("dino", "koleo", "ibot", ...),
    // detached: logged, and named when one is not finite.
    std::vector<std::pair<std::string, Tensor>> terms;
    // For the monitors, detached: the student backbone's features of the first global view
    // (B, D), and the teacher's targets (rows, K) when the method has them.
    Tensor features;
    std::optional<Tensor> targets = std::nullopt;
    int64_t classes = 0;  // K of the softmax the loss is taken over (ln K: the collapse level)
};

class SslModel : public nn::Module {
public:
    using nn::Module::Module;
    // views: the batch's crops, global first (each (B, C, S, S); equal sizes run together).
    virtual StepLoss forward_loss(const std::vector<Tensor>& views, const StepContext& ctx) = 0;
    virtual void before_forward(const StepContext&) {}
    virtual void before_optimizer_step(const StepContext&) {}
    virtual void after_optimizer_step(const StepContext&) {}
    // What the optimizer updates (the student's parameters, by their names under this module).
    virtual nn::NamedTensors student_parameters() const = 0;
    // The encoder to keep for downstream use: DINO's teacher, SimCLR's/SwAV's only backbone.
    virtual Encoder& export_encoder() = 0;
    virtual Encoder& student_encoder() = 0;
    const SslConfig& config() const { return config_; }
    // Draws the initialization, drop path and DINOv2's masks: seeded with config.seed, its
    // state saved in checkpoints, so a resumed run continues the same stream.
    Generator& generator() { return generator_; }

protected:
    // Derived constructors call this first.
    void set_config(const SslConfig& config) {
        config_ = config;
        generator_.manual_seed(config.seed);
    }
    SslConfig config_;
    Generator generator_;
};

std::unique_ptr<SslModel> make_ssl_model(const SslConfig& config);

// Loads an encoder file or a published checkpoint (ssl/encoder.h load_encoder, with the
// model's arch) into the student's backbone and, for DINO / DINOv2, the teacher's: DinoBloom
// continues DINOv2's pre-training this way. Every missing or mis-shaped key is an error.
void initialize_backbones(SslModel& model, const std::string& path);

// DINO's MultiCropWrapper forward: consecutive views of equal resolution are concatenated
// and run through `backbone` together, then the outputs are concatenated in view order:
// ((sum of the views' B), D).
Tensor forward_crops(nn::Layer& backbone, const std::vector<Tensor>& views, size_t begin,
                     size_t end);

}  // namespace marrow::ssl
