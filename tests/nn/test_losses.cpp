// nn::cross_entropy and nn::nll_loss: values derived by hand on tiny inputs, the equivalence
// with the plain composition the apps used, gradcheck through every option, and the errors.
// (PyTorch agreement on many option combinations is tests/nn/test_nn_golden.cpp.)
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "nn/losses.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

double value(const Tensor& t) { return t.item(); }

}  // namespace

TEST_CASE("cross_entropy: hand-derived values") {
    Tolerance tol = tolerance(TolClass::transcendental, DType::f64);
    auto near = [&](double ours, double ref) {
        return std::abs(ours - ref) <= tol.atol + tol.rtol * std::abs(ref);
    };
    // Equal logits: p = 1/2 for both classes, so every term is ln 2.
    Tensor even = zeros({2, 2}, DType::f64);
    Tensor target = from_vector<int64_t>({0, 1});
    CHECK(near(value(nn::cross_entropy(even, target)), std::log(2.0)));
    CHECK(near(value(nn::cross_entropy(even, target, {.reduction = nn::Reduction::sum})),
               2 * std::log(2.0)));
    // Logits (ln 1, ln 3): p = (1/4, 3/4); target 1 costs -ln(3/4), target 0 costs ln 4.
    Tensor skew = from_vector<double>({0, std::log(3.0), 0, std::log(3.0)}, {2, 2});
    Tensor none = nn::cross_entropy(skew, target, {.reduction = nn::Reduction::none});
    REQUIRE(none.shape() == Shape{2});
    CHECK(near(none.data<double>()[0], std::log(4.0)));
    CHECK(near(none.data<double>()[1], -std::log(0.75)));
    // Class weights (1, 3) on the equal logits: (1 ln2 + 3 ln2) / (1 + 3) = ln 2 for the mean,
    // 4 ln 2 for the sum.
    Tensor w = from_vector<double>({1, 3});
    CHECK(near(value(nn::cross_entropy(even, target, {.weight = w})), std::log(2.0)));
    CHECK(
        near(value(nn::cross_entropy(even, target, {.weight = w, .reduction = nn::Reduction::sum})),
             4 * std::log(2.0)));
    // ignore_index: the ignored row adds nothing and leaves the mean's count.
    Tensor with_ignored = from_vector<int64_t>({-100, 1});
    CHECK(near(value(nn::cross_entropy(skew, with_ignored)), -std::log(0.75)));
    // Label smoothing e on 2 classes: (1 - e) nll + e/2 (-ln p0 - ln p1).
    double e = 0.2,
           smooth_row1 = (1 - e) * -std::log(0.75) + e / 2 * (std::log(4.0) - std::log(0.75));
    CHECK(near(value(nn::cross_entropy(skew, from_vector<int64_t>({1, 1}), {.label_smoothing = e})),
               smooth_row1));
}

TEST_CASE("cross_entropy: all targets ignored gives NaN for the mean, 0 for the sum (PyTorch)") {
    Tensor x = zeros({2, 3}, DType::f64);
    Tensor t = from_vector<int64_t>({5, 5});
    CHECK(std::isnan(value(nn::cross_entropy(x, t, {.ignore_index = 5}))));
    CHECK(value(nn::cross_entropy(x, t, {.ignore_index = 5, .reduction = nn::Reduction::sum})) ==
          0.0);
}

TEST_CASE("cross_entropy: without weight or ignored targets it is the plain composition") {
    // The apps' loss before nn/ existed, -mean(gather(log_softmax)): same ops, same bits, so
    // moving the apps onto nn::cross_entropy changes no printed number.
    Tensor x = randn({16, 10});
    Tensor t = randint(0, 10, {16});
    Tensor plain = -mean(gather(log_softmax(x, 1), 1, unsqueeze(t, 1)));
    CHECK(compare(nn::cross_entropy(x, t), plain, tolerance(TolClass::exact, DType::f32)).ok);
}

