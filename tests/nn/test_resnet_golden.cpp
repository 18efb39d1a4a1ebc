// ResNet-18 and ResNet-50 against torchvision (fixture from tests/golden/gen/gen_resnet.py):
// the weights come from the generator's counter-based formula (re-implemented below from its
// description), built under torchvision's state_dict keys and loaded by key; then the
// train-mode logits, loss, input gradient and every parameter gradient (sums and samples),
// the eval-mode logits after one train-mode pass, and the losses of 5 SGD-momentum steps.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/losses.h"
#include "nn/models/resnet.h"
#include "nn/optim.h"
#include "tensor/factory.h"
#include "tensor/safetensors.h"
#include "tests/compare.h"
#include "tests/nn/formula_weights.h"

using namespace marrow;
using namespace marrow::test;

namespace {

const SafetensorsFile& fixture() {
    static const SafetensorsFile file =
        load_safetensors(MARROW_SOURCE_DIR "/tests/golden/fixtures/resnet.safetensors");
    return file;
}

const Tensor& get(const std::string& key) {
    auto it = fixture().tensors.find(key);
    if (it == fixture().tensors.end())
        fail("resnet golden fixture has no \"{}\": regenerate it with gen_resnet.py", key);
    return it->second;
}

// ---- the generator's weight formula (tests/nn/formula_weights.h)
Tensor formula(const std::string& key, const Shape& shape) {
    std::string leaf = key.substr(key.rfind('.') + 1);
    int64_t n = shape_numel(shape);
    if (leaf == "num_batches_tracked") return zeros(shape, DType::i64);
    uint64_t seed = fnv1a64(key);
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        double u = formula_uniform(seed, uint64_t(i)), x;
        if (leaf == "running_mean")
            x = 0.1 * (2 * u - 1);
        else if (leaf == "running_var")
            x = 1 + 0.5 * u;
        else if (shape.size() >= 2)
            x = (2 * u - 1) * std::sqrt(6.0 / double(n / shape[0]));
        else if (key == "fc.bias")
            x = 0.01 * (2 * u - 1);
        else if (leaf == "weight")
            x = 1 + 0.2 * (2 * u - 1);
        else
            x = 0.1 * (2 * u - 1);
        v[size_t(i)] = float(x);
    }
    return from_vector(v, shape);
}

// The model's state dict rebuilt from the formula under torchvision's keys.
nn::StateDict torchvision_weights(const std::string& name, nn::Module& model) {
    auto keys = nlohmann::json::parse(fixture().metadata.at("keys." + name));
    nn::StateDict own = model.state_dict(), sd;
    for (const auto& key : keys) {
        std::string k = key.get<std::string>();
        const Tensor* mine = own.find(k);
        REQUIRE_MESSAGE(mine != nullptr, "marrow's ", name, " has no key ", k);
        sd.insert(k, formula(k, mine->shape()));
    }
    CHECK(own.size() == keys.size());  // and no key of its own beyond torchvision's
    return sd;
}

std::shared_ptr<nn::models::ResNet> make(const std::string& name) {
    return name == "resnet18" ? nn::models::resnet18() : nn::models::resnet50();
}

void check_close(const Tensor& ours, const Tensor& ref, Tolerance tol, const std::string& what) {
    Comparison cmp = compare(ours, ref, tol);
    INFO(what, ": ", cmp.detail);
    CHECK(cmp.ok);
}

