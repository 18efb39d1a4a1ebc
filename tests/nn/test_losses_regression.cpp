// nn's regression losses, kl_div and cosine similarity: values derived by hand on tiny
// inputs, the identities between them (huber = delta smooth_l1, beta = 0 is l1, log targets),
// gradcheck of every differentiable argument, and the errors. (PyTorch agreement, including
// the branch points and the clamped norms, is tests/nn/test_nn_golden.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "nn/losses.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

void check_values(const Tensor& ours, const std::vector<double>& expected, TolClass c) {
    Tensor ref = from_vector<double>(expected, ours.shape());
    Comparison cmp = compare(to(ours, DType::f64), ref, tolerance(c, DType::f64));
    INFO(cmp.detail);
    CHECK(cmp.ok);
}

void check_gradcheck(const Fn& f, const std::vector<Tensor>& inputs) {
    Tolerance tol = tolerance(TolClass::gradcheck, DType::f64);
    autograd::GradcheckResult res =
        autograd::gradcheck(f, inputs, {.atol = tol.atol, .rtol = tol.rtol});
    INFO(res.message);
    CHECK(res.ok);
}

constexpr nn::Reduction kReductions[] = {nn::Reduction::mean, nn::Reduction::sum,
                                         nn::Reduction::none};

}  // namespace

TEST_CASE("mse_loss and l1_loss: hand-derived values and reductions") {
    Tensor x = from_vector<double>({1, 2, 3}), y = from_vector<double>({1, 0, 0});
    check_values(nn::mse_loss(x, y, nn::Reduction::none), {0, 4, 9}, TolClass::elementwise);
    check_values(nn::mse_loss(x, y), {13.0 / 3}, TolClass::elementwise);
    check_values(nn::mse_loss(x, y, nn::Reduction::sum), {13}, TolClass::elementwise);
    check_values(nn::l1_loss(x, y, nn::Reduction::none), {0, 2, 3}, TolClass::elementwise);
    check_values(nn::l1_loss(x, y), {5.0 / 3}, TolClass::elementwise);
    // An integer target takes the input's dtype (PyTorch's promotion).
    check_values(nn::mse_loss(x, from_vector<int64_t>({1, 0, 0})), {13.0 / 3},
                 TolClass::elementwise);
    // l1's gradient at a tie is 0 (sign(0)), as PyTorch's.
    Tensor xg = from_vector<double>({1, 2, -3}).requires_grad_();
    nn::l1_loss(xg, from_vector<double>({1, 0, 0}), nn::Reduction::sum).backward();
    check_values(xg.grad(), {0, 1, -1}, TolClass::exact);
    // The mean of nothing is NaN, as PyTorch.
    CHECK(std::isnan(nn::mse_loss(zeros({0}), zeros({0})).item()));
}

TEST_CASE("smooth_l1_loss and huber_loss: both branches, the edge, beta = 0") {
    // d = (0.5, 2, -1): smooth_l1 (beta 1) = (0.125, 1.5, 0.5); at |d| = beta = 1 the outer
    // branch gives 1 - 0.5 = 0.5 and so would the inner one (they meet there).
    Tensor x = from_vector<double>({0.5, 2, -1}).requires_grad_(), y = zeros({3}, DType::f64);
    Tensor s = nn::smooth_l1_loss(x, y, {.reduction = nn::Reduction::none});
    check_values(s, {0.125, 1.5, 0.5}, TolClass::elementwise);
    sum(s).backward();
    check_values(x.grad(), {0.5, 1, -1}, TolClass::elementwise);  // d / beta, then sign(d)
    // huber (delta 2) on d = (1, 3): 0.5, 2 (3 - 1) = 4; it is delta * smooth_l1(beta = delta).
    Tensor d = from_vector<double>({1, 3});
    check_values(
        nn::huber_loss(d, zeros({2}, DType::f64), {.reduction = nn::Reduction::none, .delta = 2}),
        {0.5, 4}, TolClass::elementwise);
    Tensor a = randn({4, 5}, DType::f64) * 2, b = randn({4, 5}, DType::f64);
    for (double delta : {0.5, 1.0, 3.0}) {
        CAPTURE(delta);
        Comparison cmp = compare(nn::huber_loss(a, b, {.delta = delta}),
                                 delta * nn::smooth_l1_loss(a, b, {.beta = delta}),
                                 tolerance(TolClass::elementwise, DType::f64));
        INFO(cmp.detail);
        CHECK(cmp.ok);
    }
    // beta = 0 is l1_loss (PyTorch 2's dispatch), value and gradient, ties included.
    Tensor t = from_vector<double>({0.5, 2, -1}).requires_grad_(),
           u = from_vector<double>({0.5, 0, 0});
    nn::smooth_l1_loss(t, u, {.reduction = nn::Reduction::sum, .beta = 0}).backward();
    check_values(t.grad(), {0, 1, -1}, TolClass::exact);
}