TEST_CASE("cross_entropy and nll_loss: gradcheck through weight, ignore_index, smoothing") {
    Tensor target = from_vector<int64_t>({0, 2, -100, 1, 3, 2}, {2, 3});  // (N=2, d=3)
    Tensor weight = from_vector<double>({0.5, 1.5, 1.0, 2.0});
    Tensor x = randn({2, 4, 3}, DType::f64).requires_grad_();  // (N, C=4, d)
    Tolerance tol = tolerance(TolClass::gradcheck, DType::f64);
    for (nn::Reduction r : {nn::Reduction::mean, nn::Reduction::sum, nn::Reduction::none}) {
        CAPTURE(int(r));
        auto ce = [&](const std::vector<Tensor>& in) {
            return nn::cross_entropy(in[0], target,
                                     {.weight = weight, .reduction = r, .label_smoothing = 0.1});
        };
        auto nll = [&](const std::vector<Tensor>& in) {
            return nn::nll_loss(in[0], target, {.weight = weight, .reduction = r});
        };
        for (const auto& f : {std::function<Tensor(const std::vector<Tensor>&)>(ce),
                              std::function<Tensor(const std::vector<Tensor>&)>(nll)}) {
            autograd::GradcheckResult res =
                autograd::gradcheck(f, {x}, {.atol = tol.atol, .rtol = tol.rtol});
            INFO(res.message);
            CHECK(res.ok);
        }
    }
}

TEST_CASE("cross_entropy: unbatched (C) logits with a 0-d target") {
    Tensor x = from_vector<double>({0, std::log(3.0)});
    Tensor t = scalar_tensor(1, DType::i64);
    Tolerance tol = tolerance(TolClass::transcendental, DType::f64);
    CHECK(std::abs(value(nn::cross_entropy(x, t)) + std::log(0.75)) <= tol.atol);
    CHECK(nn::cross_entropy(x, t, {.reduction = nn::Reduction::none}).dim() == 0);
}

