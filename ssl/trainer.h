// The self-supervised training loop shared by the four methods: per-iteration schedules
// (lr, weight decay, teacher momentum and temperature), gradient accumulation, clipping,
// frozen layers, the EMA teacher, monitors with a collapse warning, kNN accuracy per epoch,
// checkpoints with exact resume, and the exported backbone.
//
//   auto model = ssl::make_ssl_model(config);
//   data::ImageDataset views(cells, data::views_transform(ssl::view_recipe(config)));
//   ssl::ConsoleObserver observer;                      // or the app's progress bar
//   ssl::TrainingResult r = ssl::train(*model, views, {.run_dir = "runs/dino"}, observer);
//
// One iteration, in DINO's order (spec 5.3): set lr / wd / momentum / temperature for the
// iteration -> forward and loss (teacher then student; the loss moves the centers) -> check
// every loss term is finite (naming the step, the term and the tensors) -> backward (loss /
// accumulate, per micro-batch) -> clip -> drop frozen gradients -> optimizer step -> EMA.
// Data order depends only on (seed, micro-batch count), so a resumed run continues the
// epoch exactly where the checkpoint left it (tests/apps/ssl_resume_test.sh).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/loader.h"
#include "data/transforms.h"
#include "nn/optim.h"
#include "ssl/feature_extraction.h"
#include "ssl/ssl_model.h"

namespace marrow::ssl {

// The crops of config.views_name() at the config's sizes (local crops as configured; a
// DINOv2 run with one local crop makes none, as DinoBloom never uses it).
data::MultiCropSpec view_recipe(const SslConfig& config);

// What the loop tells its caller (progress bar, run record); every method has a default.
class TrainerObserver {
public:
    virtual ~TrainerObserver() = default;
    // An epoch starts with `first` of its `iterations` already done (a resumed run).
    virtual void epoch_begin(int64_t /*epoch*/, int64_t /*iterations*/, int64_t /*first*/) {}
    // After each optimizer step: the step's loss terms, lr, temperatures (one JSON object).
    virtual void step(int64_t /*iteration_in_epoch*/, const nlohmann::json& /*metrics*/) {}
    // After each epoch: the means over the epoch and the monitors (metrics.jsonl's line).
    virtual void epoch_end(const nlohmann::json& /*metrics*/) {}
    virtual void message(const std::string& /*text*/) {}
};

struct TrainerOptions {
    std::string run_dir = "";  // checkpoints/ and encoder.safetensors go here
    int workers = 2;
    bool resume = false;              // continue from run_dir/checkpoints' latest
    int64_t stop_after_steps = -1;    // stop (with a checkpoint) after this many steps in total
    int64_t checkpoint_every = 0;     // steps between checkpoints (0: each epoch's end only)
    int keep_checkpoints = 2;
    // The kNN monitor (none when null): the exported encoder's features of these labelled
    // images every knn_every epochs: 20-NN accuracy (knn_monitor in ssl/feature_extraction.h:
    // every 5th image a query).
    const ImageSource* knn_images = nullptr;
    int64_t knn_k = 20;
    int64_t knn_every = 1;
};

struct TrainingResult {
    int64_t steps = 0;
    bool finished = false;  // every epoch done (false: stop_after_steps)
    double seconds = 0;
    std::vector<nlohmann::json> epochs;  // each epoch's metrics, as logged
    std::vector<std::string> warnings;   // collapse warnings, in order
    std::string encoder_path;            // the exported backbone (when finished)
};

// The optimizer of the config (sgd | lars | larc | adamw) over the student's parameters:
// biases and norm weights without decay (and LARS trust ratio), except SwAV's LARC, which
// adapts and decays all, as main_swav.py.
std::unique_ptr<nn::Optimizer> make_optimizer(const SslConfig& config,
                                              const nn::NamedTensors& named_parameters);

// One optimizer step: config.accumulate micro-batches from next_views() (forward, finite
// check, backward of loss / accumulate), clipping, frozen gradients dropped, the update and
// the EMA. Returns the last micro-batch's loss.
StepLoss optimizer_step(SslModel& model, nn::Optimizer& optimizer,
                        const std::function<std::vector<Tensor>()>& next_views,
                        const StepContext& ctx);

TrainingResult train(SslModel& model, const data::Dataset& views, const TrainerOptions& options,
                     TrainerObserver& observer);

}  // namespace marrow::ssl