TEST_CASE("regression losses: gradcheck of input and target") {
    Tensor x = (randn({3, 4}, DType::f64) * 2).requires_grad_();
    Tensor y = randn({3, 4}, DType::f64).requires_grad_();
    for (nn::Reduction r : kReductions) {
        CAPTURE(int(r));
        check_gradcheck([&](const auto& in) { return nn::mse_loss(in[0], in[1], r); }, {x, y});
        check_gradcheck([&](const auto& in) { return nn::l1_loss(in[0], in[1], r); }, {x, y});
        check_gradcheck(
            [&](const auto& in) {
                return nn::smooth_l1_loss(in[0], in[1], {.reduction = r, .beta = 0.7});
            },
            {x, y});
        check_gradcheck(
            [&](const auto& in) {
                return nn::huber_loss(in[0], in[1], {.reduction = r, .delta = 1.3});
            },
            {x, y});
    }
}

TEST_CASE("kl_div: hand-derived values, log targets, reductions") {
    // KL(t || q) with t = (1/2, 1/2), q = (1/4, 3/4): 1/2 ln 2 + 1/2 ln (2/3).
    Tensor log_q = log(from_vector<double>({0.25, 0.75}, {1, 2}));
    Tensor t = from_vector<double>({0.5, 0.5}, {1, 2});
    double kl = 0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3);
    check_values(nn::kl_div(log_q, t, {.reduction = nn::KlDivReduction::sum}), {kl},
                 TolClass::transcendental);
    check_values(
        nn::kl_div(log_q, log(t), {.reduction = nn::KlDivReduction::sum, .log_target = true}), {kl},
        TolClass::transcendental);
    // "mean" divides by every element (2), "batchmean" by the batch (1).
    check_values(nn::kl_div(log_q, t), {kl / 2}, TolClass::transcendental);
    check_values(nn::kl_div(log_q, t, {.reduction = nn::KlDivReduction::batchmean}), {kl},
                 TolClass::transcendental);
    // A zero target adds nothing (xlogy), and its input gradient is -t = 0.
    Tensor x = from_vector<double>({-1, -2}).requires_grad_();
    Tensor l = nn::kl_div(x, from_vector<double>({0, 1}), {.reduction = nn::KlDivReduction::none});
    check_values(l, {0, 2}, TolClass::transcendental);
    sum(l).backward();
    check_values(x.grad(), {0, -1}, TolClass::exact);
    // A negative target gives NaN, as PyTorch's xlogy.
    CHECK(std::isnan(
        nn::kl_div(zeros({1}), full({1}, -1.0), {.reduction = nn::KlDivReduction::sum}).item()));
    // Broadcasting is PyTorch's (no size check): (3, 4) input against a (4) target.
    Tensor in = log_softmax(randn({3, 4}, DType::f64), 1), p = softmax(randn({4}, DType::f64), 0);
    Comparison cmp =
        compare(nn::kl_div(in, p, {.reduction = nn::KlDivReduction::none}),
                nn::kl_div(in, expand(p, {3, 4}), {.reduction = nn::KlDivReduction::none}),
                tolerance(TolClass::exact, DType::f64));
    CHECK(cmp.ok);
}

