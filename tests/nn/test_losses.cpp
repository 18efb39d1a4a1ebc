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
