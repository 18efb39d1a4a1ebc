// Per-iteration schedules for learning rate, weight decay and EMA momentum, and
// ReduceLROnPlateau. A Schedule is a pure function of the iteration, so resuming needs only
// the iteration count; a Scheduler binds one to an optimizer's groups and keeps that count.
//
//   // DINO: lr warms up for 10 epochs then follows a cosine to min_lr; wd and the teacher
//   // momentum follow cosines too (ssl_mil_spec.md 0.6).
//   auto lr = std::make_shared<nn::WarmupCosine>(5e-4, 1e-6, total, warmup);
//   nn::Scheduler lr_sched(opt, lr);                       // sets every group's lr
//   nn::Scheduler wd_sched(opt, std::make_shared<nn::WarmupCosine>(0.04, 0.4, total),
//                          {.hyper = nn::Hyper::weight_decay, .groups = {0}});
//   nn::WarmupCosine momentum(0.996, 1.0, total);
//   for (it ...) { ...; opt.step(); lr_sched.step(); wd_sched.step(); ema.update(momentum.at(it));
//   }
//
// As in torch.optim.lr_scheduler, constructing a Scheduler applies the value of iteration 0,
// and step() (called after opt.step()) moves to the next iteration and applies it.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/optim.h"

namespace marrow::nn {

// DINO's utils.cosine_scheduler, as the array it returns (epochs * niter_per_ep values):
// np.linspace(start_warmup_value, base_value, warmup_iters) (endpoints included), then
// final + 0.5 (base - final)(1 + cos(pi i / L)) for i = 0..L-1, L = iterations after warm-up.
std::vector<double> cosine_scheduler(double base_value, double final_value, int64_t epochs,
                                     int64_t niter_per_ep, int64_t warmup_epochs = 0,
                                     double start_warmup_value = 0);

class Schedule {
public:
    virtual ~Schedule() = default;
    // The value at iteration `it` (0-based; it >= 0).
    virtual double at(int64_t it) const = 0;
};

// Linear warm-up then cosine: the same values as cosine_scheduler(base, final, 1,
// total_iters, ...) element for element, with iterations past the end giving `final`
// (DINOv2's CosineScheduler does the same).
class WarmupCosine : public Schedule {
public:
    WarmupCosine(double base, double final, int64_t total_iters, int64_t warmup_iters = 0,
                 double start_warmup = 0);
    double at(int64_t it) const override;

private:
    double base_, final_, start_warmup_;
    int64_t total_, warmup_;
};

// torch StepLR's closed form: base * gamma^floor(it / step_size).
class StepSchedule : public Schedule {
public:
    StepSchedule(double base, int64_t step_size, double gamma = 0.1);
    double at(int64_t it) const override;

private:
    double base_;
    int64_t step_size_;
    double gamma_;
};

// torch MultiStepLR's closed form: base * gamma^(number of milestones <= it); a milestone
// listed twice counts twice, as torch's Counter does.
class MultiStepSchedule : public Schedule {
public:
    MultiStepSchedule(double base, std::vector<int64_t> milestones, double gamma = 0.1);
    double at(int64_t it) const override;

private:
    double base_;
    std::vector<int64_t> milestones_;  // sorted
    double gamma_;
};

enum class Hyper { lr, weight_decay };

struct SchedulerOptions {
    Hyper hyper = Hyper::lr;
    std::vector<size_t> groups = {};  // the groups it sets; empty: all
    // false: a group's value = schedule.at(it) (DINO). true: = schedule.at(it) x the group's
    // value when the scheduler was made (torch's initial_lr; give the schedule base 1), so
    // groups with different lrs keep their ratio.
    bool relative = false;
};

class Scheduler {
public:
    Scheduler(Optimizer& optimizer, std::shared_ptr<const Schedule> schedule,
              SchedulerOptions options = {});
    // Next iteration: sets the groups' value for it.
    void step();
    int64_t iteration() const { return it_; }
    // The schedule's value at the current iteration (before any relative scaling).
    double value() const { return schedule_->at(it_); }
    // {"iteration": int64 scalar, "base.<g>": float64 scalar per scheduled group (relative)}.
    std::map<std::string, Tensor> state() const;
    // Restores the iteration (and bases) and applies that iteration's value; a missing entry
    // is an error naming it.
    void load_state(const std::map<std::string, Tensor>& state);

private:
    void apply();
    Optimizer& optimizer_;
    std::shared_ptr<const Schedule> schedule_;
    SchedulerOptions options_;
    std::vector<double> bases_;  // per entry of options_.groups
    int64_t it_ = 0;
};

enum class PlateauMode { min, max };
enum class ThresholdMode { rel, abs };

struct PlateauOptions {
    PlateauMode mode = PlateauMode::min;
    double factor = 0.1;  // new lr = max(lr * factor, min_lr); must be < 1
    int64_t patience = 10;
    double threshold = 1e-4;
    ThresholdMode threshold_mode = ThresholdMode::rel;
    int64_t cooldown = 0;
    std::vector<double> min_lr = {0};  // one value for all groups, or one per group
    double eps = 1e-8;                 // changes smaller than eps are skipped
};

// torch.optim.lr_scheduler.ReduceLROnPlateau. step(metric) once per evaluation:
//   better = min/rel: m < best (1 - threshold)   min/abs: m < best - threshold
//            max/rel: m > best (1 + threshold)   max/abs: m > best + threshold
//   better: best = m, bad = 0; else bad += 1
//   in cooldown: cooldown_counter -= 1, bad = 0
//   bad > patience: every group's lr = max(lr factor, min_lr) (if it moves by more than eps),
//                   cooldown_counter = cooldown, bad = 0
// The lrs live in the optimizer (its state() saves them); this keeps the rest.
class ReduceLROnPlateau {
public:
    explicit ReduceLROnPlateau(Optimizer& optimizer, PlateauOptions options = {});
    void step(double metric);
    double best() const { return best_; }
    int64_t num_bad_epochs() const { return num_bad_epochs_; }
    bool in_cooldown() const { return cooldown_counter_ > 0; }
    // {"last_epoch", "best", "num_bad_epochs", "cooldown_counter"}: scalars.
    std::map<std::string, Tensor> state() const;
    void load_state(const std::map<std::string, Tensor>& state);

private:
    bool is_better(double a) const;
    Optimizer& optimizer_;
    PlateauOptions options_;
    std::vector<double> min_lrs_;
    double best_;
    int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
};

}  // namespace marrow::nn
