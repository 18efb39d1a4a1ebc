// The SSL heads (ssl/heads.h) against PyTorch transcriptions of the reference code (fixture
// from tests/golden/gen/gen_ssl_heads.py): each config's state_dict loads strictly by
// PyTorch's keys in PyTorch's order; forward, input and parameter gradients, BN running
// statistics, 3 AdamW steps (losses and final state) in float64, the float32 forward in eval
// mode. Then the properties the trainer relies on: unit prototypes after
// normalize_prototypes, frozen weight_g untouched by a step, the last-layer selection, and
// shape errors naming the head and the shape.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <tuple>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/adam.h"
#include "ssl/heads.h"
#include "tensor/error.h"
#include "tensor/factory.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

const Tensor& get(const std::string& key) {
    return golden_tensor("ssl_heads", key, "gen_ssl_heads.py");
}

nlohmann::json meta(const std::string& key) {
    return nlohmann::json::parse(golden_fixture("ssl_heads").metadata.at(key));
}

void check_close(const Tensor& ours, const Tensor& ref, Tolerance tol, const std::string& what) {
    REQUIRE_MESSAGE(ours.shape() == ref.shape(), what, ": shape ", fmt::format("{}", ours.shape()),
                    " vs ", fmt::format("{}", ref.shape()));
    Comparison cmp = compare(ours.to(ref.dtype()), ref, tol);
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

std::vector<std::string> sorted(std::vector<std::string> keys) {
    std::sort(keys.begin(), keys.end());
    return keys;
}

// A Linear bias feeding a train-mode BatchNorm1d ("P.i.bias" with "P.(i+1).running_mean"), or
// that BN's running mean: its exact gradient is 0, so Adam moves it by rounding noise only.
bool null_gradient(const nn::StateDict& sd, const std::string& key) {
    auto split = [](const std::string& k) {
        auto leaf = k.rfind('.');
        auto index = k.rfind('.', leaf - 1);
        std::string prefix = index == std::string::npos ? "" : k.substr(0, index + 1);
        std::string num = k.substr(index == std::string::npos ? 0 : index + 1,
                                   leaf - (index == std::string::npos ? 0 : index + 1));
        return std::tuple{prefix, num, k.substr(leaf + 1)};
    };
    // (named, not a structured binding: clang 14 cannot capture those in the lambda below)
    const auto parts = split(key);
    const std::string prefix = std::get<0>(parts), num = std::get<1>(parts),
                      leaf = std::get<2>(parts);
    if (num.empty() || !std::all_of(num.begin(), num.end(), ::isdigit)) return false;
    int i = std::stoi(num);
    auto at = [&](int j, const std::string& l) {
        return sd.find(prefix + std::to_string(j) + "." + l) != nullptr;
    };
    if (leaf == "bias" && at(i + 1, "running_mean")) return true;
    return leaf == "running_mean" && i > 0 && at(i - 1, "bias") && !at(i - 1, "running_mean");
}

// One head of any kind behind a common call: forward returns (output, embedding or none).
struct Head {
    std::shared_ptr<nn::Module> module;
    std::function<std::pair<Tensor, std::optional<Tensor>>(const Tensor&)> run;
};

Head make(const nlohmann::json& c) {
    std::string kind = c["kind"];
    if (kind == "projection") {
        ssl::ProjectionHeadOptions o;
        o.in = c["in"], o.hidden = c["hidden"], o.out = c["out"], o.layers = c["layers"];
        o.batch_norm = c["batch_norm"], o.bias = c["bias"], o.last_bias = c["last_bias"];
        o.last_batch_norm = c["last_batch_norm"], o.last_bn_center = c["last_bn_center"];
        auto h = std::make_shared<ssl::ProjectionHead>(o);
        return {h, [h](const Tensor& x) {
                    return std::pair{h->forward(x), std::optional<Tensor>()};
                }};
    }
    if (kind == "swav") {
        auto h = std::make_shared<ssl::SwavHead>(ssl::SwavHeadOptions{
            .in = c["in"], .hidden = c["hidden"], .out = c["out"], .prototypes = c["prototypes"]});
        return {h, [h](const Tensor& x) {
                    ssl::SwavOutput o = h->forward(x);
                    return std::pair{o.scores, std::optional<Tensor>(o.embedding)};
                }};
    }
    ssl::DinoHeadOptions o = kind == "dino_v1" ? ssl::DinoHeadOptions::dino(c["in"], c["out"])
                                               : ssl::DinoHeadOptions::dinov2(c["in"], c["out"]);
    o.use_bn = c["use_bn"], o.nlayers = c["nlayers"], o.hidden = c["hidden"];
    o.bottleneck = c["bottleneck"];
    if (c.contains("norm_last_layer")) o.norm_last_layer = c["norm_last_layer"];
    if (c.contains("mlp_bias")) o.mlp_bias = c["mlp_bias"];
    auto h = std::make_shared<ssl::DinoHead>(o);
    return {h, [h](const Tensor& x) { return std::pair{h->forward(x), std::optional<Tensor>()}; }};
}

// The fixture's state dict of config `name` (PyTorch's keys, in its order).
nn::StateDict fixture_state(const std::string& name, const std::string& part) {
    nn::StateDict sd;
    for (const auto& key : meta("keys." + name))
        sd.insert(key.get<std::string>(), get(name + "/" + part + "/" + key.get<std::string>()));
    return sd;
}

Tensor loss_of(const std::string& p, const std::pair<Tensor, std::optional<Tensor>>& out) {
    Tensor loss = sum(out.first * get(p + "r"));
    if (out.second) loss = loss + sum(*out.second * get(p + "r2"));
    return loss;
}

void check_config(const std::string& name) {
    CAPTURE(name);
    const std::string p = name + "/";
    nlohmann::json c = meta("config." + name);
    Head head = make(c);
    bool swav = c["kind"] == "swav";
    auto* swav_head = swav ? static_cast<ssl::SwavHead*>(head.module.get()) : nullptr;
    auto step = [&](const Tensor& x) {
        if (swav_head) swav_head->normalize_prototypes();  // main_swav.py, before each forward
        return head.run(x);
    };
    head.module->to(DType::f64);

    // Keys: PyTorch's, in PyTorch's order; a strict load.
    std::vector<std::string> theirs;
    for (const auto& k : meta("keys." + name)) theirs.push_back(k.get<std::string>());
    // (marrow lists parameters before buffers; PyTorch interleaves them per module)
    CHECK_MESSAGE(sorted(head.module->state_dict().keys()) == sorted(theirs),
                  fmt::format("ours: {}", fmt::join(head.module->state_dict().keys(), ", ")));
    nn::StateDict sd = fixture_state(name, "sd");
    head.module->load_state_dict(sd);

    // Forward and backward, train mode.
    Tolerance tol = tolerance(TolClass::model, DType::f64);
    Tensor x = get(p + "x").clone();
    x.requires_grad_(true);
    auto out = step(x);
    Tensor loss = loss_of(p, out);
    loss.backward();
    check_close(out.first, get(p + "out"), tol, "output");
    if (out.second) check_close(*out.second, get(p + "embedding"), tol, "embedding");
    check_close(loss.reshape({1}), get(p + "loss"), tol, "loss");
    check_close(x.grad(), get(p + "x.grad"), tol, "input gradient");
    int with_grad = 0;
    for (auto& entry : head.module->named_parameters()) {
        const std::string& key = entry.first;
        auto& param = entry.second;
        CAPTURE(key);
        std::string gkey = p + "grad/" + key;
        bool torch_has = golden_fixture("ssl_heads").tensors.count(gkey) != 0;
        CHECK_MESSAGE(param.requires_grad() == torch_has, "requires_grad differs from PyTorch's");
        if (!torch_has) continue;
        check_close(param.grad(), get(gkey), tol, "gradient of " + key);
        ++with_grad;
    }
    CHECK(with_grad > 0);
    for (auto& [key, buffer] : head.module->named_buffers())
        check_close(buffer, get(p + "buffers/" + key), tolerance(TolClass::reduction, DType::f64),
                    "buffer " + key);

    // 3 AdamW steps from a fresh load; frozen parameters have no gradient and are skipped.
    head.module->load_state_dict(sd);
    head.module->zero_grad();
    nn::AdamW opt(head.module->parameters(), {.lr = 1e-2, .weight_decay = 0.05});
    const double* ref_losses = get(p + "adamw_losses").data<double>();
    for (int i = 0; i < 3; ++i) {
        opt.zero_grad();
        Tensor l = loss_of(p, step(get(p + "x")));
        l.backward();
        opt.step();
        INFO("AdamW step ", i, ": ", fmt::format("{:.17g} vs {:.17g}", l.item(), ref_losses[i]));
        CHECK(l.item() == doctest::Approx(ref_losses[i])
                              .epsilon(tolerance(TolClass::trajectory, DType::f64).rtol));
    }
    nn::StateDict after = fixture_state(name, "after");
    for (const auto& [key, value] : head.module->state_dict())
        check_close(value, after.at(key),
                    tolerance(null_gradient(after, key) ? TolClass::adam_null_gradient
                                                        : TolClass::optimizer,
                              DType::f64),
                    "after 3 AdamW steps: " + key);

    // float32, eval mode, no prototype normalization (as the generator).
    head.module->load_state_dict(sd);
    head.module->to(DType::f32);
    head.module->eval();
    autograd::NoGradGuard no_grad;
    check_close(head.run(get(p + "x").to(DType::f32)).first, get(p + "out.f32"),
                tolerance(TolClass::matmul, DType::f32), "float32 output");
}

}  // namespace

