// nn optimizers beyond the goldens: parameter groups and the no-decay rule, hand-checked
// steps (the spec's LARS/LARC oracle, Adam's first step), exact resume through state() /
// load_state() (and through a safetensors file) for every optimizer with its schedulers, the
// load_state errors, gradient accumulation, and the option checks.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>

#include "autograd/ops.h"
#include "nn/adam.h"
#include "nn/lars.h"
#include "nn/schedule.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/dispatch.h"
#include "tensor/safetensors.h"
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

void check_identical(const Tensor& a, const Tensor& b, const std::string& what) {
    Comparison cmp = compare(a, b, tolerance(TolClass::exact, a.dtype()));
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

// loss = sum(c * p): the gradient is c.
void linear_backward(const Tensor& p, const std::vector<double>& c) {
    sum(p * from_vector<double>(c, p.shape())).backward();
}

}  // namespace

TEST_CASE("decay_groups: DINO's rule, frozen parameters left out, custom predicate") {
    auto f = [](Shape s) { return zeros(s).requires_grad_(); };
    Tensor conv_w = f({8, 3, 3, 3}), conv_b = f({8}), bn_w = f({8}), fc_w = f({10, 8}),
           frozen = zeros({4, 4}), gamma = f({});
    std::vector<std::pair<std::string, Tensor>> named = {
        {"conv1.weight", conv_w}, {"conv1.bias", conv_b},  {"layer1.0.bn1.weight", bn_w},
        {"fc.weight", fc_w},      {"stem.weight", frozen}, {"ls.gamma", gamma}};
    auto groups = nn::decay_groups(named);
    REQUIRE(groups.size() == 2);
    REQUIRE(groups[0].params.size() == 2);
    CHECK(groups[0].params[0].is_same(conv_w));
    CHECK(groups[0].params[1].is_same(fc_w));
    CHECK_FALSE(groups[0].weight_decay.has_value());  // the optimizer's (a schedule's)
    REQUIRE(groups[1].params.size() == 3);
    CHECK(groups[1].params[0].is_same(conv_b));
    CHECK(groups[1].params[1].is_same(bn_w));
    CHECK(groups[1].params[2].is_same(gamma));
    CHECK(*groups[1].weight_decay == 0);
    CHECK(*groups[1].layer_adaptation == false);

    nn::AdamW opt(groups, {.lr = 0.1, .weight_decay = 0.04});
    CHECK(opt.param_groups()[0].weight_decay == 0.04);
    CHECK(opt.param_groups()[1].weight_decay == 0);
    CHECK(opt.param_groups()[0].lr == 0.1);
    CHECK(opt.parameters().size() == 5);

    // DINOv2's rule as a predicate: also anything with "norm" in its name.
    auto by_name = nn::decay_groups(named, [](const std::string& n, const Tensor& p) {
        return nn::no_weight_decay(n, p) || n.find("fc") != std::string::npos;
    });
    CHECK(by_name[0].params.size() == 1);
    CHECK(by_name[1].params.size() == 4);
}

