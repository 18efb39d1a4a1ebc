// Golden tests of nn/ against PyTorch (fixtures from tests/golden/gen/gen_nn.py): every loss
// case's output and input gradient in float64 and float32, and every SGD case's parameter
// trajectory over its steps plus the final momentum buffers. The cases and their options are
// read from the fixture's metadata, so there is one list of cases (the generator's).
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <set>

#include "autograd/ops.h"
#include "nn/losses.h"
#include "nn/optim.h"
#include "tensor/safetensors.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;
using nlohmann::json;

namespace {

const SafetensorsFile& fixture() {
    static const SafetensorsFile file =
        load_safetensors(MARROW_SOURCE_DIR "/tests/golden/fixtures/nn.safetensors");
    return file;
}

bool has(const std::string& key) { return fixture().tensors.count(key) > 0; }

const Tensor& get(const std::string& key) {
    auto it = fixture().tensors.find(key);
    if (it == fixture().tensors.end())
        fail("nn golden fixture has no \"{}\": regenerate it with tests/golden/gen/gen_nn.py", key);
    return it->second;
}

// (name, options) of each case whose options contain `field`.
std::vector<std::pair<std::string, json>> cases_with(const std::string& field) {
    std::vector<std::pair<std::string, json>> out;
    for (const auto& [key, value] : fixture().metadata) {
        if (!key.starts_with("case.")) continue;
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

nn::Reduction reduction_of(const std::string& name) {
    if (name == "none") return nn::Reduction::none;
    if (name == "sum") return nn::Reduction::sum;
    REQUIRE(name == "mean");
    return nn::Reduction::mean;
}

// A fresh leaf copy of a fixture tensor in `dtype` (the fixture's own tensor stays untouched).
Tensor leaf(const std::string& key, DType dtype) {
    Tensor t = clone(to(get(key), dtype));
    t.requires_grad_();
    return t;
}

}  // namespace

TEST_CASE("golden: cross_entropy and nll_loss against torch.nn.functional, f64 and f32") {
    auto cases = cases_with("loss");
    REQUIRE(cases.size() >= 10);
    for (const auto& [name_binding, o] : cases) {
        const auto& name = name_binding;  // clang 14 cannot capture a binding (CAPTURE)
        for (DType dtype : {DType::f64, DType::f32}) {
            CAPTURE(name);
            CAPTURE(dtype);
            std::string tag = dtype == DType::f64 ? "f64" : "f32";
            Tensor x = leaf(name + "/input", dtype);
            std::optional<Tensor> weight;
            if (has(name + "/weight")) weight = to(get(name + "/weight"), dtype);
            const Tensor& target = get(name + "/target");
            Tensor out =
                o["loss"] == "cross_entropy"
                    ? nn::cross_entropy(
                          x, target,
                          {.weight = weight,
                           .ignore_index = o["ignore_index"].get<int64_t>(),
                           .reduction = reduction_of(o["reduction"].get<std::string>()),
                           .label_smoothing = o["label_smoothing"].get<double>()})
                    : nn::nll_loss(x, target,
                                   {.weight = weight,
                                    .ignore_index = o["ignore_index"].get<int64_t>(),
                                    .reduction = reduction_of(o["reduction"].get<std::string>())});
            // log_softmax's exp/log, then sums over classes and over the batch.
            Tolerance tol = tolerance(TolClass::transcendental, dtype);
            check_close(out, get(fmt::format("{}/out.{}", name, tag)), tol, "loss");
            out.backward(to(get(name + "/gout"), dtype));
            REQUIRE(x.has_grad());
            check_close(x.grad(), get(fmt::format("{}/grad.{}", name, tag)), tol, "input gradient");
        }
    }
}

TEST_CASE("golden: SGD parameter trajectories and momentum buffers against torch.optim.SGD") {
    auto cases = cases_with("lr");
    REQUIRE(cases.size() >= 4);
    // A few elementwise updates per step on float64, compounded over the steps.
    Tolerance tol = tolerance(TolClass::elementwise, DType::f64);
    for (const auto& [name_binding, o] : cases) {
        const auto& name = name_binding;  // clang 14 cannot capture a binding (CAPTURE)
        CAPTURE(name);
        const char* names[] = {"p", "q", "r"};  // r takes no part in the loss: never updated
        std::vector<Tensor> params;
        for (const char* n : names)
            params.push_back(leaf(fmt::format("{}/{}.step0", name, n), DType::f64));
        const Tensor &a = get(name + "/a"), &c = get(name + "/c"), &e = get(name + "/e"),
                     &f = get(name + "/f");
        nn::SGD opt(params, {.lr = o["lr"].get<double>(),
                             .momentum = o["momentum"].get<double>(),
                             .dampening = o["dampening"].get<double>(),
                             .weight_decay = o["weight_decay"].get<double>(),
                             .nesterov = o["nesterov"].get<bool>(),
                             .maximize = o["maximize"].get<bool>()});
        const Tensor &p = params[0], &q = params[1];
        int steps = o["steps"].get<int>();
        REQUIRE(steps > 0);
        for (int k = 1; k <= steps; ++k) {
            Tensor loss = 0.5 * sum(a * p * p) + sum(c * p) + 0.5 * sum(f * pow(q - e, 2.0));
            opt.zero_grad();
            loss.backward();
            CHECK_FALSE(params[2].has_grad());
            opt.step();
            for (size_t i = 0; i < params.size(); ++i)
                check_close(params[i], get(fmt::format("{}/{}.step{}", name, names[i], k)), tol,
                            fmt::format("{} after step {}", names[i], k));
        }
        // Our state names its tensors as the fixture does: one momentum buffer per parameter
        // that had a gradient, none for plain SGD.
        std::map<std::string, Tensor> state = opt.state();
        std::set<std::string> expected;
        for (const auto& [key, t] : fixture().tensors)
            if (key.starts_with(name + "/state.")) expected.insert(key.substr(name.size() + 7));
        std::set<std::string> ours;
        for (const auto& [key, t] : state)
            if (!key.starts_with("param_groups.")) ours.insert(key);  // group lr/wd entries
        CHECK(ours == expected);
        for (const std::string& key : expected)
            if (state.count(key)) check_close(state.at(key), get(name + "/state." + key), tol, key);
    }
}