TEST_CASE("kl_div: gradcheck of input and target") {
    Tensor x = log_softmax(randn({3, 4}, DType::f64), 1).requires_grad_();
    Tensor p = softmax(randn({3, 4}, DType::f64), 1).requires_grad_();
    Tensor lp = randn({4}, DType::f64).requires_grad_();  // broadcast, log space
    for (auto r : {nn::KlDivReduction::none, nn::KlDivReduction::mean, nn::KlDivReduction::sum,
                   nn::KlDivReduction::batchmean}) {
        CAPTURE(int(r));
        check_gradcheck([&](const auto& in) { return nn::kl_div(in[0], in[1], {.reduction = r}); },
                        {x, p});
        check_gradcheck(
            [&](const auto& in) {
                return nn::kl_div(in[0], in[1], {.reduction = r, .log_target = true});
            },
            {x, lp});
    }
}

TEST_CASE("cosine_similarity: parallel, opposite, orthogonal, zero; broadcasting") {
    Tensor a = from_vector<double>({1, 0, 2, 2, 0, 0, 3, 4}, {4, 2});
    Tensor b = from_vector<double>({2, 0, -1, -1, 5, 0, 3, 4}, {4, 2});
    // rows: parallel 1, opposite -1, a zero vector 0, the same vector 1
    check_values(nn::cosine_similarity(a, b), {1, -1, 0, 1}, TolClass::elementwise);
    check_values(nn::cosine_similarity(a, b, -1), {1, -1, 0, 1}, TolClass::elementwise);
    // Orthogonal columns along dim 0.
    Tensor c = from_vector<double>({1, 0, 0, 1}, {2, 2});
    check_values(nn::cosine_similarity(c, c, 0), {1, 1}, TolClass::elementwise);
    check_values(nn::cosine_similarity(c, flip(c, {1}), 0), {0, 0}, TolClass::elementwise);
    // Broadcasting: (3, 1, 5) with (4, 5) gives (3, 4); along a broadcast dim the norm is the
    // broadcast row's: (2, 1) against (2, 3) on dim 1 is sign(x1) * sum(x2) / (sqrt(3) |x2|).
    CHECK(nn::cosine_similarity(randn({3, 1, 5}), randn({4, 5}), -1).shape() == Shape{3, 4});
    Tensor x1 = from_vector<double>({2, -1}, {2, 1});
    Tensor x2 = from_vector<double>({1, 1, 1, 1, 2, 3}, {2, 3});
    check_values(nn::cosine_similarity(x1, x2),
                 {3 / (std::sqrt(3.0) * std::sqrt(3.0)), -6 / (std::sqrt(3.0) * std::sqrt(14.0))},
                 TolClass::transcendental);
    // An integer input takes the other's floating dtype.
    check_values(nn::cosine_similarity(from_vector<int64_t>({1, 0}, {1, 2}),
                                       from_vector<double>({3, 0}, {1, 2})),
                 {1}, TolClass::elementwise);
}

TEST_CASE("cosine_similarity and cosine_embedding_loss: gradcheck") {
    // Norms well above eps (below it PyTorch's gradient, which we match, is not the
    // derivative of the clamped value: see clamped_norm).
    Tensor a = randn({3, 5}, DType::f64).requires_grad_();
    Tensor b = randn({3, 5}, DType::f64).requires_grad_();
    Tensor c = randn({3, 1}, DType::f64).requires_grad_();
    check_gradcheck([](const auto& in) { return nn::cosine_similarity(in[0], in[1]); }, {a, b});
    check_gradcheck([](const auto& in) { return nn::cosine_similarity(in[0], in[1], 0); }, {a, b});
    check_gradcheck([](const auto& in) { return nn::cosine_similarity(in[0], in[1]); }, {c, b});
    Tensor target = from_vector<double>({1, -1, -1});
    for (nn::Reduction r : kReductions) {
        CAPTURE(int(r));
        check_gradcheck(
            [&](const auto& in) {
                return nn::cosine_embedding_loss(in[0], in[1], target,
                                                 {.margin = -0.9, .reduction = r});
            },
            {a, b});
    }
}