TEST_CASE("LARS and LARC: the spec's oracle (p = [3, 4], g = [0.6, 0.8], lr 1 -> [2.997, 3.996])") {
    // trust = 0.001 * ||p|| / ||g|| = 0.001 * 5 / 1 = 0.005; p -= 0.005 g.
    Tensor p = from_vector<double>({3, 4}).requires_grad_();
    nn::LARS lars({p}, {.lr = 1, .momentum = 0, .eta = 1e-3});
    linear_backward(p, {0.6, 0.8});
    lars.step();
    check_values(p, {2.997, 3.996});

    // LARC: a = 0.001 * 5 / (1 + 0 + 1e-8): the same up to the eps.
    Tensor q = from_vector<double>({3, 4}).requires_grad_();
    nn::LARC larc({q}, {.lr = 1}, {.trust_coefficient = 1e-3, .clip = false});
    linear_backward(q, {0.6, 0.8});
    larc.step();
    double a = 1e-3 * 5 / (1 + 1e-8);
    check_values(q, {3 - 0.6 * a, 4 - 0.8 * a});

    // clip: with lr 1e-3, a / lr = 5 is clipped to 1: an ordinary SGD step.
    Tensor r = from_vector<double>({3, 4}).requires_grad_();
    nn::LARC clipped({r}, {.lr = 1e-3}, {.trust_coefficient = 1e-3, .clip = true});
    linear_backward(r, {0.6, 0.8});
    clipped.step();
    check_values(r, {3 - 0.6e-3, 4 - 0.8e-3});

    // A zero parameter gets trust 1 (LARS) / no rescaling and no decay (LARC).
    Tensor z = from_vector<double>({0, 0}).requires_grad_();
    nn::LARS lz({z}, {.lr = 0.5, .momentum = 0, .weight_decay = 0.1});
    linear_backward(z, {1, 2});
    lz.step();
    check_values(z, {-0.5, -1});
    Tensor z2 = from_vector<double>({0, 0}).requires_grad_();
    nn::LARC cz({z2}, {.lr = 0.5, .weight_decay = 0.1}, {});
    linear_backward(z2, {1, 2});
    cz.step();
    check_values(z2, {-0.5, -1});
}

TEST_CASE("LARS: an excluded group is plain momentum SGD with the lr inside the buffer") {
    // v1 = lr g = 0.1 * 2 = 0.2, w = 1 - 0.2; v2 = 0.9 * 0.2 + 0.1 * 2 = 0.38, w = 0.8 - 0.38.
    Tensor w = from_vector<double>({1}).requires_grad_();
    Tensor big = from_vector<double>({10, 0}).requires_grad_();
    nn::LARS opt(
        std::vector<nn::ParamGroup>{
            {.params = {big}}, {.params = {w}, .weight_decay = 0.0, .layer_adaptation = false}},
        {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.5});
    for (int k = 0; k < 2; ++k) {
        opt.zero_grad();
        linear_backward(w, {2});
        opt.step();
    }
    check_values(w, {0.42});
    check_values(big, {10, 0});  // no gradient: untouched
    CHECK(opt.state().count("0.momentum_buffer") == 0);
    check_values(opt.state().at("1.momentum_buffer"), {0.38});
}

TEST_CASE("Adam and AdamW: the first step by hand, state names") {
    // Step 1: m = 0.1 g, v = 0.001 g^2, m / (1 - 0.9) = g, sqrt(v / (1 - 0.999)) = |g|:
    // p -= lr g / (|g| + eps).
    Tensor p = from_vector<double>({1, -1}).requires_grad_();
    nn::Adam adam({p}, {.lr = 0.1});
    linear_backward(p, {2, -4});
    adam.step();
    check_values(p, {1 - 0.1 * 2 / (2 + 1e-8), -1 + 0.1 * 4 / (4 + 1e-8)});
    auto st = adam.state();
    CHECK(st.at("0.step").item() == 1);
    CHECK(st.at("0.step").dtype() == DType::i64);
    CHECK(st.count("0.exp_avg") == 1);
    CHECK(st.count("0.exp_avg_sq") == 1);
    CHECK(st.count("0.max_exp_avg_sq") == 0);
    CHECK(st.at("param_groups.0.lr").item() == 0.1);

    // AdamW decays first: p = 1 (1 - 0.1 * 0.5) - 0.1 * 2 / (2 + eps).
    Tensor q = from_vector<double>({1}).requires_grad_();
    nn::AdamW adamw({q}, {.lr = 0.1, .weight_decay = 0.5, .amsgrad = true});
    linear_backward(q, {2});
    adamw.step();
    check_values(q, {0.95 - 0.1 * 2 / (2 + 1e-8)});
    CHECK(adamw.state().count("0.max_exp_avg_sq") == 1);
    // Adam's L2 goes through the scaling: g = 2 + 0.5 = 2.5, still a step of ~lr.
    Tensor r = from_vector<double>({1}).requires_grad_();
    nn::Adam l2({r}, {.lr = 0.1, .weight_decay = 0.5});
    linear_backward(r, {2});
    l2.step();
    check_values(r, {1 - 0.1 * 2.5 / (2.5 + 1e-8)});
}

