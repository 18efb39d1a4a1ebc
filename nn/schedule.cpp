// Schedules and schedulers; see schedule.h. References: facebookresearch/dino utils.py
// (cosine_scheduler), torch/optim/lr_scheduler.py (StepLR, MultiStepLR, ReduceLROnPlateau).
#include "nn/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "autograd/ops.h"

namespace marrow::nn {

namespace {

// numpy.linspace(start, stop, num)[i]: i * step + start, the last value exactly stop.
double linspace_at(double start, double stop, int64_t num, int64_t i) {
    if (num == 1) return start;
    if (i == num - 1) return stop;
    double step = (stop - start) / double(num - 1);
    return double(i) * step + start;
}

// DINO's cosine part: final + 0.5 (base - final)(1 + cos(pi i / L)), in numpy's order.
double cosine_at(double base, double final, int64_t i, int64_t length) {
    return final +
           0.5 * (base - final) * (1 + std::cos(std::numbers::pi * double(i) / double(length)));
}

const Tensor& entry(const std::map<std::string, Tensor>& state, const std::string& key,
                    std::string_view who) {
    auto it = state.find(key);
    MARROW_CHECK(it != state.end(), "{}.load_state: missing entry \"{}\"", who, key);
    MARROW_CHECK(it->second.numel() == 1,
                 "{}.load_state: entry \"{}\" must hold one number, got shape {}", who, key,
                 it->second.shape());
    return it->second;
}

}  // namespace

std::vector<double> cosine_scheduler(double base_value, double final_value, int64_t epochs,
                                     int64_t niter_per_ep, int64_t warmup_epochs,
                                     double start_warmup_value) {
    MARROW_CHECK(epochs >= 0 && niter_per_ep >= 0 && warmup_epochs >= 0,
                 "cosine_scheduler: epochs {}, niter_per_ep {} and warmup_epochs {} must be >= 0",
                 epochs, niter_per_ep, warmup_epochs);
    int64_t total = epochs * niter_per_ep, warmup = warmup_epochs * niter_per_ep;
    MARROW_CHECK(warmup <= total,
                 "cosine_scheduler: {} warm-up iterations exceed the {} iterations in all", warmup,
                 total);
    std::vector<double> out;
    out.reserve(size_t(total));
    for (int64_t i = 0; i < warmup; ++i)
        out.push_back(linspace_at(start_warmup_value, base_value, warmup, i));
    for (int64_t i = 0; i < total - warmup; ++i)
        out.push_back(cosine_at(base_value, final_value, i, total - warmup));
    return out;
}

WarmupCosine::WarmupCosine(double base, double final, int64_t total_iters, int64_t warmup_iters,
                           double start_warmup)
    : base_(base),
      final_(final),
      start_warmup_(start_warmup),
      total_(total_iters),
      warmup_(warmup_iters) {
    MARROW_CHECK(total_iters > 0 && warmup_iters >= 0 && warmup_iters <= total_iters,
                 "WarmupCosine: needs 0 <= warmup_iters ({}) <= total_iters ({}) and "
                 "total_iters > 0",
                 warmup_iters, total_iters);
}

double WarmupCosine::at(int64_t it) const {
    MARROW_CHECK(it >= 0, "WarmupCosine: negative iteration {}", it);
    if (it >= total_) return final_;
    if (it < warmup_) return linspace_at(start_warmup_, base_, warmup_, it);
    return cosine_at(base_, final_, it - warmup_, total_ - warmup_);
}

StepSchedule::StepSchedule(double base, int64_t step_size, double gamma)
    : base_(base), step_size_(step_size), gamma_(gamma) {
    MARROW_CHECK(step_size > 0, "StepSchedule: step_size must be > 0, got {}", step_size);
}

double StepSchedule::at(int64_t it) const {
    MARROW_CHECK(it >= 0, "StepSchedule: negative iteration {}", it);
    return base_ * std::pow(gamma_, double(it / step_size_));
}

MultiStepSchedule::MultiStepSchedule(double base, std::vector<int64_t> milestones, double gamma)
    : base_(base), milestones_(std::move(milestones)), gamma_(gamma) {
    std::sort(milestones_.begin(), milestones_.end());
}

double MultiStepSchedule::at(int64_t it) const {
    MARROW_CHECK(it >= 0, "MultiStepSchedule: negative iteration {}", it);
    auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), it) -
                  milestones_.begin();  // bisect_right
    return base_ * std::pow(gamma_, double(passed));
}

// ---- Scheduler

Scheduler::Scheduler(Optimizer& optimizer, std::shared_ptr<const Schedule> schedule,
                     SchedulerOptions options)
    : optimizer_(optimizer), schedule_(std::move(schedule)), options_(std::move(options)) {
    MARROW_CHECK(schedule_ != nullptr, "Scheduler: no schedule given");
    size_t n = optimizer_.param_groups().size();
    if (options_.groups.empty())
        for (size_t g = 0; g < n; ++g) options_.groups.push_back(g);
    for (size_t g : options_.groups) {
        MARROW_CHECK(g < n, "Scheduler: group {} does not exist ({} has {} groups)", g,
                     optimizer_.name(), n);
        const OptimizerGroup& group = optimizer_.param_groups()[g];
        bases_.push_back(options_.hyper == Hyper::lr ? group.lr : group.weight_decay);
    }
    apply();
}

