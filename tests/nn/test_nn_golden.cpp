// Golden tests of nn/ against PyTorch (fixtures from tests/golden/gen/gen_nn.py): every loss
// case's output and the gradients of its differentiable arguments in float64 and float32, and every
// SGD case's parameter trajectory over its steps plus the final momentum buffers. The cases and
// their options are read from the fixture's metadata, so there is one list of cases (the
// generator's).
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

namespace {

// A fixture argument in `dtype` (integer class indices stay int64), or nullopt if absent.
std::optional<Tensor> argument(const std::string& key, DType dtype) {
    if (!has(key)) return std::nullopt;
    const Tensor& t = get(key);
    return is_floating(t.dtype()) ? to(t, dtype) : t;
}

// Calls the loss a case names, with the case's options (PyTorch's keyword names and defaults).
Tensor call_loss(const json& o, const Tensor& input, const std::optional<Tensor>& target,
                 const std::optional<Tensor>& input2, const std::optional<Tensor>& weight,
                 const std::optional<Tensor>& pos_weight) {
    const std::string loss = o["loss"].get<std::string>();
    const std::string red = o.value("reduction", std::string("mean"));
    if (loss == "kl_div") {
        const std::map<std::string, nn::KlDivReduction> reductions = {
            {"none", nn::KlDivReduction::none},
            {"mean", nn::KlDivReduction::mean},
            {"sum", nn::KlDivReduction::sum},
            {"batchmean", nn::KlDivReduction::batchmean}};
        REQUIRE(reductions.count(red));
        nn::KlDivReduction r = reductions.at(red);
        return nn::kl_div(input, *target,
                          {.reduction = r, .log_target = o.value("log_target", false)});
    }
    if (loss == "cosine_similarity")
        return nn::cosine_similarity(input, *input2, o["dim"].get<int64_t>(),
                                     o["eps"].get<double>());
    nn::Reduction r = reduction_of(red);
    if (loss == "cross_entropy")
        return nn::cross_entropy(input, *target,
                                 {.weight = weight,
                                  .ignore_index = o.value("ignore_index", int64_t(-100)),
                                  .reduction = r,
                                  .label_smoothing = o.value("label_smoothing", 0.0)});
    if (loss == "nll_loss")
        return nn::nll_loss(input, *target,
                            {.weight = weight,
                             .ignore_index = o.value("ignore_index", int64_t(-100)),
                             .reduction = r});
    if (loss == "binary_cross_entropy")
        return nn::binary_cross_entropy(input, *target, {.weight = weight, .reduction = r});
    if (loss == "binary_cross_entropy_with_logits")
        return nn::binary_cross_entropy_with_logits(
            input, *target, {.weight = weight, .pos_weight = pos_weight, .reduction = r});
    if (loss == "mse_loss") return nn::mse_loss(input, *target, r);
    if (loss == "l1_loss") return nn::l1_loss(input, *target, r);
    if (loss == "smooth_l1_loss")
        return nn::smooth_l1_loss(input, *target, {.reduction = r, .beta = o.value("beta", 1.0)});
    if (loss == "huber_loss")
        return nn::huber_loss(input, *target, {.reduction = r, .delta = o.value("delta", 1.0)});
    if (loss == "cosine_embedding_loss")
        return nn::cosine_embedding_loss(input, *input2, *target,
                                         {.margin = o.value("margin", 0.0), .reduction = r});
    FAIL("the fixture names a loss this test does not know: ", loss);
    return input;
}

}  // namespace

TEST_CASE("golden: every loss against torch.nn.functional: output and gradients, f64 and f32") {
    auto cases = cases_with("loss");
    REQUIRE(cases.size() >= 50);
    std::set<std::string> losses;
    for (const auto& [name_binding, o] : cases) {
        const auto& name = name_binding;  // clang 14 cannot capture a binding (CAPTURE)
        losses.insert(o["loss"].get<std::string>());
        for (DType dtype : {DType::f64, DType::f32}) {
            CAPTURE(name);
            CAPTURE(dtype);
            std::string tag = dtype == DType::f64 ? "f64" : "f32";
            // The differentiable arguments are those the fixture has a gradient for.
            auto arg = [&](const std::string& key, const std::string& grad_key) {
                std::optional<Tensor> t = argument(name + "/" + key, dtype);
                if (t && has(fmt::format("{}/{}.{}", name, grad_key, tag)))
                    t = clone(*t).requires_grad_();
                return t;
            };
            std::optional<Tensor> input = arg("input", "grad"),
                                  target = arg("target", "grad_target"),
                                  input2 = arg("input2", "grad_input2");
            REQUIRE(input.has_value());
            Tensor out = call_loss(o, *input, target, input2, argument(name + "/weight", dtype),
                                   argument(name + "/pos_weight", dtype));
            // log_softmax/softplus/log/sqrt, then sums over classes and over the batch.
            Tolerance tol = tolerance(TolClass::transcendental, dtype);
            check_close(out, get(fmt::format("{}/out.{}", name, tag)), tol, "loss");
            out.backward(to(get(name + "/gout"), dtype));
            for (auto [t, grad_key] : {std::pair{input, "grad"}, std::pair{target, "grad_target"},
                                       std::pair{input2, "grad_input2"}}) {
                if (!t || !t->requires_grad()) continue;
                REQUIRE(t->has_grad());
                check_close(t->grad(), get(fmt::format("{}/{}.{}", name, grad_key, tag)), tol,
                            grad_key);
            }
        }
    }
    // Every loss of nn/losses.h is in the fixture.
    for (const char* loss :
         {"cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
          "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "cosine_similarity",
          "cosine_embedding_loss"})
        CHECK_MESSAGE(losses.count(loss), loss);
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
