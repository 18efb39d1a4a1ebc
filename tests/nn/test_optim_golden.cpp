// Golden tests of nn/'s optimizers, schedules and clipping (fixtures from
// tests/golden/gen/gen_optim.py): every optimizer case's parameter trajectory over its steps
// and its final state by name (torch.optim for SGD/Adam/AdamW; the generator's
// re-implementations of SimCLR's LARS and apex's LARC), DINO's cosine_scheduler, torch's
// StepLR / MultiStepLR / ReduceLROnPlateau, clip_grad_norm_ / clip_grad_value_ and DINO's
// clip_gradients. The cases and their options are read from the fixture's metadata.
#include <doctest/doctest.h>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "autograd/ops.h"
#include "nn/adam.h"
#include "nn/clip.h"
#include "nn/lars.h"
#include "nn/schedule.h"
#include "tensor/safetensors.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;
using nlohmann::json;

namespace {

const SafetensorsFile& fixture() {
    static const SafetensorsFile file =
        load_safetensors(MARROW_SOURCE_DIR "/tests/golden/fixtures/optim.safetensors");
    return file;
}

const Tensor& get(const std::string& key) {
    auto it = fixture().tensors.find(key);
    if (it == fixture().tensors.end())
        fail(
            "optim golden fixture has no \"{}\": regenerate it with "
            "tests/golden/gen/gen_optim.py",
            key);
    return it->second;
}

// (name, options) of the cases whose name starts with `prefix` (after "case.") and whose
// options contain `field`.
std::vector<std::pair<std::string, json>> cases(const std::string& prefix,
                                                const std::string& field) {
    std::vector<std::pair<std::string, json>> out;
    for (const auto& [key, value] : fixture().metadata) {
        if (!key.starts_with("case." + prefix)) continue;
        json options = json::parse(value);
        if (options.contains(field)) out.emplace_back(key.substr(5), options);
    }
    return out;
}

void check_close(const Tensor& ours, const Tensor& ref, Tolerance tol, const std::string& what) {
    Comparison cmp = compare(ours, ref, tol);
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

double opt(const json& o, const char* key, double fallback) {
    return o.contains(key) ? o[key].get<double>() : fallback;
}

std::unique_ptr<nn::Optimizer> make_optimizer(const json& c, std::vector<nn::ParamGroup> groups,
                                              bool fused) {
    const json& d = c["defaults"];
    std::string kind = c["optimizer"];
    if (kind == "sgd" || kind == "larc") {
        nn::SGDOptions s{.lr = d["lr"].get<double>(),
                         .momentum = opt(d, "momentum", 0),
                         .dampening = opt(d, "dampening", 0),
                         .weight_decay = opt(d, "weight_decay", 0),
                         .nesterov = d.value("nesterov", false),
                         .maximize = d.value("maximize", false),
                         .fused = fused};
        if (kind == "sgd") return std::make_unique<nn::SGD>(std::move(groups), s);
        return std::make_unique<nn::LARC>(
            std::move(groups), s,
            nn::LARCOptions{.trust_coefficient = c["trust_coefficient"].get<double>(),
                            .clip = c["clip"].get<bool>()});
    }
    if (kind == "adam" || kind == "adamw") {
        double beta1 = 0.9, beta2 = 0.999;
        if (d.contains("betas")) beta1 = d["betas"][0], beta2 = d["betas"][1];
        bool amsgrad = d.value("amsgrad", false), maximize = d.value("maximize", false);
        if (kind == "adam")
            return std::make_unique<nn::Adam>(
                std::move(groups), nn::AdamOptions{.lr = d["lr"].get<double>(),
                                                   .beta1 = beta1,
                                                   .beta2 = beta2,
                                                   .eps = opt(d, "eps", 1e-8),
                                                   .weight_decay = opt(d, "weight_decay", 0),
                                                   .amsgrad = amsgrad,
                                                   .maximize = maximize});
        return std::make_unique<nn::AdamW>(
            std::move(groups), nn::AdamWOptions{.lr = d["lr"].get<double>(),
                                                .beta1 = beta1,
                                                .beta2 = beta2,
                                                .eps = opt(d, "eps", 1e-8),
                                                .weight_decay = opt(d, "weight_decay", 1e-2),
                                                .amsgrad = amsgrad,
                                                .maximize = maximize});
    }
    REQUIRE(kind == "lars");
    return std::make_unique<nn::LARS>(std::move(groups),
                                      nn::LARSOptions{.lr = d["lr"].get<double>(),
                                                      .momentum = opt(d, "momentum", 0.9),
                                                      .weight_decay = opt(d, "weight_decay", 0),
                                                      .eta = d["eta"].get<double>(),
                                                      .nesterov = d.value("nesterov", false),
                                                      .lr_outside_momentum =
                                                          d.value("lr_outside_momentum", false)});
}

nn::ParamGroup group_of(std::vector<Tensor> params, const json& overrides) {
    nn::ParamGroup g{.params = std::move(params)};
    if (overrides.contains("lr")) g.lr = overrides["lr"].get<double>();
    if (overrides.contains("weight_decay"))
        g.weight_decay = overrides["weight_decay"].get<double>();
    if (overrides.contains("layer_adaptation"))
        g.layer_adaptation = overrides["layer_adaptation"].get<bool>();
    return g;
}

Tensor leaf(const std::string& key) {
    Tensor t = clone(get(key));
    t.requires_grad_();
    return t;
}

}  // namespace

TEST_CASE("golden: optimizer trajectories and state with parameter groups and lr changes") {
    auto all = cases("", "optimizer");
    REQUIRE(all.size() >= 11);
    std::set<std::string> kinds;
    // fused: SGD/Adam/AdamW (and LARC's SGD step) through the optim_step kernel; false: the
    // composite reference. Both must reproduce torch.
    for (bool fused : {true, false}) {
        for (const auto& [name_binding, c] : all) {
            const auto& name = name_binding;  // clang 14 cannot capture a binding (CAPTURE)
            CAPTURE(name);
            CAPTURE(fused);
            kinds.insert(c["optimizer"].get<std::string>());
            const char* names[] = {"p", "q", "r"};  // r takes no part in the loss: never updated
            std::vector<Tensor> params;
            for (const char* n : names) params.push_back(leaf(fmt::format("{}/{}.step0", name, n)));
            const Tensor &a = get(name + "/a"), &cc = get(name + "/c"), &e = get(name + "/e"),
                         &f = get(name + "/f");
            std::vector<nn::ParamGroup> groups;
            groups.push_back(group_of({params[0]}, c["groups"][0]));
            groups.push_back(group_of({params[1], params[2]}, c["groups"][1]));
            auto optimizer = make_optimizer(c, std::move(groups), fused);
            std::vector<double> initial_lrs;
            for (const auto& g : optimizer->param_groups()) initial_lrs.push_back(g.lr);
            const Tensor &p = params[0], &q = params[1];
            int steps = c["steps"].get<int>();
            double decay = c["lr_decay"].get<double>();
            // A few steps of divisions and square roots on float64, compounded over the steps.
            Tolerance tol = tolerance(TolClass::optimizer, DType::f64);
            for (int k = 1; k <= steps; ++k) {
                for (size_t g = 0; g < initial_lrs.size(); ++g)
                    optimizer->param_groups()[g].lr = initial_lrs[g] * std::pow(decay, k - 1);
                Tensor loss = 0.5 * sum(a * p * p) + sum(cc * p) + 0.5 * sum(f * pow(q - e, 2.0));
                optimizer->zero_grad();
                loss.backward();
                optimizer->step();
                for (size_t i = 0; i < params.size(); ++i)
                    check_close(params[i], get(fmt::format("{}/{}.step{}", name, names[i], k)), tol,
                                fmt::format("{} after step {}", names[i], k));
            }
            std::map<std::string, Tensor> state = optimizer->state();
            std::set<std::string> expected, ours;
            for (const auto& [key, t] : fixture().tensors)
                if (key.starts_with(name + "/state.")) expected.insert(key.substr(name.size() + 7));
            for (const auto& [key, t] : state)
                if (!key.starts_with("param_groups.")) ours.insert(key);
            CHECK(ours == expected);
            for (const std::string& key : expected)
                if (state.count(key))
                    check_close(
                        state.at(key), get(name + "/state." + key),
                        key.ends_with(".step") ? tolerance(TolClass::exact, DType::i64) : tol, key);
        }
    }
    CHECK(kinds == std::set<std::string>{"sgd", "adam", "adamw", "lars", "larc"});
}

TEST_CASE("golden: cosine schedules against DINO's cosine_scheduler") {
    auto all = cases("sched.", "schedule");
    int cosine = 0;
    Tolerance tol = tolerance(TolClass::transcendental, DType::f64);  // numpy's cos vs libm
    for (const auto& [name_binding, c] : all) {
        const auto& name = name_binding;
        if (c["schedule"] != "cosine") continue;
        CAPTURE(name);
        ++cosine;
        const json& a = c["args"];
        double base = a[0], final = a[1], start = a[5];
        int64_t epochs = a[2], niter = a[3], warmup_epochs = a[4];
        std::vector<double> ours =
            nn::cosine_scheduler(base, final, epochs, niter, warmup_epochs, start);
        const Tensor& ref = get(name + "/values");
        check_close(from_vector<double>(ours), ref, tol, "cosine_scheduler");
        nn::WarmupCosine sched(base, final, epochs * niter, warmup_epochs * niter, start);
        std::vector<double> at;
        for (int64_t i = 0; i < epochs * niter; ++i) at.push_back(sched.at(i));
        check_close(from_vector<double>(at), ref, tol, "WarmupCosine");
        CHECK(sched.at(epochs * niter + 5) == final);  // past the end: the final value
    }
    CHECK(cosine >= 6);
}

TEST_CASE("golden: StepLR and MultiStepLR over two groups, as relative schedulers") {
    int n = 0;
    for (const auto& [name_binding, c] : cases("sched.", "schedule")) {
        const auto& name = name_binding;
        if (c["schedule"] == "cosine") continue;
        CAPTURE(name);
        ++n;
        Tensor w = zeros({2}, DType::f64).requires_grad_(),
               v = zeros({2}, DType::f64).requires_grad_();
        nn::SGD sgd(std::vector<nn::ParamGroup>{{.params = {w}}, {.params = {v}, .lr = 0.05}},
                    {.lr = 0.1});
        std::shared_ptr<nn::Schedule> schedule;
        if (c["schedule"] == "step")
            schedule = std::make_shared<nn::StepSchedule>(1.0, c["step_size"].get<int64_t>(),
                                                          c["gamma"].get<double>());
        else
            schedule = std::make_shared<nn::MultiStepSchedule>(
                1.0, c["milestones"].get<std::vector<int64_t>>(), c["gamma"].get<double>());
        nn::Scheduler sched(sgd, schedule, {.relative = true});
        const Tensor& ref = get(name + "/lr");
        std::vector<double> lrs;
        for (int64_t k = 0; k < ref.size(0); ++k) {
            for (const auto& g : sgd.param_groups()) lrs.push_back(g.lr);
            sched.step();
        }
        // torch multiplies the lr by gamma at each milestone, we take base * gamma^k: an ulp.
        check_close(from_vector<double>(lrs, ref.shape()), ref,
                    tolerance(TolClass::elementwise, DType::f64), "lr");
    }
    CHECK(n == 2);
}

TEST_CASE("golden: ReduceLROnPlateau against torch") {
    auto all = cases("plateau.", "patience");
    REQUIRE(all.size() >= 4);
    for (const auto& [name_binding, c] : all) {
        const auto& name = name_binding;
        CAPTURE(name);
        Tensor w = zeros({2}, DType::f64).requires_grad_(),
               v = zeros({2}, DType::f64).requires_grad_();
        nn::SGD sgd(std::vector<nn::ParamGroup>{{.params = {w}}, {.params = {v}, .lr = 0.05}},
                    {.lr = 0.1});
        nn::ReduceLROnPlateau sched(
            sgd, {.mode = c["mode"] == "min" ? nn::PlateauMode::min : nn::PlateauMode::max,
                  .factor = c["factor"].get<double>(),
                  .patience = c["patience"].get<int64_t>(),
                  .threshold = c["threshold"].get<double>(),
                  .threshold_mode = c["threshold_mode"] == "rel" ? nn::ThresholdMode::rel
                                                                 : nn::ThresholdMode::abs,
                  .cooldown = c["cooldown"].get<int64_t>(),
                  .min_lr = c["min_lr"].get<std::vector<double>>(),
                  .eps = c["eps"].get<double>()});
        const Tensor& metrics = get(name + "/metrics");
        std::vector<double> lrs, best;
        std::vector<int64_t> bad;
        for (int64_t k = 0; k < metrics.size(0); ++k) {
            sched.step(metrics.data<double>()[k]);
            for (const auto& g : sgd.param_groups()) lrs.push_back(g.lr);
            best.push_back(sched.best());
            bad.push_back(sched.num_bad_epochs());
        }
        const Tensor& ref = get(name + "/lr");
        check_close(from_vector<double>(lrs, ref.shape()), ref,
                    tolerance(TolClass::elementwise, DType::f64), "lr");
        check_close(from_vector<double>(best), get(name + "/best"),
                    tolerance(TolClass::exact, DType::f64), "best");
        check_close(from_vector<int64_t>(bad), get(name + "/num_bad_epochs"),
                    tolerance(TolClass::exact, DType::i64), "num_bad_epochs");
    }
}

TEST_CASE("golden: clip_grad_norm_, clip_grad_value_ and DINO's clip_gradients") {
    auto all = cases("clip.", "kind");
    REQUIRE(all.size() >= 8);
    for (const auto& [name_binding, c] : all) {
        const auto& name = name_binding;
        CAPTURE(name);
        DType dtype = get(name + "/g0").dtype();
        std::vector<Tensor> params;
        for (int i = 0; i < 3; ++i) {
            const Tensor& g = get(fmt::format("{}/g{}", name, i));
            params.push_back(zeros(g.shape(), dtype).requires_grad_());
            params.back().set_grad(clone(g));
        }
        params.push_back(zeros({3}, dtype).requires_grad_());  // no gradient: skipped
        // Norms are sums over up to 20 elements, then one division per element.
        Tolerance tol = tolerance(TolClass::reduction, dtype);
        std::string fn = c["kind"];
        if (fn == "norm") {
            double norm_type = 2;
            if (c.contains("norm_type"))
                norm_type =
                    c["norm_type"].is_string() ? nn::kInfNorm : c["norm_type"].get<double>();
            Tensor total = nn::clip_grad_norm_(params, c["max_norm"].get<double>(), norm_type);
            check_close(total, get(name + "/total"), tol, "total norm");
        } else if (fn == "value") {
            nn::clip_grad_value_(params, c["clip_value"].get<double>());
        } else {
            std::vector<double> norms = nn::clip_gradients(params, c["clip"].get<double>());
            check_close(from_vector<double>(norms), get(name + "/norms"), tol, "norms");
        }
        for (int i = 0; i < 3; ++i)
            check_close(params[size_t(i)].grad(), get(fmt::format("{}/out{}", name, i)), tol,
                        fmt::format("gradient {}", i));
        CHECK_FALSE(params[3].has_grad());
    }
}