namespace {

// One optimizer kind for the resume test, with the schedulers a recipe would attach.
struct Run {
    std::vector<Tensor> params;
    std::unique_ptr<nn::Optimizer> opt;
    std::unique_ptr<nn::Scheduler> lr, wd;
};

Run make_run(const std::string& kind, const std::vector<Tensor>& init) {
    Run run;
    for (const Tensor& t : init) run.params.push_back(clone(t).requires_grad_());
    std::vector<nn::ParamGroup> groups = {
        {.params = {run.params[0], run.params[1]}},
        {.params = {run.params[2], run.params[3]}, .weight_decay = 0.0, .layer_adaptation = false}};
    if (kind == "sgd")
        run.opt = std::make_unique<nn::SGD>(
            groups,
            nn::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-3, .nesterov = true});
    else if (kind == "adam")
        run.opt = std::make_unique<nn::Adam>(
            groups, nn::AdamOptions{.lr = 0.01, .weight_decay = 1e-3, .amsgrad = true});
    else if (kind == "adamw")
        run.opt = std::make_unique<nn::AdamW>(groups, nn::AdamWOptions{.lr = 0.01});
    else if (kind == "lars")
        run.opt =
            std::make_unique<nn::LARS>(groups, nn::LARSOptions{.lr = 0.3, .weight_decay = 1e-4});
    else
        run.opt = std::make_unique<nn::LARC>(
            groups, nn::SGDOptions{.lr = 0.3, .momentum = 0.9, .weight_decay = 1e-4},
            nn::LARCOptions{.trust_coefficient = 1e-3});
    run.lr = std::make_unique<nn::Scheduler>(
        *run.opt, std::make_shared<nn::WarmupCosine>(run.opt->param_groups()[0].lr, 1e-4, 10, 3));
    run.wd = std::make_unique<nn::Scheduler>(
        *run.opt, std::make_shared<nn::WarmupCosine>(0.04, 0.4, 10),
        nn::SchedulerOptions{.hyper = nn::Hyper::weight_decay, .groups = {0}});
    return run;
}

// One training step on batch k: a two-layer tanh network (W1 (5, 4), b1 (5), W2 (2, 5),
// b2 (2)) on x_k (6, 4) against y_k (6, 2). Parameter 3 (b2) gets no gradient on odd steps
// (it is left out of the loss), so lazily created state is exercised.
void train_step(Run& run, const Tensor& x, const Tensor& y, int k) {
    const auto& P = run.params;
    Tensor h = tanh(linear(x, P[0], P[2]));
    Tensor out = linear(h, P[1]);
    if (k % 2 == 0) out = out + P[3];
    Tensor loss = mean(pow(out - y, 2.0));
    run.opt->zero_grad();
    loss.backward();
    run.opt->step();
    run.lr->step();
    run.wd->step();
}

}  // namespace

