// nn::Module: names and order of parameters/buffers/submodules, state_dict round trips, the
// strict and non-strict load errors, conversions that keep handles, freezing, printing, and
// the key helpers for published checkpoints. (Loading PyTorch-written weights: the golden
// tests.)
#include <doctest/doctest.h>

#include <filesystem>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "nn/conv_layers.h"
#include "nn/layers.h"
#include "nn/module.h"
#include "nn/norm_layers.h"
#include "nn/optim.h"
#include "nn/state_dict.h"
#include "tensor/error.h"
#include "tensor/factory.h"
#include "tests/compare.h"

using namespace marrow;

namespace {

// A block with a parameter, a persistent and a non-persistent buffer and two submodules, as
// a BatchNorm-carrying model has.
class Block : public nn::Layer {
public:
    Block()
        : Layer("Block"),
          scale(register_parameter("scale", ones({3}))),
          steps(register_buffer("steps", zeros({}, DType::i64))),
          cache(register_buffer("cache", zeros({3}), /*persistent=*/false)) {
        fc1 = register_module("fc1", std::make_shared<nn::Linear>(3, 4));
        fc2 = register_module("fc2", std::make_shared<nn::Linear>(4, 2, /*bias=*/false));
    }
    Tensor forward(const Tensor& x) override { return fc2->forward(relu(fc1->forward(x * scale))); }
    Tensor scale, steps, cache;
    std::shared_ptr<nn::Linear> fc1, fc2;
};

std::vector<std::string> names(const nn::NamedTensors& list) {
    std::vector<std::string> out;
    for (const auto& item : list) out.push_back(item.first);
    return out;
}

std::shared_ptr<nn::Sequential> model() {
    return std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Layer>>{
        std::make_shared<Block>(), std::make_shared<nn::ReLU>(),
        std::make_shared<nn::Linear>(2, 5)});
}

}  // namespace

TEST_CASE("Module: dotted names in registration order, as PyTorch's keys") {
    auto m = model();
    CHECK(names(m->named_parameters()) == std::vector<std::string>{"0.scale", "0.fc1.weight",
                                                                   "0.fc1.bias", "0.fc2.weight",
                                                                   "2.weight", "2.bias"});
    CHECK(names(m->named_buffers()) == std::vector<std::string>{"0.steps", "0.cache"});
    CHECK(names(m->named_parameters(/*recurse=*/false)).empty());
    std::vector<std::string> modules;
    for (auto& [name, module] : m->named_modules()) modules.push_back(name);
    CHECK(modules == std::vector<std::string>{"", "0", "0.fc1", "0.fc2", "1", "2"});
    CHECK(m->submodule("0.fc2").type_name() == "Linear");
    CHECK_THROWS_WITH_AS(m->submodule("0.fc3"), doctest::Contains("no submodule '0.fc3'"), Error);
    // Parameters are leaves that require grad; the list is handles, not copies.
    for (const Tensor& p : m->parameters()) CHECK((p.requires_grad() && p.is_leaf()));
    CHECK(m->parameters()[1].is_same(static_cast<Block&>((*m)[0]).fc1->weight));
}

TEST_CASE("Module: registration errors name the module and the name") {
    struct Bad : nn::Module {
        Bad() : Module("Bad") {
            register_parameter("w", zeros({2}));
            CHECK_THROWS_WITH_AS(register_buffer("w", zeros({2})),
                                 doctest::Contains("Bad: 'w' is already registered"), Error);
            CHECK_THROWS_WITH_AS(register_parameter("a.b", zeros({2})),
                                 doctest::Contains("'a.b' is not a valid name"), Error);
            CHECK_THROWS_WITH_AS(register_parameter("i", zeros({2}, DType::i64)),
                                 doctest::Contains("must be floating"), Error);
        }
    };
    Bad bad;
}

TEST_CASE("Module: state_dict has parameters and persistent buffers, and round-trips") {
    auto a = model();
    nn::StateDict sd = a->state_dict();
    CHECK(sd.keys() == std::vector<std::string>{"0.scale", "0.fc1.weight", "0.fc1.bias",
                                                "0.fc2.weight", "2.weight", "2.bias", "0.steps"});
    CHECK_FALSE(sd.at("0.fc1.weight").requires_grad());  // detached, as PyTorch's

    auto b = model();  // other random weights
    Tensor x = randn({7, 3});
    CHECK_FALSE(allclose(a->forward(x), b->forward(x)));
    Tensor held = b->parameters()[1];  // an optimizer's handle
    nn::LoadResult r = b->load_state_dict(sd);
    CHECK(r.ok());
    CHECK(equal(a->forward(x), b->forward(x)));
    CHECK(equal(held, sd.at("0.fc1.weight")));  // loaded in place: the handle sees it

    // Through a file, as safetensors.
    std::string path = (std::filesystem::temp_directory_path() / "marrow_test_module.safetensors");
    nn::save_state_dict_file(path, sd);
    auto c = model();
    c->load_state_dict(nn::load_state_dict_file(path));
    CHECK(equal(a->forward(x), c->forward(x)));
    std::filesystem::remove(path);
}

