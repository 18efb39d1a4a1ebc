// eval/aggregate.h: mean +- sd, percentile and the percentile bootstrap on hand-derived
// examples (the numpy-parity checks are in test_metrics_golden.cpp), plus the error cases.
#include <doctest/doctest.h>

#include <cmath>

#include "eval/aggregate.h"

using namespace marrow;
using V = std::vector<int64_t>;
using D = std::vector<double>;

TEST_CASE("mean_sd: sample sd (ddof = 1), NaN skipped, too few values") {
    // {1, 2, 3, 4}: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, sd sqrt(5 / 3).
    eval::MeanSd m = eval::mean_sd(D{1, 2, 3, 4});
    CHECK(m.mean == 2.5);
    CHECK(m.sd == doctest::Approx(std::sqrt(5.0 / 3.0)).epsilon(1e-15));
    CHECK(m.n == 4);
    // A NaN fold (e.g. an AUC undefined on it) is left out: the same as {1, 3}.
    m = eval::mean_sd(D{1, NAN, 3});
    CHECK(m.mean == 2);
    CHECK(m.sd == doctest::Approx(std::sqrt(2.0)).epsilon(1e-15));
    CHECK(m.n == 2);
    m = eval::mean_sd(D{0.7});
    CHECK(m.mean == 0.7);
    CHECK(std::isnan(m.sd));
    m = eval::mean_sd(D{NAN, NAN});
    CHECK(std::isnan(m.mean));
    CHECK(m.n == 0);
    CHECK(eval::format_mean_sd({0.86, 0.05, 5}) == "0.860 ± 0.050");
    CHECK(eval::format_mean_sd({0.861, NAN, 1}, 2) == "0.86");
}

TEST_CASE("percentile: numpy's linear interpolation") {
    // Sorted {1, 2, 3, 4}: position 3 q / 100. q = 50 -> 1.5 -> 2.5; q = 10 -> 0.3 -> 1.3.
    D v{4, 1, 3, 2};
    CHECK(eval::percentile(v, 0) == 1);
    CHECK(eval::percentile(v, 100) == 4);
    CHECK(eval::percentile(v, 50) == 2.5);
    CHECK(eval::percentile(v, 10) == doctest::Approx(1.3).epsilon(1e-15));
    CHECK(eval::percentile(D{7}, 97.5) == 7);
    CHECK_THROWS_WITH_AS(eval::percentile(D{}, 50), doctest::Contains("percentile: empty input"),
                         Error);
    CHECK_THROWS_WITH_AS(eval::percentile(D{1, NAN}, 50), doctest::Contains("value 1 is NaN"),
                         Error);
    CHECK_THROWS_WITH_AS(eval::percentile(D{1}, 101), doctest::Contains("[0, 100], got 101"),
                         Error);
}

TEST_CASE("bootstrap_indices: in range, deterministic per seed, uniform") {
    V a = eval::bootstrap_indices(1000, 3, 42);
    CHECK(a == eval::bootstrap_indices(1000, 3, 42));
    CHECK(a != eval::bootstrap_indices(1000, 4, 42));
    CHECK(a != eval::bootstrap_indices(1000, 3, 43));
    double mean = 0;
    for (int64_t i : a) {
        REQUIRE(i >= 0);
        REQUIRE(i < 1000);
        mean += double(i) / 1000;
    }
    // Uniform on {0..999}: mean 499.5, sd of the mean 288.7 / sqrt(1000) = 9.1; allow 5 sd.
    CHECK(std::abs(mean - 499.5) < 46);
    // With replacement: the expected share of distinct indices is 1 - (1 - 1/n)^n ~ 0.632.
    std::vector<bool> seen(1000, false);
    int distinct = 0;
    for (int64_t i : a) distinct += !seen[size_t(i)], seen[size_t(i)] = true;
    CHECK(distinct > 590);
    CHECK(distinct < 675);
}