TEST_CASE("exact resume: N steps straight == N/2, state through a file, fresh optimizer, N/2") {
    Generator gen(7);
    std::vector<Tensor> init = {randn({5, 4}, DType::f32, Device::cpu(), gen),
                                randn({2, 5}, DType::f32, Device::cpu(), gen),
                                randn({5}, DType::f32, Device::cpu(), gen),
                                randn({2}, DType::f32, Device::cpu(), gen)};
    const int n = 8;
    std::vector<Tensor> xs, ys;
    for (int k = 0; k < n; ++k) {
        xs.push_back(randn({6, 4}, DType::f32, Device::cpu(), gen));
        ys.push_back(randn({6, 2}, DType::f32, Device::cpu(), gen));
    }
    std::string path = (std::filesystem::temp_directory_path() /
                        fmt::format("marrow_optim_resume_{}.safetensors", ::getpid()))
                           .string();
    for (std::string kind : {"sgd", "adam", "adamw", "lars", "larc"}) {
        CAPTURE(kind);
        Run straight = make_run(kind, init);
        for (int k = 0; k < n; ++k) train_step(straight, xs[size_t(k)], ys[size_t(k)], k);

        Run first = make_run(kind, init);
        for (int k = 0; k < n / 2; ++k) train_step(first, xs[size_t(k)], ys[size_t(k)], k);
        // The checkpoint: parameters, optimizer state, both schedulers' positions, one file.
        std::map<std::string, Tensor> ckpt;
        for (size_t i = 0; i < first.params.size(); ++i)
            ckpt.emplace(fmt::format("model.{}", i), first.params[i]);
        for (const auto& [key, t] : first.opt->state()) ckpt.emplace("optim." + key, t);
        for (const auto& [key, t] : first.lr->state()) ckpt.emplace("lr_sched." + key, t);
        for (const auto& [key, t] : first.wd->state()) ckpt.emplace("wd_sched." + key, t);
        save_safetensors(path, ckpt);
        first = Run{};  // nothing survives but the file

        SafetensorsFile file = load_safetensors(path);
        std::map<std::string, Tensor> optim, lr_sched, wd_sched;
        std::vector<Tensor> saved(init.size(), init[0]);
        for (const auto& [key, t] : file.tensors) {
            if (key.starts_with("optim.")) optim.emplace(key.substr(6), t);
            if (key.starts_with("lr_sched.")) lr_sched.emplace(key.substr(9), t);
            if (key.starts_with("wd_sched.")) wd_sched.emplace(key.substr(9), t);
            if (key.starts_with("model.")) saved[std::stoul(key.substr(6))] = t;
        }
        Run resumed = make_run(kind, saved);
        resumed.opt->load_state(optim);
        resumed.lr->load_state(lr_sched);
        resumed.wd->load_state(wd_sched);
        CHECK(resumed.lr->iteration() == n / 2);
        for (int k = n / 2; k < n; ++k) train_step(resumed, xs[size_t(k)], ys[size_t(k)], k);

        for (size_t i = 0; i < init.size(); ++i)
            check_identical(resumed.params[i], straight.params[i], fmt::format("parameter {}", i));
        auto a = straight.opt->state(), b = resumed.opt->state();
        REQUIRE(a.size() == b.size());
        for (const auto& [key, t] : a) check_identical(b.at(key), t, key);
    }
    std::filesystem::remove(path);
}

TEST_CASE("load_state: errors name the entry, and nothing changes on error") {
    Tensor p = from_vector<double>({1, 2, 3}).requires_grad_();
    Tensor q = from_vector<double>({1}).requires_grad_();
    nn::Adam opt({p, q}, {.lr = 0.1});
    sum(p * p).backward();
    opt.step();
    const auto good = opt.state();
    Tensor before = clone(good.at("0.exp_avg"));

    auto without = [&](const std::string& key) {
        auto s = good;
        s.erase(key);
        return s;
    };
    CHECK_THROWS_WITH_AS(opt.load_state(without("0.exp_avg_sq")),
                         doctest::Contains("misses \"0.exp_avg_sq\""), Error);
    CHECK_THROWS_WITH_AS(opt.load_state(without("param_groups.0.lr")),
                         doctest::Contains("missing entry \"param_groups.0.lr\""), Error);
    auto bad_shape = good;
    bad_shape.insert_or_assign("0.exp_avg", zeros({2}, DType::f64));
    CHECK_THROWS_WITH_AS(opt.load_state(bad_shape),
                         doctest::Contains("\"0.exp_avg\" has shape [2]"), Error);
    auto bad_dtype = good;
    bad_dtype.insert_or_assign("0.exp_avg_sq", zeros({3}, DType::f32));
    CHECK_THROWS_WITH_AS(opt.load_state(bad_dtype), doctest::Contains("\"0.exp_avg_sq\""), Error);
    auto extra = good;
    extra.emplace("5.exp_avg", zeros({3}, DType::f64));
    CHECK_THROWS_WITH_AS(opt.load_state(extra), doctest::Contains("unexpected entry \"5.exp_avg\""),
                         Error);
    auto foreign = good;  // an SGD checkpoint's entry
    foreign.emplace("0.momentum_buffer", zeros({3}, DType::f64));
    CHECK_THROWS_WITH_AS(opt.load_state(foreign),
                         doctest::Contains("unexpected entry \"0.momentum_buffer\""), Error);
    check_identical(opt.state().at("0.exp_avg"), before, "state after failed loads");

    // A loaded state is a copy: changing the source later does not reach the optimizer.
    auto copy = good;
    opt.load_state(copy);
    fill_(copy.at("0.exp_avg"), 42);
    check_identical(opt.state().at("0.exp_avg"), before, "state after the source changed");
    // Parameter 1 never had a gradient: no entries, and loading keeps it so.
    CHECK(opt.state().count("1.step") == 0);
}