TEST_CASE("cross_entropy and nll_loss: errors name the problem") {
    Tensor x = zeros({3, 4});
    CHECK_THROWS_WITH_AS(nn::cross_entropy(x, from_vector<int32_t>({0, 1, 2})),
                         doctest::Contains("target must hold int64"), Error);
    CHECK_THROWS_WITH_AS(nn::cross_entropy(x, from_vector<float>({0, 1, 2})),
                         doctest::Contains("int64"), Error);
    CHECK_THROWS_WITH_AS(nn::cross_entropy(x, from_vector<int64_t>({0, 1})),
                         doctest::Contains("target shape [2] does not match input shape [3, 4]"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::cross_entropy(x, from_vector<int64_t>({0, 7, 1})),
                         doctest::Contains("target value 7 (element 1) is out of range [0, 4)"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::nll_loss(x, from_vector<int64_t>({0, -1, 1})),
                         doctest::Contains("nll_loss: target value -1"), Error);
    CHECK_THROWS_WITH_AS(
        nn::cross_entropy(x, from_vector<int64_t>({0, 1, 2}), {.weight = ones({3})}),
        doctest::Contains("weight must have shape [4]"), Error);
    CHECK_THROWS_WITH_AS(
        nn::cross_entropy(x, from_vector<int64_t>({0, 1, 2}), {.label_smoothing = 1.5}),
        doctest::Contains("label_smoothing must be in [0, 1]"), Error);
    CHECK_THROWS_WITH_AS(
        nn::cross_entropy(from_vector<int64_t>({0, 1}, {1, 2}), from_vector<int64_t>({0})),
        doctest::Contains("input must be floating point"), Error);
}

// ---- soft (class-probability) targets

TEST_CASE("cross_entropy with probabilities: hand-derived values and the one-hot equivalence") {
    Tolerance tol = tolerance(TolClass::transcendental, DType::f64);
    auto near = [&](double ours, double ref) {
        return std::abs(ours - ref) <= tol.atol + tol.rtol * std::abs(ref);
    };
    // Logits (ln 1, ln 3): log p = (ln 1/4, ln 3/4); target (1/2, 1/2) costs
    // -(ln 1/4 + ln 3/4) / 2 per row.
    Tensor skew = from_vector<double>({0, std::log(3.0), 0, std::log(3.0)}, {2, 2});
    Tensor half = full({2, 2}, 0.5, DType::f64);
    double row = -(std::log(0.25) + std::log(0.75)) / 2;
    CHECK(near(value(nn::cross_entropy(skew, half)), row));
    CHECK(near(value(nn::cross_entropy(skew, half, {.reduction = nn::Reduction::sum})), 2 * row));
    Tensor none = nn::cross_entropy(skew, half, {.reduction = nn::Reduction::none});
    REQUIRE(none.shape() == Shape{2});
    CHECK(near(none.data<double>()[1], row));
    // Weights (1, 3) with target (0, 1) on both rows: the mean divides by the N = 2 rows,
    // not by the weights (3 + 3) as class indices do.
    Tensor w = from_vector<double>({1, 3});
    Tensor second = from_vector<double>({0, 1, 0, 1}, {2, 2});
    CHECK(near(value(nn::cross_entropy(skew, second, {.weight = w})), -3 * std::log(0.75)));
    CHECK(near(value(nn::cross_entropy(skew, from_vector<int64_t>({1, 1}), {.weight = w})),
               -std::log(0.75)));
    // Unweighted, a one-hot target is the class-index loss, with label smoothing too
    // (PyTorch documents the equivalence), for (N, C, d) inputs as well.
    Tensor x = randn({3, 4, 2}, DType::f64);
    Tensor t = randint(0, 4, {3, 2});
    Tensor hot = to(permute(one_hot(t, 4), {0, 2, 1}), DType::f64);  // (N, d, C) -> (N, C, d)
    Tolerance red = tolerance(TolClass::reduction, DType::f64);
    for (double e : {0.0, 0.3}) {
        CAPTURE(e);
        for (nn::Reduction r : {nn::Reduction::mean, nn::Reduction::sum, nn::Reduction::none}) {
            CAPTURE(int(r));
            Comparison cmp =
                compare(nn::cross_entropy(x, hot, {.reduction = r, .label_smoothing = e}),
                        nn::cross_entropy(x, t, {.reduction = r, .label_smoothing = e}), red);
            INFO(cmp.detail);
            CHECK(cmp.ok);
        }
    }
}

TEST_CASE("cross_entropy with probabilities: gradcheck of logits and target") {
    Tolerance tol = tolerance(TolClass::gradcheck, DType::f64);
    Tensor weight = from_vector<double>({0.5, 1.5, 1.0, 2.0});
    Tensor x = randn({2, 4, 3}, DType::f64).requires_grad_();
    Tensor p = softmax(randn({2, 4, 3}, DType::f64), 1).requires_grad_();
    for (nn::Reduction r : {nn::Reduction::mean, nn::Reduction::sum, nn::Reduction::none}) {
        CAPTURE(int(r));
        auto f = [&](const std::vector<Tensor>& in) {
            return nn::cross_entropy(in[0], in[1],
                                     {.weight = weight, .reduction = r, .label_smoothing = 0.2});
        };
        autograd::GradcheckResult res =
            autograd::gradcheck(f, {x, p}, {.atol = tol.atol, .rtol = tol.rtol});
        INFO(res.message);
        CHECK(res.ok);
    }
}

TEST_CASE("cross_entropy with probabilities: errors") {
    Tensor x = zeros({3, 4});
    CHECK_THROWS_WITH_AS(nn::cross_entropy(x, zeros({3, 4}, DType::i64)),
                         doctest::Contains("holds class probabilities and must be floating point"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::cross_entropy(x, zeros({3, 4}), {.ignore_index = 1}),
                         doctest::Contains("ignore_index (1) is not supported"), Error);
    CHECK_THROWS_WITH_AS(nn::cross_entropy(x, zeros({3, 4}), {.weight = ones({3})}),
                         doctest::Contains("weight must have shape [4]"), Error);
    CHECK_THROWS_WITH_AS(nn::cross_entropy(x, zeros({3, 4}, DType::f64)),
                         doctest::Contains("target dtype float64 (shape [3, 4]) differs from input "
                                           "dtype float32"),
                         Error);
}

// ---- binary cross entropy

TEST_CASE("binary_cross_entropy_with_logits: hand-derived values, finite at any logit") {
    Tolerance tol = tolerance(TolClass::transcendental, DType::f32);
    auto near = [&](double ours, double ref) {
        return std::abs(ours - ref) <= tol.atol + tol.rtol * std::abs(ref);
    };
    auto none = [](const Tensor& x, const Tensor& t, nn::BinaryCrossEntropyWithLogitsOptions o) {
        o.reduction = nn::Reduction::none;
        return nn::binary_cross_entropy_with_logits(x, t, o);
    };
    // sigmoid(0) = 1/2 costs ln 2 whatever the target; logits of +-1000 in f32 (where
    // sigmoid saturates to exactly 0 or 1) cost 0 when right and |x| when wrong.
    Tensor x = from_vector<float>({0, 0, 1000, 1000, -1000, -1000});
    Tensor t = from_vector<float>({1, 0.3f, 1, 0, 1, 0});
    Tensor l = none(x, t, {});
    const float* v = l.data<float>();
    CHECK(near(v[0], std::log(2.0)));
    CHECK(near(v[1], std::log(2.0)));
    CHECK(v[2] == 0.0f);
    CHECK(v[3] == 1000.0f);
    CHECK(v[4] == 1000.0f);
    CHECK(v[5] == 0.0f);
    // pos_weight 3 scales the positive term: x = 0, t = 1 costs 3 ln 2; t = 0 is unchanged.
    Tensor pw = from_vector<float>({3, 3});
    Tensor lw = none(from_vector<float>({0, 0}, {1, 2}), from_vector<float>({1, 0}, {1, 2}),
                     {.pos_weight = pw});
    CHECK(near(lw.data<float>()[0], 3 * std::log(2.0)));
    CHECK(near(lw.data<float>()[1], std::log(2.0)));
    // The gradient at saturated logits is finite: sigmoid(x) - t.
    Tensor xs = from_vector<float>({1000, -1000}).requires_grad_();
    nn::binary_cross_entropy_with_logits(xs, from_vector<float>({0, 0}),
                                         {.reduction = nn::Reduction::sum})
        .backward();
    CHECK(xs.grad().data<float>()[0] == 1.0f);
    CHECK(xs.grad().data<float>()[1] == 0.0f);
}

TEST_CASE("binary_cross_entropy: clamped logs at 0 and 1, and agreement with the logits form") {
    Tolerance tol = tolerance(TolClass::transcendental, DType::f64);
    // x = 0 with t = 1 (and x = 1 with t = 0) cost 100: PyTorch clamps log at -100.
    Tensor x = from_vector<double>({0.5, 0, 1, 0}).requires_grad_();
    Tensor t = from_vector<double>({0.2, 1, 0, 0});
    Tensor l = nn::binary_cross_entropy(x, t, {.reduction = nn::Reduction::none});
    CHECK(std::abs(l.data<double>()[0] - std::log(2.0)) <= tol.atol);
    CHECK(l.data<double>()[1] == 100.0);
    CHECK(l.data<double>()[2] == 100.0);
    CHECK(l.data<double>()[3] == 0.0);
    // The gradient (x - t) / max(x (1 - x), 1e-12f) stays finite at the edges.
    sum(l).backward();
    const double* g = x.grad().data<double>();
    CHECK(std::abs(g[0] - 0.3 / 0.25) <= tol.atol);
    CHECK(g[1] == -1.0 / double(1e-12f));
    CHECK(g[2] == 1.0 / double(1e-12f));
    CHECK(g[3] == 0.0);
    // On probabilities away from 0 and 1 it is the logits loss of their logit.
    Tensor z = randn({4, 3}, DType::f64), y = rand({4, 3}, DType::f64);
    Tensor w = rand({3}, DType::f64) + 0.5;
    Comparison cmp = compare(nn::binary_cross_entropy(sigmoid(z), y, {.weight = w}),
                             nn::binary_cross_entropy_with_logits(z, y, {.weight = w}),
                             tolerance(TolClass::transcendental, DType::f64));
    INFO(cmp.detail);
    CHECK(cmp.ok);
}

TEST_CASE("binary cross entropy: gradcheck of input and target, with weight and pos_weight") {
    Tolerance tol = tolerance(TolClass::gradcheck, DType::f64);
    Tensor x = randn({3, 4}, DType::f64).requires_grad_();
    Tensor probs = (sigmoid(randn({3, 4}, DType::f64)) * 0.8 + 0.1).requires_grad_();
    Tensor t = rand({3, 4}, DType::f64).requires_grad_();
    Tensor w = rand({3, 1}, DType::f64) + 0.5, pw = rand({4}, DType::f64) * 3;
    for (nn::Reduction r : {nn::Reduction::mean, nn::Reduction::sum, nn::Reduction::none}) {
        CAPTURE(int(r));
        auto logits = [&](const std::vector<Tensor>& in) {
            return nn::binary_cross_entropy_with_logits(
                in[0], in[1], {.weight = w, .pos_weight = pw, .reduction = r});
        };
        auto probabilities = [&](const std::vector<Tensor>& in) {
            return nn::binary_cross_entropy(in[0], in[1], {.weight = w, .reduction = r});
        };
        for (auto [f, input] :
             {std::pair{std::function<Tensor(const std::vector<Tensor>&)>(logits), x},
              std::pair{std::function<Tensor(const std::vector<Tensor>&)>(probabilities), probs}}) {
            autograd::GradcheckResult res =
                autograd::gradcheck(f, {input, t}, {.atol = tol.atol, .rtol = tol.rtol});
            INFO(res.message);
            CHECK(res.ok);
        }
    }
}

TEST_CASE("binary cross entropy: errors name the loss and the shapes") {
    Tensor x = zeros({3, 4}), t = zeros({3, 4});
    CHECK_THROWS_WITH_AS(
        nn::binary_cross_entropy_with_logits(x, zeros({2, 4})),
        doctest::Contains("binary_cross_entropy_with_logits: target shape [2, 4] must be the same "
                          "as input shape [3, 4]"),
        Error);
    CHECK_THROWS_WITH_AS(nn::binary_cross_entropy_with_logits(x, t, {.pos_weight = ones({3})}),
                         doctest::Contains("shapes [3, 4] and [3] cannot be broadcast"), Error);
    CHECK_THROWS_WITH_AS(
        nn::binary_cross_entropy_with_logits(x, t, {.weight = ones({2, 3, 4})}),
        doctest::Contains("weight of shape [2, 3, 4] does not broadcast to input shape [3, 4]"),
        Error);
    CHECK_THROWS_WITH_AS(nn::binary_cross_entropy_with_logits(x, zeros({3, 4}, DType::i64)),
                         doctest::Contains("target must be floating point, got int64"), Error);
    CHECK_THROWS_WITH_AS(nn::binary_cross_entropy(from_vector<float>({0.5f, 1.5f}), zeros({2})),
                         doctest::Contains("binary_cross_entropy: all elements of input (shape "
                                           "[2]) should be between 0 and 1"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::binary_cross_entropy(full({2}, 0.5), zeros({2}),
                                                  {.weight = ones({2}).requires_grad_()}),
                         doctest::Contains("weight (shape [2]) requires grad"), Error);
}