void check_model(const std::string& name) {
    const std::string p = name + "/";
    auto model = make(name);
    model->load_state_dict(torchvision_weights(name, *model));
    Tensor target = get(p + "target");
    model->train();
    {
        // float32, the everyday dtype: the forward pass.
        autograd::NoGradGuard no_grad;
        check_close(model->forward(to(get(p + "x"), DType::f32)), get(p + "logits.train.f32"),
                    tolerance(TolClass::model, DType::f32), "float32 train-mode logits");
    }
    // float64 for the rest (the fixture's note: a batch of 2 makes batch-norm's backward
    // ill-conditioned in float32). The train-mode pass above moved the running statistics:
    // load the weights again.
    model->to(DType::f64);
    model->load_state_dict(torchvision_weights(name, *model));
    Tensor x = get(p + "x").clone().requires_grad_();
    Tolerance tol = tolerance(TolClass::model, DType::f64);

    Tensor logits = model->forward(x);
    check_close(logits, get(p + "logits.train"), tol, "train-mode logits");
    Tensor loss = nn::cross_entropy(logits, target);
    check_close(loss.reshape({1}), get(p + "loss"), tol, "loss");
    loss.backward();
    check_close(x.grad(), get(p + "x.grad"), tol, "input gradient");
    for (const auto& [key, param] : model->named_parameters()) {
        Tensor g = to(param.grad().reshape({-1}), DType::f64);
        Tensor stats = stack({sum(g), sum(abs(g))});
        // Sums of thousands of terms: compared relative to the sum of magnitudes.
        Tensor ref = get(p + "grad_stats/" + key);
        double scale = ref.data<double>()[1];
        check_close(stats / scale, ref / scale, tol, "gradient sums of " + key);
        std::vector<int64_t> positions;
        for (int64_t i = 0; i < 16; ++i) positions.push_back(i * 7919 % g.numel());
        Tensor idx = from_vector(positions);
        Tensor sample = index_select(g, 0, idx);
        Tensor ref_sample = get(p + "grad_sample/" + key);
        double peak = max(abs(ref_sample)).item();
        check_close(sample / peak, ref_sample / peak, tol, "gradient samples of " + key);
    }
    model->eval();
    {
        autograd::NoGradGuard no_grad;
        check_close(model->forward(get(p + "x")), get(p + "logits.eval"), tol, "eval-mode logits");
    }

    // 5 SGD-momentum steps from the formula's weights.
    model->load_state_dict(torchvision_weights(name, *model));
    model->train();
    nn::SGD opt(model->parameters(), {.lr = 0.001, .momentum = 0.9, .weight_decay = 1e-4});
    const double* ref_losses = get(p + "sgd_losses").data<double>();
    for (int step = 0; step < 5; ++step) {
        opt.zero_grad();
        Tensor l = nn::cross_entropy(model->forward(get(p + "x")), target);
        l.backward();
        opt.step();
        INFO(name, " SGD step ", step, ": ", fmt::format("{:.17g} vs {:.17g}", l.item(), ref_losses[step]));
        CHECK(l.item() == doctest::Approx(ref_losses[step])
                               .epsilon(tolerance(TolClass::trajectory, DType::f64).rtol));
    }
}

}  // namespace

TEST_CASE("ResNet-18 matches torchvision: keys, forward, backward, eval, 5 SGD steps") {
    check_model("resnet18");
}

TEST_CASE("ResNet-50 matches torchvision: keys, forward, backward, eval, 5 SGD steps") {
    check_model("resnet50");
}

TEST_CASE("ResNet: structure and options") {
    auto r18 = nn::models::resnet18({.num_classes = 7});
    CHECK(r18->forward(randn({1, 3, 64, 64})).shape() == Shape{1, 7});
    CHECK(r18->feature_dim() == 512);
    r18->set_fc(std::make_shared<nn::Identity>());
    CHECK(r18->forward(randn({2, 3, 64, 64})).shape() == Shape{2, 512});
    CHECK_FALSE(r18->state_dict().contains("fc.weight"));
    auto r50 = nn::models::resnet50({.num_classes = 10, .zero_init_residual = true});
    CHECK(r50->feature_dim() == 2048);
    // zero_init_residual: the last BN of every block starts at 0, the others at 1.
    nn::StateDict sd = r50->state_dict();
    CHECK(equal(sd.at("layer1.0.bn3.weight"), zeros({256})));
    CHECK(equal(sd.at("layer1.0.bn2.weight"), ones({64})));
    // The Bottleneck's stride is on its 3x3 conv (v1.5), as torchvision.
    auto& conv2 = static_cast<nn::Conv2d&>(r50->submodule("layer2.0.conv2"));
    CHECK(conv2.options().stride == nn::Size2(2));
    CHECK_THROWS_WITH_AS(r18->forward(randn({2, 1, 64, 64})),
                         doctest::Contains("expected input of shape (N, 3, H, W)"), Error);
}