TEST_CASE("gradient accumulation: k micro-batches of loss / k step like one batch") {
    Generator gen(3);
    Tensor x = randn({8, 4}, DType::f64, Device::cpu(), gen);
    Tensor y = randn({8, 3}, DType::f64, Device::cpu(), gen);
    Tensor w0 = randn({3, 4}, DType::f64, Device::cpu(), gen);
    auto loss_of = [](const Tensor& w, const Tensor& xb, const Tensor& yb) {
        return mean(pow(linear(xb, w) - yb, 2.0));
    };
    Tensor big = clone(w0).requires_grad_(), acc = clone(w0).requires_grad_();
    nn::SGD opt_big({big}, {.lr = 0.1, .momentum = 0.9});
    nn::SGD opt_acc({acc}, {.lr = 0.1, .momentum = 0.9});
    const int k = 4;
    for (int step = 0; step < 3; ++step) {
        opt_big.zero_grad();
        loss_of(big, x, y).backward();
        opt_big.step();

        opt_acc.zero_grad();
        for (int i = 0; i < k; ++i)  // gradients add up in .grad across backward calls
            (loss_of(acc, narrow(x, 0, 2 * i, 2), narrow(y, 0, 2 * i, 2)) / double(k)).backward();
        Comparison g = compare(acc.grad(), big.grad(), tolerance(TolClass::reduction, DType::f64));
        INFO("gradient: ", g.detail);
        CHECK(g.ok);
        opt_acc.step();
    }
    Comparison cmp = compare(acc, big, tolerance(TolClass::reduction, DType::f64));
    INFO(cmp.detail);
    CHECK(cmp.ok);
}

TEST_CASE("Adam, LARS, LARC: option and group errors") {
    Tensor p = zeros({2}).requires_grad_();
    CHECK_THROWS_WITH_AS(nn::Adam({p}, {.lr = -1}),
                         doctest::Contains("Adam: invalid learning rate"), Error);
    CHECK_THROWS_WITH_AS(nn::Adam({p}, {.beta1 = 1.0}),
                         doctest::Contains("invalid beta parameter at index 0"), Error);
    CHECK_THROWS_WITH_AS(nn::AdamW({p}, {.beta2 = -0.1}),
                         doctest::Contains("AdamW: invalid beta parameter at index 1"), Error);
    CHECK_THROWS_WITH_AS(nn::Adam({p}, {.eps = -1}), doctest::Contains("invalid epsilon"), Error);
    CHECK_THROWS_WITH_AS(nn::AdamW({p}, {.weight_decay = -1}),
                         doctest::Contains("invalid weight_decay"), Error);
    CHECK_THROWS_WITH_AS(nn::LARS({p}, {.eta = 0}), doctest::Contains("LARS: invalid eta"), Error);
    CHECK_THROWS_WITH_AS(nn::LARC({p}, {}, {.trust_coefficient = 0}),
                         doctest::Contains("LARC: invalid trust_coefficient"), Error);
    Tensor q = zeros({3}).requires_grad_();
    CHECK_THROWS_WITH_AS(
        nn::SGD(std::vector<nn::ParamGroup>{{.params = {p}}, {.params = {q, p}}}, {}),
        doctest::Contains("parameter 2 is listed twice (also as 0"), Error);
    CHECK_THROWS_WITH_AS(
        nn::SGD(std::vector<nn::ParamGroup>{{.params = {p}}, {.params = {q}, .lr = -0.1}}, {}),
        doctest::Contains("invalid learning rate -0.1 (group 1)"), Error);
    CHECK_THROWS_WITH_AS(nn::SGD(std::vector<nn::ParamGroup>{{}, {}}, {}),
                         doctest::Contains("empty parameter list"), Error);
}

