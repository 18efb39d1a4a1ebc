// Schedules, schedulers, clipping and EMA beyond the goldens: the spec's cosine oracle, the
// scheduler's torch-like application order, group selection, resume of its position and of
// ReduceLROnPlateau, clipping's edge cases (non-finite norms, no gradients), and the EMA
// teacher update by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>

#include "autograd/ops.h"
#include "nn/clip.h"
#include "nn/ema.h"
#include "nn/optim.h"
#include "nn/schedule.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

void check_values(const Tensor& t, const std::vector<double>& expected,
                  TolClass cls = TolClass::elementwise) {
    Comparison cmp =
        compare(t, from_vector<double>(expected, t.shape()), tolerance(cls, DType::f64));
    INFO(cmp.detail);
    CHECK(cmp.ok);
}

}  // namespace

TEST_CASE("cosine: the spec's oracle, warm-up endpoints, past the end") {
    // ssl_mil_spec.md 0.6: base 1, final 0, 1 epoch of 4 iterations -> [1, .853553, .5, .146447]
    check_values(from_vector<double>(nn::cosine_scheduler(1, 0, 1, 4)),
                 {1, 0.5 + 0.5 * std::cos(M_PI / 4), 0.5, 0.5 - 0.5 * std::cos(M_PI / 4)},
                 TolClass::transcendental);
    // Warm-up 0.2 -> 1 over 5 iterations includes both ends; the cosine then starts at base.
    auto v = nn::cosine_scheduler(1, 0, 3, 5, 1, 0.2);
    REQUIRE(v.size() == 15);
    CHECK(v[0] == 0.2);
    CHECK(v[4] == 1.0);
    CHECK(v[5] == 1.0);
    CHECK(v[14] > 0);  // never reaches final
    nn::WarmupCosine s(1, 0, 15, 5, 0.2);
    for (int64_t i = 0; i < 15; ++i) CHECK(s.at(i) == v[size_t(i)]);
    CHECK(s.at(15) == 0);
    CHECK_THROWS_WITH_AS(nn::WarmupCosine(1, 0, 4, 5), doctest::Contains("warmup_iters (5)"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::cosine_scheduler(1, 0, 1, 4, 2),
                         doctest::Contains("8 warm-up iterations exceed the 4"), Error);
}

TEST_CASE("Scheduler: applies iteration 0 on construction, then one per step, on chosen groups") {
    Tensor a = zeros({1}).requires_grad_(), b = zeros({1}).requires_grad_();
    nn::SGD sgd(std::vector<nn::ParamGroup>{{.params = {a}}, {.params = {b}, .weight_decay = 0.0}},
                {.lr = 1, .weight_decay = 0.5});
    auto lr = std::make_shared<nn::MultiStepSchedule>(0.1, std::vector<int64_t>{2, 4}, 0.5);
    nn::Scheduler lr_sched(sgd, lr);
    nn::Scheduler wd_sched(sgd, std::make_shared<nn::StepSchedule>(1.0, 1, 2.0),
                           {.hyper = nn::Hyper::weight_decay, .groups = {0}, .relative = true});
    CHECK(sgd.param_groups()[0].lr == 0.1);
    CHECK(sgd.param_groups()[1].lr == 0.1);
    CHECK(sgd.param_groups()[0].weight_decay == 0.5);
    std::vector<double> lrs, wds;
    for (int k = 0; k < 5; ++k) {
        lr_sched.step();
        wd_sched.step();
        lrs.push_back(sgd.param_groups()[1].lr);
        wds.push_back(sgd.param_groups()[0].weight_decay);
        CHECK(sgd.param_groups()[1].weight_decay == 0);  // not scheduled
    }
    check_values(from_vector<double>(lrs), {0.1, 0.05, 0.05, 0.025, 0.025});
    check_values(from_vector<double>(wds), {1, 2, 4, 8, 16});
    CHECK(lr_sched.iteration() == 5);

    // Resume: a fresh scheduler (its optimizer back at the options) takes the position and
    // the relative bases from state and applies them at once.
    Tensor c = zeros({1}).requires_grad_(), d = zeros({1}).requires_grad_();
    nn::SGD again(
        std::vector<nn::ParamGroup>{{.params = {c}}, {.params = {d}, .weight_decay = 0.0}},
        {.lr = 1, .weight_decay = 0.25});  // a different base: the saved one wins
    nn::Scheduler wd_again(again, std::make_shared<nn::StepSchedule>(1.0, 1, 2.0),
                           {.hyper = nn::Hyper::weight_decay, .groups = {0}, .relative = true});
    wd_again.load_state(wd_sched.state());
    CHECK(again.param_groups()[0].weight_decay == 16);
    CHECK_THROWS_WITH_AS(wd_again.load_state({{"iteration", scalar_tensor(3, DType::i64)}}),
                         doctest::Contains("missing entry \"base.0\""), Error);
    CHECK_THROWS_WITH_AS(nn::Scheduler(sgd, lr, {.groups = {2}}),
                         doctest::Contains("group 2 does not exist (SGD has 2 groups)"), Error);
    CHECK_THROWS_WITH_AS(nn::StepSchedule(1, 0), doctest::Contains("step_size must be > 0"), Error);
}

TEST_CASE("ReduceLROnPlateau: option errors and resume of its counters") {
    Tensor a = zeros({1}).requires_grad_();
    nn::SGD sgd({a}, {.lr = 1});
    CHECK_THROWS_WITH_AS(nn::ReduceLROnPlateau(sgd, {.factor = 1.0}),
                         doctest::Contains("factor should be < 1.0"), Error);
    CHECK_THROWS_WITH_AS(nn::ReduceLROnPlateau(sgd, {.min_lr = {0, 0}}),
                         doctest::Contains("expected 1 min_lrs, got 2"), Error);
    nn::ReduceLROnPlateau plateau(sgd, {.patience = 1, .cooldown = 1});
    for (double m : {1.0, 1.0, 1.0}) plateau.step(m);  // two bad epochs > patience 1: reduce
    CHECK(sgd.param_groups()[0].lr == doctest::Approx(0.1).epsilon(1e-15));
    CHECK(plateau.in_cooldown());
    // A copy of the counters continues the same way as the original.
    Tensor b = zeros({1}).requires_grad_();
    nn::SGD other({b}, {.lr = 1});
    other.load_state(sgd.state());  // the reduced lr travels with the optimizer
    nn::ReduceLROnPlateau resumed(other, {.patience = 1, .cooldown = 1});
    resumed.load_state(plateau.state());
    for (double m : {1.0, 1.0, 1.0, 0.5, 0.6}) {
        plateau.step(m);
        resumed.step(m);
        CHECK(other.param_groups()[0].lr == sgd.param_groups()[0].lr);
        CHECK(resumed.num_bad_epochs() == plateau.num_bad_epochs());
        CHECK(resumed.best() == plateau.best());
    }
    CHECK_THROWS_WITH_AS(resumed.load_state({}), doctest::Contains("missing entry \"last_epoch\""),
                         Error);
}

TEST_CASE("clip_grad_norm_: no gradients, non-finite totals, unclipped gradients unchanged") {
    Tensor p = zeros({2}, DType::f64).requires_grad_();
    CHECK(nn::clip_grad_norm_({p}, 1.0).item() == 0);  // no gradient anywhere
    p.set_grad(from_vector<double>({3, 4}));
    Tensor total = nn::clip_grad_norm_({p}, 1.0);
    CHECK(total.item() == 5);
    check_values(p.grad(), {3 / (5 + 1e-6), 4 / (5 + 1e-6)});
    p.set_grad(from_vector<double>({0.3, 0.4}));
    nn::clip_grad_norm_({p}, 1.0);
    check_values(p.grad(), {0.3, 0.4});  // coefficient clamped to 1
    p.set_grad(from_vector<double>({INFINITY, 1}));
    CHECK_THROWS_WITH_AS(nn::clip_grad_norm_({p}, 1.0, 2, true),
                         doctest::Contains("total norm of order 2"), Error);
    CHECK(std::isinf(p.grad().data<double>()[0]));  // not scaled before the error
    CHECK_THROWS_WITH_AS(nn::clip_grad_norm_({p}, 1.0, -1), doctest::Contains("norm_type"), Error);
    CHECK_THROWS_WITH_AS(nn::clip_grad_value_({p}, -1), doctest::Contains("clip_value must be"),
                         Error);
}

TEST_CASE("EMA: teacher = m teacher + (1 - m) student, by hand; pairing errors") {
    Tensor t = from_vector<double>({1, 2}), s = from_vector<double>({3, 5}).requires_grad_();
    nn::ModelEMA ema({t}, {s});
    ema.update(0.9);  // 0.9 * 1 + 0.1 * 3 = 1.2, 0.9 * 2 + 0.1 * 5 = 2.3
    check_values(t, {1.2, 2.3});
    nn::WarmupCosine momentum(0.996, 1.0, 10);
    ema.update(momentum.at(0));
    check_values(t, {1.2 * 0.996 + 0.004 * 3, 2.3 * 0.996 + 0.004 * 5});
    ema.update(1.0);  // momentum 1: the teacher is frozen
    check_values(t, {1.2 * 0.996 + 0.004 * 3, 2.3 * 0.996 + 0.004 * 5});
    CHECK_FALSE(t.requires_grad());
    CHECK_THROWS_WITH_AS(nn::ModelEMA({t}, {zeros({3}, DType::f64)}),
                         doctest::Contains("tensor 0: teacher [2]"), Error);
    CHECK_THROWS_WITH_AS(nn::ModelEMA({t, t}, {s}),
                         doctest::Contains("the teacher has 2 tensors but the student 1"), Error);
    CHECK_THROWS_WITH_AS(nn::ema_update_({t}, {s}, 1.5), doctest::Contains("outside [0, 1]"),
                         Error);
}
