// eval::LogisticRegression: separates well-separated Gaussian blobs, its probabilities are a
// softmax consistent with predict, it matches the baseline's hand-written loop, and errors.
#include <doctest/doctest.h>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/logistic_regression.h"
#include "eval/metrics.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

namespace {

// n points per class around (0, 0), (6, 0), (0, 6) with std 0.5 (and a 3rd, constant feature
// 7 that standardization must survive): any linear classifier worth the name gets all right.
std::pair<Tensor, Tensor> blobs(int64_t n, Generator& gen) {
    const double centers[3][2] = {{0, 0}, {6, 0}, {0, 6}};
    Tensor noise = randn({3 * n, 2}, DType::f64, Device::cpu(), gen) * 0.5;
    Tensor x = zeros({3 * n, 3}, DType::f64);
    std::vector<int64_t> y;
    for (int64_t i = 0; i < 3 * n; ++i) {
        int64_t c = i % 3;
        for (int f = 0; f < 2; ++f)
            x.data<double>()[i * 3 + f] = centers[c][f] + noise.data<double>()[i * 2 + f];
        x.data<double>()[i * 3 + 2] = 7;
        y.push_back(c);
    }
    return {x, from_vector<int64_t>(y)};
}

}  // namespace

TEST_CASE("LogisticRegression separates Gaussian blobs") {
    Generator gen(3);
    auto [x, y] = blobs(30, gen);
    auto [x_test, y_test] = blobs(20, gen);
    eval::LogisticRegression model({.steps = 200});
    model.fit(x, y);
    CHECK(eval::accuracy(y, model.predict(x)) == 1.0);
    CHECK(eval::accuracy(y_test, model.predict(x_test)) == 1.0);
    Tensor proba = model.predict_proba(x_test);
    REQUIRE(proba.shape() == Shape{60, 3});
    CHECK(
        compare(sum(proba, {1}), ones({60}, DType::f64), tolerance(TolClass::reduction, DType::f64))
            .ok);
    CHECK(eval::accuracy(argmax(proba, 1), model.predict(x_test)) == 1.0);
    CHECK(model.weight().shape() == Shape{3, 3});
    CHECK(model.bias().shape() == Shape{3});
    // A class count above the labels seen keeps a column for the absent class.
    CHECK(eval::LogisticRegression().fit(x, y, 5).predict_proba(x).shape() == Shape{90, 5});
}

TEST_CASE("LogisticRegression is the baseline's gradient-descent loop") {
    // cohort_baseline's fit before eval/ existed, written out: standardize, then steps of
    // W -= lr dL/dW, b -= lr dL/db on mean cross entropy + l2 sum(W^2).
    Generator gen(5);
    auto [x, y] = blobs(10, gen);
    Tensor mu = mean(x, {0}, true), sd = marrow::std(x, {0}, true, true) + 1e-8;
    Tensor xs = (x - mu) / sd;
    Tensor w = zeros({3, 3}, DType::f64).requires_grad_();
    Tensor b = zeros({3}, DType::f64).requires_grad_();
    for (int s = 0; s < 25; ++s) {
        // One expression, as the baseline wrote it: the operands of + are evaluated in an
        // unspecified order, which sets the graph's node order and so the order in which the
        // engine sums w's three gradient contributions (splitting it into statements moved 2
        // of 9 weights by an ulp).
        Tensor loss = -mean(gather(log_softmax(add(matmul(xs, w), b), 1), 1, unsqueeze(y, 1))) +
                      1e-3 * sum(w * w);
        w.zero_grad();
        b.zero_grad();
        loss.backward();
        autograd::NoGradGuard no_grad;
        add_(w, w.grad(), -0.5);
        add_(b, b.grad(), -0.5);
    }
    eval::LogisticRegression model({.steps = 25, .lr = 0.5, .l2 = 1e-3});
    model.fit(x, y);
    Tolerance exact = tolerance(TolClass::exact, DType::f64);
    Comparison cw = compare(model.weight(), detach(w), exact);
    Comparison cb = compare(model.bias(), detach(b), exact);
    INFO(cw.detail, " / ", cb.detail);
    CHECK(cw.ok);
    CHECK(cb.ok);
}

TEST_CASE("LogisticRegression: errors") {
    eval::LogisticRegression model;
    Tensor x = zeros({4, 2}, DType::f64);
    CHECK_THROWS_WITH_AS(model.predict(x), doctest::Contains("not fitted"), Error);
    CHECK_THROWS_WITH_AS(model.fit(x, from_vector<int64_t>({0, 1})),
                         doctest::Contains("x must be (N, F) and y (N)"), Error);
    CHECK_THROWS_WITH_AS(model.fit(x, from_vector<double>({0, 1, 0, 1})),
                         doctest::Contains("y must be int64"), Error);
    CHECK_THROWS_WITH_AS(model.fit(x, from_vector<int64_t>({0, 1, 0, 3}), 2),
                         doctest::Contains("target value 3"), Error);
    model.fit(x, from_vector<int64_t>({0, 1, 0, 1}));
    CHECK_THROWS_WITH_AS(model.predict(zeros({4, 3}, DType::f64)),
                         doctest::Contains("x has 3 features"), Error);
    CHECK_THROWS_WITH_AS(eval::LogisticRegression({.lr = 0}), doctest::Contains("lr must be > 0"),
                         Error);
}