namespace {

// Counts the fused updates the CPU runs, by putting a counting kernel in the table.
int fused_calls = 0;
size_t fused_tensors = 0;
void counting_optim_step(const OptimStepParams& o, const std::vector<OptimTensors>& tensors) {
    ++fused_calls;
    fused_tensors += tensors.size();
    cpu::optim_step(o, tensors);
}
struct CountFused {
    CountFused() {
        fused_calls = 0;
        fused_tensors = 0;
        register_kernel<OpId::optim_step>(DeviceType::cpu, counting_optim_step);
    }
    ~CountFused() { register_kernel<OpId::optim_step>(DeviceType::cpu, cpu::optim_step); }
};

}  // namespace

TEST_CASE("fused SGD / Adam / AdamW updates match their composite reference (f32 and f64)") {
    Generator gen(5);
    struct Variant {
        std::string name;
        std::function<std::unique_ptr<nn::Optimizer>(Tensor, bool)> make;
    };
    std::vector<Variant> variants = {
        {"sgd plain",
         [](Tensor p, bool f) {
             return std::make_unique<nn::SGD>(std::vector<Tensor>{p},
                                              nn::SGDOptions{.lr = 0.1, .fused = f});
         }},
        {"sgd momentum dampening wd maximize",
         [](Tensor p, bool f) {
             return std::make_unique<nn::SGD>(std::vector<Tensor>{p},
                                              nn::SGDOptions{.lr = 0.05,
                                                             .momentum = 0.9,
                                                             .dampening = 0.2,
                                                             .weight_decay = 0.01,
                                                             .maximize = true,
                                                             .fused = f});
         }},
        {"sgd nesterov",
         [](Tensor p, bool f) {
             return std::make_unique<nn::SGD>(std::vector<Tensor>{p},
                                              nn::SGDOptions{.lr = 0.05,
                                                             .momentum = 0.9,
                                                             .weight_decay = 0.01,
                                                             .nesterov = true,
                                                             .fused = f});
         }},
        {"adam wd amsgrad maximize",
         [](Tensor p, bool f) {
             return std::make_unique<nn::Adam>(std::vector<Tensor>{p},
                                               nn::AdamOptions{.lr = 0.01,
                                                               .weight_decay = 0.1,
                                                               .amsgrad = true,
                                                               .maximize = true,
                                                               .fused = f});
         }},
        {"adamw",
         [](Tensor p, bool f) {
             return std::make_unique<nn::AdamW>(
                 std::vector<Tensor>{p},
                 nn::AdamWOptions{.lr = 0.01, .weight_decay = 0.05, .fused = f});
         }},
    };
    // 185 values (one thread), and 40301 (over the kernel's 32K threshold for threads: uneven
    // per-thread chunks and vector tails).
    for (Shape shape : {Shape{37, 5}, Shape{211, 191}}) {
        Tensor w0 = randn(shape, DType::f64, Device::cpu(), gen);
        Tensor y = randn(shape, DType::f64, Device::cpu(), gen);
        Tensor scale = rand(shape, DType::f64, Device::cpu(), gen) + 0.1;
        for (const Variant& v : variants) {
            for (DType dtype : {DType::f64, DType::f32}) {
                CAPTURE(v.name);
                CAPTURE(dtype);
                CAPTURE(shape);
                Tensor a = clone(to(w0, dtype)).requires_grad_(),
                       b = clone(to(w0, dtype)).requires_grad_();
                auto fused = v.make(a, true), composite = v.make(b, false);
                CountFused count;
                for (int k = 0; k < 4; ++k) {
                    for (auto [p, opt] :
                         {std::pair{a, fused.get()}, std::pair{b, composite.get()}}) {
                        opt->zero_grad();
                        sum(to(scale, dtype) * pow(p - to(y, dtype), 2.0)).backward();
                        opt->step();
                    }
                }
                CHECK(fused_calls == 4);  // only the fused optimizer used the kernel
                Comparison cmp = compare(a, b, tolerance(TolClass::optimizer, dtype));
                INFO(cmp.detail);
                CHECK(cmp.ok);
                auto sa = fused->state(), sb = composite->state();
                REQUIRE(sa.size() == sb.size());
                for (const auto& entry : sa) {  // not bound: INFO's lambda captures it
                    const std::string& key = entry.first;
                    const Tensor& t = entry.second;
                    Comparison c =
                        compare(t, sb.at(key), tolerance(TolClass::optimizer, t.dtype()));
                    INFO(key, ": ", c.detail);
                    CHECK(c.ok);
                }
            }
        }
    }
    // Strided parameters (a transposed view) take the composite path.
    Tensor base = randn({37, 5}, DType::f64, Device::cpu(), gen);
    Tensor t = transpose(base, 0, 1);
    t.requires_grad_();
    nn::SGD sgd({t}, {.lr = 0.1, .momentum = 0.9});
    CountFused count;
    sum(t * t).backward();
    sgd.step();
    CHECK(fused_calls == 0);
}

