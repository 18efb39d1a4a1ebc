// Every hyperparameter of a self-supervised run, in one struct, with the seeds' recipes as
// named presets. The config is what run.json records and what a checkpoint carries, so a run
// can be reproduced (or resumed) from either. Values, sources and choices:
// ../shared/reference/ssl_mil_spec.md sections 3-6 and 14b.
//
//   ssl::SslConfig c = ssl::preset("seed000-dino");
//   c.epochs = 20;  c.batch_size = 64;
//   c.validate();                                  // names every bad field
//   nlohmann::json j = c;  ssl::SslConfig back = j;  // run.json / checkpoint round trip
#pragma once
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/models/resnet.h"
#include "ssl/method.h"

namespace marrow::ssl {

// How the teacher's targets are made balanced (DINO: centering; DINOv2 may use
// Sinkhorn-Knopp); `none` exists for the collapse test (spec 5.2: without centering the
// teacher collapses to one dimension).
enum class Centering { center, sinkhorn_knopp, none };

// How the base lr is scaled with the total batch: DINO/SwAV/SimCLR linear (lr x B / 256),
// SimCLR's sqrt (lr x sqrt(B), its rule for small batches), DINOv2 sqrt_wrt_1024
// (lr x sqrt(B / 1024)), none: as given.
enum class LrScaling { linear, sqrt, sqrt_wrt_1024, none };

struct SslConfig {
    Method method = Method::dino;

    // ---- encoder (ssl/encoder.h builds it)
    std::string arch = "resnet18";  // resnet18|resnet34|resnet50|vit_small|vit_base|vit_large
    int64_t patch_size = 16;        // ViTs
    // ResNet: imagenet, or the 28-32 px stems small / small_pool (nn/models/resnet.h). Files
    // written before it was one field hold small_input / small_input_pool: still read.
    nn::models::ResNetStem stem = nn::models::ResNetStem::imagenet;
    double drop_path_rate = 0.1;    // student ViT only (the teacher has none)

    // ---- views (data/transforms.h recipes; crops grouped by resolution in the forward)
    std::string views = "";  // simclr|swav|dino|dinobloom; "" = the method's own
    int64_t global_size = 224;
    int64_t local_size = 96;
    int64_t local_crops = 8;  // DINO 8, SwAV 6, SimCLR/DinoBloom 0
    // The global crops' area fraction range; {0, 0} keeps the recipe's (SimCLR 0.08-1, DINO
    // 0.4-1, SwAV 0.14-1, DinoBloom 0.32-1). Raising the minimum keeps a small object (a
    // white cell in a field of red ones) in most crops.
    std::array<double, 2> global_scale = {0, 0};
    // Multiplies every view's colour jitter (brightness, contrast, saturation, hue; hue at most
    // 0.5): SimCLR's s. On the synthetic cohort's three sites SimCLR's AMiL macro F1 went
    // 0.624 / 0.824 / 0.849 / 0.698 at 0.5 / 1 / 1.5 / 2; 1 vs 1.5 is within the spread of the
    // encoder's seed (docs/experiments/mil.md).
    double color_strength = 1.0;
    // Every view also flips vertically (p 0.5) and turns by 90, 180 or 270 degrees (p 0.5),
    // DinoBloom's additions for smears, where a cell has no up (the dinobloom views have them).
    bool cell_rotations = false;

    // ---- optimization (per-iteration schedules; epochs of `epoch_length` iterations when
    // > 0, as DINOv2's OFFICIAL_EPOCH_LENGTH, else one pass over the data)
    int64_t epochs = 100;
    int64_t epoch_length = 0;
    int64_t batch_size = 64;
    int64_t accumulate = 1;           // micro-batches per optimizer step
    std::string optimizer = "adamw";  // sgd|lars|larc|adamw
    double lr = 5e-4;                 // base lr, scaled by lr_scaling with batch x accumulate
    LrScaling lr_scaling = LrScaling::linear;
    double min_lr = 1e-6;
    double warmup_epochs = 10;
    double start_warmup_lr = 0;
    double weight_decay = 0.04;  // cosine from weight_decay to weight_decay_end (group 0 only)
    double weight_decay_end = 0.4;
    double momentum = 0.9;       // sgd / lars / larc
    double larc_trust = 1e-3;    // LARC / LARS trust coefficient
    double clip_grad = 3.0;      // DINO's per-parameter clip; 0: none
    int64_t freeze_last_layer_epochs = 1;  // DINO head's last layer gets no update
    bool autocast_bf16 = false;

    // ---- heads
    std::vector<int64_t> projection = {2048, 128};  // SimCLR/SwAV MLP widths after the encoder
    int64_t out_dim = 65536;      // DINO K / SwAV prototypes
    int64_t head_hidden = 2048;   // DINO head
    int64_t bottleneck = 256;
    int64_t head_layers = 3;
    bool norm_last_layer = true;
    bool head_batch_norm = false;

    // ---- SimCLR
    double temperature = 0.1;

    // ---- SwAV
    double sinkhorn_epsilon = 0.05;
    int64_t sinkhorn_iterations = 3;
    int64_t queue_length = 0;  // embeddings per assign crop; 0: no queue
    int64_t queue_start_epoch = 15;
    int64_t freeze_prototypes_iters = 313;

    // ---- DINO / DINOv2
    double student_temp = 0.1;
    double warmup_teacher_temp = 0.04;
    double teacher_temp = 0.04;
    double warmup_teacher_temp_epochs = 0;
    bool teacher_temp_per_iteration = false;  // DINOv2: per iteration; DINO: per epoch
    double center_momentum = 0.9;
    double momentum_teacher = 0.996;  // cosine to 1 per iteration
    Centering centering = Centering::center;
    double koleo_weight = 0.1;
    double ibot_weight = 1.0;
    double mask_probability = 0.5;
    std::array<double, 2> mask_ratio = {0.1, 0.5};
    bool separate_ibot_head = false;

    uint64_t seed = 0;

    // The recipe's views name ("" resolved) and the effective peak lr.
    std::string views_name() const;
    double scaled_lr() const;
    // An Error listing every invalid field (name, value, allowed range).
    void validate() const;
};

// "seed000-simclr", "seed000-swav", "seed000-dino" (SSL-MIL paper, seed 000 section 4.2 and
// the reference repos for what it leaves out), "dinobloom-s" (DinoBloom's custom.yaml on
// ViT-S/14). Unknown names are an error listing the presets.
SslConfig preset(const std::string& name);
std::vector<std::string> preset_names();
// The defaults of a method alone (the upstream repos' argparse defaults, resolved for one
// device), used when no preset is given.
SslConfig method_defaults(Method method);

// The app's resolution: a preset (or a method's defaults; dino when neither is given), then
// `--set key=value` overrides, each value parsed as JSON (a bare word is a string:
// centering=none). A method that contradicts the preset is an error.
SslConfig resolve_config(const std::string& preset_name, const std::string& method,
                         const std::vector<std::string>& overrides);

void to_json(nlohmann::json& j, const SslConfig& c);
// Unknown keys are an error naming them (a typo must not silently fall back to a default).
void from_json(const nlohmann::json& j, SslConfig& c);

}  // namespace marrow::ssl
