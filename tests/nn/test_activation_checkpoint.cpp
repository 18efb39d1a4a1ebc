// Activation checkpointing (autograd/checkpoint.h): the same gradients as the plain graph,
// bit for bit (dropout and drop-path masks replayed from the saved generator state), with
// fewer saved activations.
#include <doctest/doctest.h>

#include "autograd/checkpoint.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "nn/layers.h"
#include "nn/models/vit.h"
#include "tensor/factory.h"
#include "tests/compare.h"

using namespace marrow;

namespace {

struct Grads {
    Tensor x;
    std::vector<Tensor> params;
};

// Two Linear+GELU+dropout layers, run plain or checkpointed; returns every gradient.
Grads run_mlp(bool checkpointed, int64_t* saved_bytes = nullptr) {
    Generator gen(11);
    nn::Linear fc1(16, 32, true, &gen), fc2(32, 16, true, &gen);
    Generator drops(5);
    Tensor x = randn({4, 7, 16}, {.generator = &gen}).requires_grad_();
    auto piece = [&](const Tensor& t) {
        Tensor h = dropout(gelu(fc1.forward(t)), 0.3, true, drops);
        return dropout(fc2.forward(h), 0.2, true, drops);
    };
    Tensor y = checkpointed ? autograd::checkpoint(piece, x, {&drops}) : piece(x);
    if (saved_bytes) *saved_bytes = autograd::saved_tensor_bytes();
    // Draws after the piece move the generator: backward must still replay the old state.
    (void)dropout(ones({8}), 0.5, true, drops);
    sum(y * y).backward();
    return {x.grad(), {fc1.weight.grad(), fc1.bias->grad(), fc2.weight.grad(), fc2.bias->grad()}};
}

}  // namespace

TEST_CASE("checkpoint: gradients equal the plain graph's, dropout masks replayed") {
    int64_t base = autograd::saved_tensor_bytes(), plain_bytes = 0, ckpt_bytes = 0;
    Grads plain = run_mlp(false, &plain_bytes);
    Grads ckpt = run_mlp(true, &ckpt_bytes);
    CHECK(equal(plain.x, ckpt.x));
    for (size_t i = 0; i < plain.params.size(); ++i) CHECK(equal(plain.params[i], ckpt.params[i]));
    // Only the input is kept (4 x 7 x 16 floats) instead of every activation.
    CHECK(ckpt_bytes - base == 4 * 7 * 16 * 4);
    CHECK(plain_bytes - base > 4 * (ckpt_bytes - base));
}

TEST_CASE("checkpoint: no grad mode or no input requiring grad runs fn as it is") {
    Tensor x = randn({3});
    int calls = 0;
    auto fn = [&](const Tensor& t) { ++calls; return t * 2.0; };
    CHECK(equal(autograd::checkpoint(fn, x), x * 2.0));
    {
        autograd::NoGradGuard no_grad;
        Tensor y = autograd::checkpoint(fn, x.clone().requires_grad_());
        CHECK_FALSE(y.requires_grad());
    }
    CHECK(calls == 2);
}

TEST_CASE("ViT with activation checkpointing: same gradients with drop-path") {
    auto make = [] {
        manual_seed(3);  // initialization and drop-path draws from the default generator
        return nn::models::vit_small({.img_size = 28, .patch_size = 14, .depth = 3,
                                      .drop_path_rate = 0.3, .init_values = 0.5});
    };
    auto grads = [&](bool checkpointed) {
        auto vit = make();
        vit->set_grad_checkpointing(checkpointed);
        vit->train();
        manual_seed(9);
        Tensor x = randn({4, 3, 28, 28});
        sum(vit->forward_features(x).patch).backward();
        std::vector<Tensor> out;
        for (const auto& [key, p] : vit->named_parameters())
            if (p.has_grad()) out.push_back(p.grad());
        return out;
    };
    std::vector<Tensor> plain = grads(false), ckpt = grads(true);
    REQUIRE(plain.size() == ckpt.size());
    for (size_t i = 0; i < plain.size(); ++i) CHECK(equal(plain[i], ckpt[i]));
}
