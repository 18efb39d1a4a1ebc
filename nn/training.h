// What a training checkpoint holds and how a run gets it back: the model's state dict, the
// optimizer's and scheduler's state, the run's position (step, epoch, batch within the epoch)
// and the random generator's (seed, offset). Restoring all of them makes the continuation
// bit-identical to a run that never stopped (tests/apps/resume_test.sh checks it across
// processes).
//
//   nn::TrainingPosition pos{.step = step, .epoch = epoch, .batch = b};
//   dir.save(step, nn::capture_training({model, opt, &sched, &gen}, pos, config));
//   ...
//   nn::TrainingPosition pos = nn::restore_training(nn::load_checkpoint(path), {model, opt, &sched, &gen});
//
// The training step's order, for every loop in marrow (and the place data-parallel training
// will hook in): forward, loss, check the loss is finite (naming the step and the term),
// backward, [all-reduce of the gradients across workers, later], clipping, optimizer step,
// scheduler step.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>

#include "nn/checkpoint.h"
#include "nn/module.h"
#include "nn/optim.h"
#include "nn/schedule.h"
#include "tensor/random.h"

namespace marrow::nn {

struct TrainingPosition {
    int64_t step = 0;    // optimizer steps taken
    int64_t epoch = 0;   // the epoch in progress
    int64_t batch = 0;   // batches of that epoch already consumed
};

// The parts of a run that carry state (scheduler and generator optional).
struct TrainingParts {
    Module& model;
    Optimizer& optimizer;
    Scheduler* scheduler = nullptr;
    Generator* generator = nullptr;
};

// A checkpoint with sections "model", "optimizer" and "scheduler", and meta {"position":
// {...}, "generator": {"seed", "offset"}, "optimizer": name, "config": config}.
Checkpoint capture_training(const TrainingParts& parts, const TrainingPosition& position,
                            const nlohmann::json& config = nlohmann::json::object());
// Loads every part (strict: a checkpoint of another architecture or optimizer is an Error
// naming the file and the keys) and returns the position to continue from.
TrainingPosition restore_training(const Checkpoint& checkpoint, const TrainingParts& parts);

}  // namespace marrow::nn