TEST_CASE("cosine_embedding_loss: hand-derived values") {
    Tensor a = from_vector<double>({1, 0, 1, 0, 1, 0, 1, 0}, {4, 2});
    Tensor b = from_vector<double>({2, 0, 0, 3, 0, 3, 1, 1}, {4, 2});
    // cos = (1, 0, 0, 1/sqrt 2); targets 1 (1 - cos), -1 (max(0, cos - margin)), -1, 0 (0).
    // PyTorch's 1e-12 added to each squared norm moves cos by ~1e-12: within transcendental's
    // atol, not elementwise's.
    Tensor t = from_vector<double>({1, -1, -1, 0});
    check_values(
        nn::cosine_embedding_loss(a, b, t, {.margin = -0.5, .reduction = nn::Reduction::none}),
        {0, 0.5, 0.5, 0}, TolClass::transcendental);
    check_values(nn::cosine_embedding_loss(a, b, t), {0}, TolClass::transcendental);  // margin 0
    check_values(nn::cosine_embedding_loss(from_vector<double>({1, 1}), from_vector<double>({1, 0}),
                                           scalar_tensor(-1, DType::f64)),
                 {1 / std::sqrt(2.0)}, TolClass::transcendental);
}

TEST_CASE("regression losses, kl_div, cosine: errors name the loss, the shapes, the dtypes") {
    Tensor x = zeros({3, 4});
    CHECK_THROWS_WITH_AS(
        nn::mse_loss(x, zeros({1, 4})),
        doctest::Contains("mse_loss: target shape [1, 4] differs from input shape [3, 4]"), Error);
    CHECK_THROWS_WITH_AS(nn::l1_loss(x, zeros({4})),
                         doctest::Contains("l1_loss: target shape [4] differs from input shape"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::huber_loss(x, zeros({3, 1})),
                         doctest::Contains("huber_loss: target shape [3, 1]"), Error);
    CHECK_THROWS_WITH_AS(nn::smooth_l1_loss(x, zeros({3, 1})),
                         doctest::Contains("smooth_l1_loss: target shape [3, 1]"), Error);
    CHECK_THROWS_WITH_AS(
        nn::mse_loss(x, zeros({3, 4}, DType::f64)),
        doctest::Contains("mse_loss: target dtype float64 (shape [3, 4]) differs from "
                          "input dtype float32"),
        Error);
    CHECK_THROWS_WITH_AS(nn::mse_loss(zeros({2}, DType::i64), zeros({2})),
                         doctest::Contains("mse_loss: input must be floating point"), Error);
    CHECK_THROWS_WITH_AS(nn::smooth_l1_loss(x, x, {.beta = -1}),
                         doctest::Contains("smooth_l1_loss does not support negative values for "
                                           "beta, got -1"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::huber_loss(x, x, {.delta = 0}),
                         doctest::Contains("huber_loss does not support non-positive values for "
                                           "delta, got 0"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::kl_div(x, zeros({2, 4})),
                         doctest::Contains("kl_div: shapes [3, 4] and [2, 4] cannot be broadcast"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::cosine_similarity(x, zeros({4, 4})),
                         doctest::Contains("cosine_similarity: shapes [3, 4] and [4, 4] cannot be "
                                           "broadcast"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::cosine_similarity(x, x, 2), doctest::Contains("cosine_similarity"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::cosine_similarity(zeros({2}, DType::i64), zeros({2}, DType::i64), 0),
                         doctest::Contains("expected a floating point input"), Error);
    CHECK_THROWS_WITH_AS(
        nn::cosine_similarity(x, zeros({3, 4}, DType::f64)),
        doctest::Contains("x1 dtype float32 (shape [3, 4]) differs from x2 dtype float64"), Error);
    CHECK_THROWS_WITH_AS(nn::cosine_embedding_loss(x, x, zeros({3, 1})),
                         doctest::Contains("0D or 1D target tensor expected"), Error);
    CHECK_THROWS_WITH_AS(nn::cosine_embedding_loss(x, x, zeros({})),
                         doctest::Contains("a 0-D target (shape []) expects 1-D inputs, got shapes "
                                           "[3, 4] and [3, 4]"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::cosine_embedding_loss(x, x, zeros({2})),
                         doctest::Contains("target shape [2] does not match the 3 rows"), Error);
}
