// The losses on the CUDA backend (the SIMT simulator in CI, the GPU under tools/gpu_check.sh)
// against the CPU: forward and the gradient of every differentiable argument, in float32.
// The losses are compositions of ops that each have parity tests; this checks that the
// composition stays on the device (scalar operands, masks, the host-side range checks).
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "nn/losses.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Runs f on CPU inputs and on CUDA copies of them (all of them: targets and weights too);
// the first `differentiable` inputs are leaves that get gradients. Upstream gradient: ones.
void check_parity(const std::string& name, const Fn& f, const std::vector<Tensor>& inputs,
                  size_t differentiable) {
    CAPTURE(name);
    std::vector<Tensor> cpu, gpu;
    for (size_t i = 0; i < inputs.size(); ++i) {
        cpu.push_back(clone(inputs[i]));
        gpu.push_back(to(inputs[i], Device::cuda()));
        if (i < differentiable) {
            cpu.back().requires_grad_();
            gpu.back().requires_grad_();
        }
    }
    Tensor yc = f(cpu), yg = f(gpu);
    REQUIRE(yg.device() == Device::cuda());
    Tolerance tol = tolerance(TolClass::transcendental, DType::f32);
    Comparison cmp = compare(to(yg, Device::cpu()), yc, tol);
    INFO("forward: ", cmp.detail);
    CHECK(cmp.ok);
    yc.backward(ones_like(yc));
    yg.backward(ones_like(yg));
    for (size_t i = 0; i < differentiable; ++i) {
        Comparison g = compare(to(gpu[i].grad(), Device::cpu()), cpu[i].grad(), tol);
        INFO("gradient of input ", i, ": ", g.detail);
        CHECK(g.ok);
    }
}

}  // namespace

TEST_SUITE_BEGIN("cuda");

TEST_CASE("losses on CUDA match the CPU, forward and backward") {
    Tensor x = randn({5, 4}) * 3, y = randn({5, 4});
    Tensor logits = randn({5, 4, 3}), probs = softmax(randn({5, 4, 3}), 1);
    Tensor labels = from_vector<int64_t>({0, 3, -100, 1, 2, 2, 0, 1, 3, 3, 1, 0, 2, 0, 1}, {5, 3});
    Tensor unit = rand({5, 4}), w = rand({4}) + 0.5f;
    using R = nn::Reduction;
    check_parity(
        "cross_entropy (indices)",
        [&](const auto& in) {
            return nn::cross_entropy(in[0], in[2], {.weight = in[1], .label_smoothing = 0.1});
        },
        {logits, rand({4}) + 0.5f, labels}, 1);
    check_parity(
        "cross_entropy (probabilities)",
        [&](const auto& in) { return nn::cross_entropy(in[0], in[1], {.label_smoothing = 0.2}); },
        {logits, probs}, 2);
    check_parity(
        "binary_cross_entropy_with_logits",
        [&](const auto& in) {
            return nn::binary_cross_entropy_with_logits(
                in[0], in[1], {.weight = in[2], .pos_weight = in[3], .reduction = R::sum});
        },
        {x, unit, rand({5, 1}) + 0.5f, w}, 2);
    check_parity(
        "binary_cross_entropy",
        [&](const auto& in) { return nn::binary_cross_entropy(in[0], in[1]); }, {sigmoid(x), unit},
        2);
    check_parity(
        "mse_loss", [&](const auto& in) { return nn::mse_loss(in[0], in[1]); }, {x, y}, 2);
    check_parity(
        "l1_loss", [&](const auto& in) { return nn::l1_loss(in[0], in[1], R::none); }, {x, y}, 2);
    check_parity(
        "smooth_l1_loss",
        [&](const auto& in) { return nn::smooth_l1_loss(in[0], in[1], {.beta = 0.5}); }, {x, y}, 2);
    check_parity(
        "huber_loss", [&](const auto& in) { return nn::huber_loss(in[0], in[1], {.delta = 2}); },
        {x, y}, 2);
    check_parity(
        "kl_div",
        [&](const auto& in) {
            return nn::kl_div(in[0], in[1], {.reduction = nn::KlDivReduction::batchmean});
        },
        {log_softmax(x, 1), masked_fill(softmax(y, 1), lt(y, -0.5), 0)}, 2);
    check_parity(
        "kl_div log_target",
        [&](const auto& in) { return nn::kl_div(in[0], in[1], {.log_target = true}); },
        {log_softmax(x, 1), log_softmax(y, 1)}, 2);
    // The last row of x1 has a norm below eps: the clamped-norm path.
    check_parity(
        "cosine_similarity",
        [&](const auto& in) { return nn::cosine_similarity(in[0], in[1], 1, 1e-8); },
        {cat({slice(x, 0, 0, 4), slice(x, 0, 4, 5) * 1e-9f}), y}, 2);
    check_parity(
        "cosine_embedding_loss",
        [&](const auto& in) {
            return nn::cosine_embedding_loss(in[0], in[1], in[2], {.margin = -0.3});
        },
        {x, y, from_vector<float>({1, -1, 1, -1, 0})}, 2);
}

TEST_SUITE_END();