TEST_CASE("Module: a strict load lists every missing, unexpected and mis-shaped key") {
    auto m = model();
    nn::StateDict sd = m->state_dict();
    sd.erase("0.fc1.bias");
    sd.erase("2.weight");
    sd.insert("head.weight", zeros({2}));
    sd.insert("0.scale", zeros({4}));
    std::string message;
    try {
        m->load_state_dict(sd);
    } catch (const Error& e) {
        message = e.what();
    }
    CHECK(message.find("Error(s) in loading state_dict for Sequential") != std::string::npos);
    CHECK(message.find(R"(Missing key(s): "0.fc1.bias", "2.weight".)") != std::string::npos);
    CHECK(message.find(R"(Unexpected key(s): "head.weight".)") != std::string::npos);
    CHECK(message.find("size mismatch for 0.scale: the checkpoint has shape [4], the model [3]") !=
          std::string::npos);
    // Nothing was loaded by the failed strict load.
    CHECK(equal(m->state_dict().at("0.scale"), ones({3})));

    // Not strict: the matching keys load, the rest comes back.
    Tensor before = m->state_dict().at("0.fc1.bias").clone();
    nn::StateDict other = model()->state_dict();
    other.erase("0.fc1.bias");
    other.insert("0.scale", zeros({4}));
    nn::LoadResult r = m->load_state_dict(other, /*strict=*/false);
    CHECK(r.missing == std::vector<std::string>{"0.fc1.bias"});
    CHECK(r.unexpected.empty());
    REQUIRE(r.mismatched.size() == 1);
    CHECK(r.mismatched[0].key == "0.scale");
    CHECK(equal(m->state_dict().at("0.fc1.weight"), other.at("0.fc1.weight")));
    CHECK(equal(m->state_dict().at("0.fc1.bias"), before));
}

TEST_CASE("Module: to(dtype) converts floating tensors in place of the handles") {
    auto m = model();
    nn::SGD opt(m->parameters(), {.lr = 0.1});
    Tensor w = m->parameters()[0];
    m->to(DType::f64);
    CHECK(w.dtype() == DType::f64);  // the optimizer's handle followed
    CHECK(w.requires_grad());
    CHECK(m->state_dict().at("0.steps").dtype() == DType::i64);  // integer buffers stay
    Tensor x = randn({4, 3}, DType::f64);
    sum(m->forward(x)).backward();
    Tensor before = w.clone();
    opt.step();
    CHECK_FALSE(equal(w, before));
    CHECK_THROWS_WITH_AS(m->to(DType::i64), doctest::Contains("floating dtypes only"), Error);
}

TEST_CASE("Module: train/eval, freezing and zero_grad reach every submodule") {
    auto m = model();
    m->eval();
    for (auto& [name, module] : m->named_modules()) CHECK_FALSE(module->is_training());
    m->train();
    CHECK(m->submodule("0.fc1").is_training());

    m->submodule("0").requires_grad_(false);  // freeze the block, train the head
    sum(m->forward(randn({2, 3}))).backward();
    for (auto& [name, p] : m->named_parameters()) CHECK(p.has_grad() == name.starts_with("2."));
    m->zero_grad();
    for (const Tensor& p : m->parameters()) CHECK_FALSE(p.has_grad());
}

TEST_CASE("Module: to_string prints PyTorch's form") {
    auto m = model();
    CHECK(m->to_string() ==
          "Sequential(\n"
          "  (0): Block(\n"
          "    (fc1): Linear(in_features=3, out_features=4, bias=True)\n"
          "    (fc2): Linear(in_features=4, out_features=2, bias=False)\n"
          "  )\n"
          "  (1): ReLU()\n"
          "  (2): Linear(in_features=2, out_features=5, bias=True)\n"
          ")");
}

TEST_CASE("AdaptiveAvgPool2d: None keeps the input's size, and prints as PyTorch does") {
    nn::AdaptiveAvgPool2d pool({kNone, 3});
    CHECK(pool.to_string() == "AdaptiveAvgPool2d(output_size=(None, 3))");
    // a 4 x 6 plane of 0..23 to (4, 3): each output averages two neighbours of a row
    Tensor x = arange(0, 24, 1, DType::f32).reshape({1, 1, 4, 6});
    Tensor y = pool.forward(x);
    CHECK(y.shape() == Shape{1, 1, 4, 3});
    CHECK(allclose(y.reshape({12}), arange(0.5, 24, 2, DType::f32)));
}