TEST_CASE("bootstrap_ci: degenerate and binomial intervals") {
    // Every prediction right: every resample has accuracy 1.
    V y(50, 1);
    eval::ConfidenceInterval ci = eval::bootstrap_ci(
        [](const V& t, const V& p) { return eval::accuracy(t, p); }, y, y, {.n_boot = 200});
    CHECK(ci.estimate == 1);
    CHECK(ci.lower == 1);
    CHECK(ci.upper == 1);
    CHECK(ci.n_valid == 200);
    // 800 of 1000 right: the accuracy's resampling distribution is Binomial(1000, 0.8) / 1000,
    // sd sqrt(0.8 * 0.2 / 1000) = 0.01265, so the 95% interval is about 0.8 -+ 0.0248.
    V t(1000, 0), p(1000, 0);
    for (int i = 0; i < 200; ++i) p[size_t(i * 5)] = 1;
    auto acc = [](const V& a, const V& b) { return eval::accuracy(a, b); };
    ci = eval::bootstrap_ci(acc, t, p, {.n_boot = 2000, .alpha = 0.05, .seed = 7});
    CHECK(ci.estimate == 0.8);
    CHECK(std::abs(ci.lower - (0.8 - 0.0248)) < 0.004);
    CHECK(std::abs(ci.upper - (0.8 + 0.0248)) < 0.004);
    eval::ConfidenceInterval again = eval::bootstrap_ci(acc, t, p, {.n_boot = 2000, .seed = 7});
    CHECK(again.lower == ci.lower);
    CHECK(again.upper == ci.upper);
    // A wider alpha gives a narrower interval.
    eval::ConfidenceInterval ci50 =
        eval::bootstrap_ci(acc, t, p, {.n_boot = 2000, .alpha = 0.5, .seed = 7});
    CHECK(ci50.upper - ci50.lower < ci.upper - ci.lower);
}

TEST_CASE("bootstrap_ci: NaN resamples are left out and counted; scores travel with labels") {
    // One positive in 5: a resample misses it with probability (4/5)^5 = 0.328, and the
    // NaN-aware AUC of class 1 is then NaN.
    V y{0, 0, 1, 0, 0};
    eval::ScoreMatrix s(5, 2, {0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.6, 0.4, 0.7, 0.3});
    auto auc1 = [](const V& t, const V&, const eval::ScoreMatrix& sc) {
        return eval::roc_auc_ovr_nan_aware(t, sc).per_class[1];
    };
    eval::ConfidenceInterval ci = eval::bootstrap_ci(auc1, y, y, s, {.n_boot = 1000});
    CHECK(ci.estimate == 1);  // the positive has the highest class-1 score
    CHECK(ci.n_valid > 620);  // 672 expected, sd 15
    CHECK(ci.n_valid < 720);
    CHECK(ci.lower == 1);  // the rows stay paired: every valid resample still ranks it first
    CHECK(ci.upper == 1);
}

TEST_CASE("bootstrap_ci: errors") {
    auto acc = [](const V& a, const V& b) { return eval::accuracy(a, b); };
    CHECK_THROWS_WITH_AS(eval::bootstrap_ci(acc, V{0, 1}, V{0}),
                         doctest::Contains("y_true has 2 labels but y_pred has 1"), Error);
    CHECK_THROWS_WITH_AS(eval::bootstrap_ci(acc, V{}, V{}), doctest::Contains("empty input"),
                         Error);
    CHECK_THROWS_WITH_AS(eval::bootstrap_ci(acc, V{0}, V{0}, {.n_boot = 0}),
                         doctest::Contains("n_boot must be >= 1, got 0"), Error);
    CHECK_THROWS_WITH_AS(eval::bootstrap_ci(acc, V{0}, V{0}, {.alpha = 1}),
                         doctest::Contains("alpha must lie in (0, 1), got 1"), Error);
    CHECK_THROWS_WITH_AS(eval::bootstrap_ci([](const V&, const V&) { return double(NAN); }, V{0},
                                            V{0}, {.n_boot = 3}),
                         doctest::Contains("NaN on all 3 resamples"), Error);
    eval::ScoreMatrix s(2, 2, {0.5, 0.5, 0.5, 0.5});
    CHECK_THROWS_WITH_AS(
        eval::bootstrap_ci([](const V&, const V&, const eval::ScoreMatrix&) { return 0.0; },
                           V{0, 1, 1}, V{0, 1, 1}, s),
        doctest::Contains("y_true has 3 labels, y_pred 3 and scores 2 rows"), Error);
}