void Scheduler::apply() {
    double v = schedule_->at(it_);
    for (size_t k = 0; k < options_.groups.size(); ++k) {
        double value = options_.relative ? v * bases_[k] : v;
        OptimizerGroup& group = optimizer_.param_groups()[options_.groups[k]];
        MARROW_CHECK(value >= 0, "Scheduler: iteration {} gives {} a negative {} ({})", it_,
                     optimizer_.name(), options_.hyper == Hyper::lr ? "lr" : "weight_decay", value);
        (options_.hyper == Hyper::lr ? group.lr : group.weight_decay) = value;
    }
}

void Scheduler::step() {
    ++it_;
    apply();
}

std::map<std::string, Tensor> Scheduler::state() const {
    std::map<std::string, Tensor> out;
    out.emplace("iteration", scalar_tensor(double(it_), DType::i64));
    if (options_.relative)
        for (size_t k = 0; k < bases_.size(); ++k)
            out.emplace(fmt::format("base.{}", options_.groups[k]),
                        scalar_tensor(bases_[k], DType::f64));
    return out;
}

void Scheduler::load_state(const std::map<std::string, Tensor>& state) {
    int64_t it = int64_t(entry(state, "iteration", "Scheduler").item());
    MARROW_CHECK(it >= 0, "Scheduler.load_state: negative iteration {}", it);
    std::vector<double> bases = bases_;
    size_t expected = 1;
    if (options_.relative) {
        for (size_t k = 0; k < bases.size(); ++k)
            bases[k] = entry(state, fmt::format("base.{}", options_.groups[k]), "Scheduler").item();
        expected += bases.size();
    }
    MARROW_CHECK(state.size() == expected,
                 "Scheduler.load_state: got {} entries, expected {} (\"iteration\"{})",
                 state.size(), expected, options_.relative ? " and one \"base.<group>\" each" : "");
    it_ = it;
    bases_ = std::move(bases);
    apply();
}

// ---- ReduceLROnPlateau

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, PlateauOptions options)
    : optimizer_(optimizer), options_(std::move(options)) {
    const PlateauOptions& o = options_;
    MARROW_CHECK(o.factor < 1.0, "ReduceLROnPlateau: factor should be < 1.0, got {}", o.factor);
    MARROW_CHECK(o.patience >= 0 && o.cooldown >= 0,
                 "ReduceLROnPlateau: patience {} and cooldown {} must be >= 0", o.patience,
                 o.cooldown);
    size_t n = optimizer_.param_groups().size();
    if (o.min_lr.size() == 1)
        min_lrs_.assign(n, o.min_lr[0]);
    else
        min_lrs_ = o.min_lr;
    MARROW_CHECK(min_lrs_.size() == n, "ReduceLROnPlateau: expected {} min_lrs, got {}", n,
                 o.min_lr.size());
    best_ = o.mode == PlateauMode::min ? std::numeric_limits<double>::infinity()
                                       : -std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateau::is_better(double a) const {
    const PlateauOptions& o = options_;
    bool rel = o.threshold_mode == ThresholdMode::rel;
    if (o.mode == PlateauMode::min)
        return rel ? a < best_ * (1 - o.threshold) : a < best_ - o.threshold;
    return rel ? a > best_ * (o.threshold + 1) : a > best_ + o.threshold;
}

void ReduceLROnPlateau::step(double metric) {
    ++last_epoch_;
    if (is_better(metric)) {
        best_ = metric;
        num_bad_epochs_ = 0;
    } else {
        ++num_bad_epochs_;
    }
    if (in_cooldown()) {
        --cooldown_counter_;
        num_bad_epochs_ = 0;  // bad epochs in cooldown do not count
    }
    if (num_bad_epochs_ > options_.patience) {
        auto& groups = optimizer_.param_groups();
        for (size_t g = 0; g < groups.size(); ++g) {
            double old_lr = groups[g].lr;
            double new_lr = std::max(old_lr * options_.factor, min_lrs_[g]);
            if (old_lr - new_lr > options_.eps) groups[g].lr = new_lr;
        }
        cooldown_counter_ = options_.cooldown;
        num_bad_epochs_ = 0;
    }
}

std::map<std::string, Tensor> ReduceLROnPlateau::state() const {
    return {{"last_epoch", scalar_tensor(double(last_epoch_), DType::i64)},
            {"best", scalar_tensor(best_, DType::f64)},
            {"num_bad_epochs", scalar_tensor(double(num_bad_epochs_), DType::i64)},
            {"cooldown_counter", scalar_tensor(double(cooldown_counter_), DType::i64)}};
}

void ReduceLROnPlateau::load_state(const std::map<std::string, Tensor>& state) {
    const char* who = "ReduceLROnPlateau";
    int64_t last_epoch = int64_t(entry(state, "last_epoch", who).item());
    double best = entry(state, "best", who).item();
    int64_t bad = int64_t(entry(state, "num_bad_epochs", who).item());
    int64_t cooldown = int64_t(entry(state, "cooldown_counter", who).item());
    MARROW_CHECK(state.size() == 4,
                 "ReduceLROnPlateau.load_state: got {} entries, expected 4 (last_epoch, best, "
                 "num_bad_epochs, cooldown_counter)",
                 state.size());
    last_epoch_ = last_epoch;
    best_ = best;
    num_bad_epochs_ = bad;
    cooldown_counter_ = cooldown;
}

}  // namespace marrow::nn