TEST_CASE("fused updates of parameters with equal step scalars share one kernel call") {
    // Note [Batched fused updates]: 5 parameters in two groups (lr 0.1 and 0.2) take two
    // calls per step, with 3 and 2 tensors, and end where one call per parameter ends.
    Generator gen(8);
    std::vector<Tensor> a, b;
    for (int i = 0; i < 5; ++i) {
        Tensor w = randn({7 + i, 3}, DType::f32, Device::cpu(), gen);
        a.push_back(clone(w).requires_grad_());
        b.push_back(clone(w).requires_grad_());
    }
    auto groups = [](const std::vector<Tensor>& w) {
        return std::vector<nn::ParamGroup>{{.params = {w[0], w[1], w[2]}},
                                           {.params = {w[3], w[4]}, .lr = 0.2}};
    };
    nn::SGD batched(groups(a), {.lr = 0.1, .momentum = 0.9});
    std::vector<std::unique_ptr<nn::SGD>> single;  // one optimizer per parameter
    for (int i = 0; i < 5; ++i)
        single.push_back(std::make_unique<nn::SGD>(std::vector<Tensor>{b[size_t(i)]},
                                                   nn::SGDOptions{.lr = i < 3 ? 0.1 : 0.2,
                                                                  .momentum = 0.9}));
    for (int step = 0; step < 3; ++step) {
        for (auto* w : {&a, &b}) {
            Tensor loss = zeros({}, DType::f32);
            for (const Tensor& p : *w) loss = loss + sum(p * p * p);
            loss.backward();
        }
        CountFused count;
        batched.step();
        CHECK(fused_calls == 2);
        CHECK(fused_tensors == 5);
        for (auto& opt : single) opt->step();
        batched.zero_grad();
        for (auto& opt : single) opt->zero_grad();
    }
    for (int i = 0; i < 5; ++i)
        CHECK(compare(a[size_t(i)], b[size_t(i)], tolerance(TolClass::exact, DType::f32)).ok);
}