TEST_CASE("SimCLR projection heads match PyTorch (v1 paper, TF2 3-layer with BN)") {
    check_config("proj_v1");
    check_config("proj_tf2");
}

TEST_CASE("SwAV head matches swav's resnet50.py head: embedding, scores, prototypes") {
    check_config("swav");
}

TEST_CASE("DINO heads match dino's and dinov2's DINOHead (weight norm, BN, 1 layer, patches)") {
    check_config("dino");
    check_config("dino_bn");
    check_config("dino_1layer");
    check_config("dinov2_patch");
}

TEST_CASE("ProjectionHead: presets, keys and the frozen center=False bias") {
    ssl::ProjectionHead seed(ssl::ProjectionHeadOptions::ssl_mil());
    nn::StateDict sd = seed.state_dict();
    CHECK(sd.keys() == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
    CHECK(sd.at("0.weight").shape() == Shape{512, 512});
    CHECK(sd.at("2.weight").shape() == Shape{64, 512});
    CHECK(seed.forward(randn({3, 512})).shape() == Shape{3, 64});

    ssl::ProjectionHead tf2(ssl::ProjectionHeadOptions::simclr_tf2(2048, 128));
    std::vector<std::string> keys = tf2.state_dict().keys();
    CHECK(keys.front() == "0.weight");
    CHECK(tf2.state_dict().find("0.bias") == nullptr);  // the BN centers instead
    CHECK(tf2.state_dict().at("6.weight").shape() == Shape{128, 2048});
    CHECK(tf2.state_dict().find("6.bias") == nullptr);
    CHECK(tf2.state_dict().at("7.running_mean").shape() == Shape{128});
    int trainable = 0;
    for (auto& entry : tf2.named_parameters()) {
        const std::string& key = entry.first;
        auto& prm = entry.second;
        CAPTURE(key);
        CHECK(prm.requires_grad() == (key != "7.bias"));
        trainable += prm.requires_grad();
    }
    CHECK(trainable == 3 + 2 + 2 + 1);  // 3 Linear weights, 2 middle BNs (w, b), last BN w
    // TF2's dense init: N(0, 0.01).
    Tensor w = tf2.state_dict().at("0.weight");
    double std = std::sqrt(mean(w * w).item());
    CHECK(std == doctest::Approx(0.01).epsilon(0.02));

    CHECK_THROWS_WITH_AS(seed.forward(randn({3, 256})),
                         doctest::Contains("ProjectionHead(512 -> 64): input of shape [3, 256]"),
                         Error);
    CHECK_THROWS_WITH_AS(seed.forward(randn({2, 3, 512})),
                         doctest::Contains("[2, 3, 512] is not (B, 512)"), Error);
}

TEST_CASE("SwavHead: unit prototypes after normalize_prototypes, no gradient recorded") {
    ssl::SwavHead head({.in = 16, .hidden = 32, .out = 8, .prototypes = 300});
    CHECK(sorted(head.state_dict().keys()) ==
          sorted({"projection_head.0.weight", "projection_head.0.bias", "projection_head.1.weight",
                  "projection_head.1.bias", "projection_head.1.running_mean",
                  "projection_head.1.running_var", "projection_head.1.num_batches_tracked",
                  "projection_head.3.weight", "projection_head.3.bias", "prototypes.weight"}));
    Tensor w = head.prototypes->weight;
    Tensor before = w.clone();
    head.normalize_prototypes();
    CHECK(w.requires_grad());
    CHECK(!w.has_grad());
    CHECK(w.grad_fn() == nullptr);  // still a leaf
    Tensor norms = norm(w, 2, {1});
    check_close(norms, ones({300}), tolerance(TolClass::elementwise, DType::f32), "row norms");
    // Same directions.
    Tensor cos = sum(w * before, {1}) / norm(before, 2, {1});
    check_close(cos, ones({300}), tolerance(TolClass::reduction, DType::f32), "directions");

    ssl::SwavOutput out = head.forward(randn({4, 16}));
    CHECK(out.embedding.shape() == Shape{4, 8});
    CHECK(out.scores.shape() == Shape{4, 300});
    check_close(norm(out.embedding, 2, {1}), ones({4}), tolerance(TolClass::reduction, DType::f32),
                "embedding norms");
    // Scores are cosines once both sides are unit vectors.
    CHECK(max(abs(out.scores)).item() <= 1 + 1e-6);

    // hidden = 0: a single Linear under projection_head; the seed's 3-layer MLP.
    ssl::SwavHead linear({.in = 16, .hidden = 0, .out = 8, .prototypes = 30});
    CHECK(linear.state_dict().keys() == std::vector<std::string>{"projection_head.weight",
                                                                 "projection_head.bias",
                                                                 "prototypes.weight"});
    ssl::SwavHead three({.in = 16, .hidden = 32, .out = 8, .prototypes = 30, .layers = 3});
    CHECK(three.state_dict().at("projection_head.3.weight").shape() == Shape{32, 32});
    CHECK(three.state_dict().at("projection_head.6.weight").shape() == Shape{8, 32});

    CHECK_THROWS_WITH_AS(head.forward(randn({4, 15})),
                         doctest::Contains("SwavHead(16 -> 8 -> 300 prototypes): input of shape "
                                           "[4, 15] is not (B, 16)"),
                         Error);
}

TEST_CASE("DinoHead: init, frozen weight_g untouched by AdamW, last-layer selection, errors") {
    ssl::DinoHead head(ssl::DinoHeadOptions::dino(12, 300));
    nn::StateDict sd = head.state_dict();
    CHECK(sd.keys() == std::vector<std::string>{"mlp.0.weight", "mlp.0.bias", "mlp.2.weight",
                                                "mlp.2.bias", "mlp.4.weight", "mlp.4.bias",
                                                "last_layer.weight_g", "last_layer.weight_v"});
    CHECK(sd.at("mlp.0.weight").shape() == Shape{2048, 12});
    CHECK(sd.at("mlp.4.weight").shape() == Shape{256, 2048});
    CHECK(sd.at("last_layer.weight_g").shape() == Shape{300, 1});
    CHECK(sd.at("last_layer.weight_v").shape() == Shape{300, 256});
    CHECK(equal(sd.at("last_layer.weight_g"), ones({300, 1})));
    CHECK(equal(sd.at("mlp.2.bias"), zeros({2048})));
    // trunc_normal(std .02) in [-2, 2]; weight_v: nn.Linear's U(-1/16, 1/16).
    Tensor w = sd.at("mlp.2.weight");
    CHECK(std::sqrt(mean(w * w).item()) == doctest::Approx(0.02).epsilon(0.02));
    CHECK(max(abs(sd.at("last_layer.weight_v"))).item() <= 1.0 / 16);
    CHECK(max(abs(sd.at("last_layer.weight_v"))).item() > 0.9 / 16);

    // Logits are cosines with g = 1; (B, N, in) patch tokens give (B, N, K).
    Tensor cls = randn({3, 12}), patches = randn({2, 5, 12});
    Tensor logits = head.forward(cls);
    CHECK(logits.shape() == Shape{3, 300});
    CHECK(max(abs(logits)).item() <= 1 + 1e-6);
    Tensor patch_logits = head.forward(patches);
    CHECK(patch_logits.shape() == Shape{2, 5, 300});
    check_close(narrow(patch_logits, 0, 1, 1).reshape({5, 300}),
                head.forward(narrow(patches, 0, 1, 1).reshape({5, 12})),
                tolerance(TolClass::matmul, DType::f32), "patch rows = rows");

    // The frozen g: no gradient, skipped by AdamW (weight decay included), while v moves.
    auto last = head.last_layer_parameters();
    REQUIRE(last.size() == 2);
    CHECK(last[0].first == "last_layer.weight_g");
    CHECK(last[1].first == "last_layer.weight_v");
    CHECK(!head.last_layer->weight_g.requires_grad());
    nn::AdamW opt(head.parameters(), {.lr = 1e-2, .weight_decay = 0.5});
    Tensor v_before = head.last_layer->weight_v.clone();
    sum(head.forward(cls) * randn({3, 300})).backward();
    CHECK(!head.last_layer->weight_g.has_grad());
    opt.step();
    CHECK(equal(head.last_layer->weight_g, ones({300, 1})));
    CHECK(!equal(head.last_layer->weight_v, v_before));

    // freeze_last_layer: cancel_gradients drops exactly the last layer's gradients.
    opt.zero_grad();
    sum(head.forward(cls) * randn({3, 300})).backward();
    CHECK(head.last_layer->weight_v.has_grad());
    ssl::cancel_gradients(head);
    CHECK(!head.last_layer->weight_v.has_grad());
    for (auto& entry : head.named_parameters())
        if (entry.first.rfind("mlp.", 0) == 0) CHECK_MESSAGE(entry.second.has_grad(), entry.first);

    // DINOv2: trainable g; use_bn; mlp_bias false; nlayers 1.
    ssl::DinoHeadOptions o = ssl::DinoHeadOptions::dinov2(12, 40);
    o.hidden = 16, o.bottleneck = 8, o.use_bn = true, o.mlp_bias = false;
    ssl::DinoHead v2(o);
    CHECK(v2.last_layer->weight_g.requires_grad());
    CHECK(sorted(v2.state_dict().keys()) ==
          sorted({"mlp.0.weight", "mlp.1.weight", "mlp.1.bias", "mlp.1.running_mean",
                  "mlp.1.running_var", "mlp.1.num_batches_tracked", "mlp.3.weight", "mlp.4.weight",
                  "mlp.4.bias", "mlp.4.running_mean", "mlp.4.running_var",
                  "mlp.4.num_batches_tracked", "mlp.6.weight", "last_layer.weight_g",
                  "last_layer.weight_v"}));
    CHECK(v2.last_layer_parameters().size() == 2);
    CHECK(v2.forward(randn({2, 4, 12})).shape() == Shape{2, 4, 40});  // BN over the 8 rows
    o.nlayers = 1;
    ssl::DinoHead one(o);
    CHECK(one.state_dict().keys() ==
          std::vector<std::string>{"mlp.weight", "last_layer.weight_g", "last_layer.weight_v"});

    CHECK_THROWS_WITH_AS(head.forward(randn({3, 11})),
                         doctest::Contains("DinoHead(12 -> 300): input of shape [3, 11] is not "
                                           "(B, 12) or (B, N, 12)"),
                         Error);
    CHECK_THROWS_WITH_AS(head.forward(randn({1, 2, 3, 12})),
                         doctest::Contains("input of shape [1, 2, 3, 12]"), Error);
}
