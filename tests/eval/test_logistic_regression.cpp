// eval::LogisticRegression: separates well-separated Gaussian blobs, its probabilities are a
// softmax consistent with predict, its stopping rule and optimum, the binomial case, errors.
// (Agreement with sklearn: test_probe_golden.cpp.)
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
    eval::LogisticRegression model({.standardize = true});
    model.fit(x, y);
    CHECK(eval::accuracy(y, model.predict(x)) == 1.0);
    CHECK(eval::accuracy(y_test, model.predict(x_test)) == 1.0);
    Tensor proba = model.predict_proba(x_test);
    REQUIRE(proba.shape() == Shape{60, 3});
    CHECK(
        compare(sum(proba, {1}), ones({60}, DType::f64), tolerance(TolClass::reduction, DType::f64))
            .ok);
    CHECK(eval::accuracy(argmax(proba, 1), model.predict(x_test)) == 1.0);
    CHECK(model.coef().shape() == Shape{3, 3});
    CHECK(model.intercept().shape() == Shape{3});
    // A class count above the labels seen keeps a column for the absent class.
    CHECK(eval::LogisticRegression().fit(x, y, 5).predict_proba(x).shape() == Shape{90, 5});
}

TEST_CASE("LogisticRegression stops where scipy's L-BFGS-B rule says") {
    // max_iter bounds the iterations. A converged fit (here by the relative-reduction rule)
    // reports the objective sum CE + ||W||^2 / (2C), recomputed by hand, and sits near the
    // minimum, where the gradient (p - onehot)' X + W / C, sum (p - onehot) vanishes: a
    // 1e-5 fraction of the gradient at the start (about 10 here) is left.
    Generator gen(5);
    auto [x, y] = blobs(10, gen);
    eval::LogisticRegression capped({.max_iter = 3});
    capped.fit(x, y);
    CHECK(capped.n_iter() == 3);
    CHECK_FALSE(capped.converged());
    eval::LogisticRegression model({.C = 0.5, .max_iter = 1000, .tol = 1e-9});
    model.fit(x, y);
    CHECK(model.converged());
    Tensor g = model.predict_proba(x) - one_hot(y, 3).to(DType::f64);  // (N, 3)
    Tensor grad_w = matmul(transpose(g, 0, 1), x) + model.coef() / 0.5;
    Tensor grad_b = sum(g, {0});
    CHECK(max(abs(grad_w)).item() < 1e-3);
    CHECK(max(abs(grad_b)).item() < 1e-3);
    Tensor ce = -sum(log(model.predict_proba(x)) * one_hot(y, 3).to(DType::f64));
    double objective = ce.item() + sum(model.coef() * model.coef()).item() / (2 * 0.5);
    CHECK(model.objective() == doctest::Approx(objective).epsilon(1e-12));
}

TEST_CASE("LogisticRegression: two classes are sklearn's binomial model") {
    Generator gen(9);
    auto [x, y] = blobs(10, gen);
    Tensor keep = from_vector<int64_t>({0, 1, 3, 4, 6, 7, 9, 10, 12, 13});  // classes 0 and 1
    eval::LogisticRegression model;
    model.fit(index_select(x, 0, keep), index_select(y, 0, keep));
    CHECK(model.coef().shape() == Shape{1, 3});
    CHECK(model.classes() == std::vector<int64_t>{0, 1});
    CHECK(eval::accuracy(index_select(y, 0, keep), model.predict(index_select(x, 0, keep))) ==
          1.0);
}

TEST_CASE("LogisticRegression: errors") {
    eval::LogisticRegression model;
    Tensor x = zeros({4, 2}, DType::f64);
    CHECK_THROWS_WITH_AS(model.predict(x), doctest::Contains("not fitted"), Error);
    CHECK_THROWS_WITH_AS(model.fit(x, from_vector<int64_t>({0, 1})),
                         doctest::Contains("4 feature rows but 2 labels"), Error);
    CHECK_THROWS_WITH_AS(model.fit(x, from_vector<double>({0, 1, 0, 1})),
                         doctest::Contains("labels must be a 1-D int64 tensor"), Error);
    CHECK_THROWS_WITH_AS(model.fit(x, from_vector<int64_t>({0, 1, 0, 3}), 2),
                         doctest::Contains("label 3 at row 3 is outside [0, 2)"), Error);
    CHECK_THROWS_WITH_AS(model.fit(x, from_vector<int64_t>({2, 2, 2, 2})),
                         doctest::Contains("one class (2)"), Error);
    Tensor bad = zeros({4, 2}, DType::f64);
    bad.data<double>()[5] = std::nan("");
    CHECK_THROWS_WITH_AS(model.fit(bad, from_vector<int64_t>({0, 1, 0, 1})),
                         doctest::Contains("non-finite value (nan) in row 2, column 1"), Error);
    model.fit(x, from_vector<int64_t>({0, 1, 0, 1}));
    CHECK_THROWS_WITH_AS(model.predict(zeros({4, 3}, DType::f64)),
                         doctest::Contains("x has 3 features"), Error);
    CHECK_THROWS_WITH_AS(eval::LogisticRegression({.C = 0}), doctest::Contains("C must be > 0"),
                         Error);
}