TEST_CASE("AdaptiveMaxPool2d: equal windows as max_pool2d; other sizes are an error") {
    nn::AdaptiveMaxPool2d global(1);
    CHECK(global.to_string() == "AdaptiveMaxPool2d(output_size=(1, 1))");
    // a 3 x 3 plane (SCEMILA's map after its two convolutions): the plane's maximum
    Tensor x = from_vector<float>({1, 9, 2, -4, 3, 8, 7, 0, 5}, {1, 1, 3, 3});
    CHECK(equal(global.forward(x), from_vector<float>({9}, {1, 1, 1, 1})));
    // a 4 x 6 plane of 0..23 to (2, 3): each 2 x 2 window's bottom-right value
    Tensor y =
        nn::AdaptiveMaxPool2d({2, 3}).forward(arange(0, 24, 1, DType::f32).reshape({1, 4, 6}));
    CHECK(equal(y, from_vector<float>({7, 9, 11, 19, 21, 23}, {1, 2, 3})));
    CHECK_THROWS_WITH_AS(nn::AdaptiveMaxPool2d(2).forward(zeros({1, 1, 5, 5})),
                         doctest::Contains("does not tile into (2, 2) equal windows"), Error);
}

TEST_CASE("conv_bn: the norm (and ReLU) folded into the conv in eval mode without gradients") {
    for (bool conv_bias : {false, true})
        for (bool affine : {false, true})
            for (DType dtype : {DType::f64, DType::f32}) {
                CAPTURE(conv_bias);
                CAPTURE(affine);
                // 16 channels in and out at stride 1: the f32 convolution is the Winograd one
                nn::Conv2d conv(16, 16, {.kernel_size = 3, .padding = 1, .bias = conv_bias});
                nn::BatchNorm2d bn(16, {.affine = affine});
                {
                    autograd::NoGradGuard no_grad;
                    copy_(*bn.running_mean, randn({16}));
                    copy_(*bn.running_var, rand({16}) + 0.5);
                    if (affine) copy_(*bn.weight, randn({16})), copy_(*bn.bias, randn({16}));
                }
                conv.to(dtype), bn.to(dtype);
                Tensor x = randn({2, 16, 7, 9}, dtype);
                bn.eval();
                Tensor unfused = bn.forward(conv.forward(x));
                // gradients on: not folded
                CHECK(equal(nn::conv_bn(conv, bn, x), unfused));
                CHECK(equal(nn::conv_bn(conv, bn, x, /*relu=*/true), relu(unfused)));
                autograd::NoGradGuard no_grad;
                // the folded weights sum the 144 products in another rounding than conv then norm
                const test::Tolerance tol = test::tolerance(test::TolClass::matmul, dtype);
                for (bool fused_relu : {false, true}) {
                    test::Comparison c = test::compare(nn::conv_bn(conv, bn, x, fused_relu),
                                                       fused_relu ? relu(unfused) : unfused, tol);
                    INFO(c.detail);
                    CHECK(c.ok);
                }
                // in training the batch's statistics, and the running ones move, as unfused
                bn.train();
                Tensor mean = bn.running_mean->clone();
                CHECK(equal(nn::conv_bn(conv, bn, x), bn.forward(conv.forward(x))));
                CHECK_FALSE(equal(*bn.running_mean, mean));
            }
}

TEST_CASE("StateDict: prefixes and renames for published checkpoints") {
    nn::StateDict sd;
    sd.insert("module.backbone.conv1.weight", zeros({1}));
    sd.insert("module.head.weight", zeros({2}));
    sd.insert("teacher.conv1.weight", zeros({3}));
    nn::StateDict stripped = nn::strip_prefix(sd, "module.");
    CHECK(stripped.keys() ==
          std::vector<std::string>{"backbone.conv1.weight", "head.weight", "teacher.conv1.weight"});
    nn::StateDict teacher = nn::select_prefix(sd, "teacher.");
    CHECK(teacher.keys() == std::vector<std::string>{"conv1.weight"});
    CHECK(teacher.at("conv1.weight").shape() == Shape{3});
    CHECK_THROWS_WITH_AS(
        nn::rename_keys(sd, [](const std::string&) { return std::string("x"); }),
        doctest::Contains(
            "'module.backbone.conv1.weight' and 'module.head.weight' both become 'x'"),
        Error);
    CHECK_THROWS_WITH_AS(stripped.at("conv1.weight"),
                         doctest::Contains("it has 'backbone.conv1.weight'"), Error);
}
