// Supervised image classification, shared by the apps that train a classifier (the
// Fashion-MNIST demo now; the supervised baselines later): SGD with Nesterov momentum, no
// weight decay on biases and norms, per-iteration warm-up + cosine, a progress bar, one
// metrics line per epoch, checkpoints every N steps and at the end, and exact resume.
//
// It lives beside the apps rather than in nn/ because it drives data/'s loader (nn/ sits
// below data/ in ARCHITECTURE.md's layering).
#pragma once
#include <cstdint>
#include <string>

#include "apps/run_record.h"
#include "data/loader.h"
#include "nn/module.h"

namespace marrow::apps {

struct ClassifierTrainingOptions {
    int64_t epochs = 10;
    int64_t batch_size = 128;
    double lr = 0.1;  // peak, after warm-up; scaled as given (no batch-size rule)
    double momentum = 0.9;
    double weight_decay = 5e-4;
    int64_t warmup_steps = 100;
    int workers = 2;
    uint64_t seed = 0;
    int64_t stop_after_steps = -1;  // stop (with a checkpoint) after this many steps in total
    int64_t checkpoint_every = 0;   // steps between checkpoints (0: only the last one)
    int keep_checkpoints = 2;
    bool resume = false;            // continue from <run dir>/checkpoints' latest
};

struct ClassifierTrainingResult {
    double test_accuracy = 0;
    int64_t steps = 0;
    double seconds = 0;
    bool finished = false;  // all epochs done (false: stopped by stop_after_steps)
};

// Trains `model` (logits (N, classes)) on `train`, reports accuracy on `test` after each
// epoch, and writes metrics and checkpoints into `record`'s run directory.
ClassifierTrainingResult train_classifier(nn::Layer& model, const data::Dataset& train,
                                          const data::Dataset& test,
                                          const ClassifierTrainingOptions& options,
                                          RunRecord& record);

// Top-1 accuracy of `model` in eval mode over a dataset (no augmentation is the dataset's job).
double evaluate_accuracy(nn::Layer& model, const data::Dataset& dataset, int64_t batch_size,
                         int workers);

}  // namespace marrow::apps
