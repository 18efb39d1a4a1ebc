// eval score-based metrics (ranking_metrics.h) against hand-derived examples (the curves are
// the examples of the scikit-learn docs for roc_curve, precision_recall_curve and
// average_precision_score), plus the error cases. The sklearn-parity sweep is
// test_metrics_golden.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "eval/ranking_metrics.h"
#include "tensor/factory.h"

using namespace marrow;
using V = std::vector<int64_t>;
using D = std::vector<double>;

TEST_CASE("roc_curve and precision_recall_curve: sklearn's examples") {
    // y = [0, 0, 1, 1], scores [0.1, 0.4, 0.35, 0.8]: sklearn documents
    // fpr [0, 0, 0.5, 0.5, 1], tpr [0, 0.5, 0.5, 1, 1], thresholds [1.8, 0.8, 0.4, 0.35, 0.1].
    V y{0, 0, 1, 1};
    D s{0.1, 0.4, 0.35, 0.8};
    eval::RocCurve roc = eval::roc_curve(y, s);
    CHECK(roc.fpr == D{0, 0, 0.5, 0.5, 1});
    CHECK(roc.tpr == D{0, 0.5, 0.5, 1, 1});
    CHECK(roc.thresholds == D{1.8, 0.8, 0.4, 0.35, 0.1});
    CHECK(eval::roc_auc(y, s) == 0.75);
    // precision [0.5, 0.667, 0.5, 1, 1], recall [1, 1, 0.5, 0.5, 0], thresholds
    // [0.1, 0.35, 0.4, 0.8]; AP = 0.5 * 1 + 0.5 * 2/3 = 0.8333.
    eval::PrCurve pr = eval::precision_recall_curve(y, s);
    CHECK(pr.precision == D{0.5, 2.0 / 3, 0.5, 1, 1});
    CHECK(pr.recall == D{1, 1, 0.5, 0.5, 0});
    CHECK(pr.thresholds == D{0.1, 0.35, 0.4, 0.8});
    CHECK(eval::average_precision(y, s) == doctest::Approx(0.5 + 1.0 / 3).epsilon(1e-15));
}

TEST_CASE("roc_curve: ties are one threshold; collinear points are dropped") {
    // All scores equal: one threshold, the diagonal, AUC 1/2; AP = prevalence.
    V y{0, 1, 0, 1};
    D s(4, 0.5);
    eval::RocCurve roc = eval::roc_curve(y, s);
    CHECK(roc.fpr == D{0, 1});
    CHECK(roc.tpr == D{0, 1});
    CHECK(roc.thresholds == D{1.5, 0.5});
    CHECK(eval::roc_auc(y, s) == 0.5);
    CHECK(eval::average_precision(y, s) == 0.5);
    // Perfect ranking of 3 positives over 3 negatives: the curve (fps, tps) passes (0,1),
    // (0,2), (0,3), (1,3), (2,3), (3,3); (0,2), (1,3) and (2,3) lie on straight runs.
    y = {1, 1, 1, 0, 0, 0};
    s = {0.9, 0.8, 0.7, 0.3, 0.2, 0.1};
    roc = eval::roc_curve(y, s);
    CHECK(roc.fpr == D{0, 0, 0, 1});
    CHECK(roc.tpr == D{0, 1.0 / 3, 1, 1});
    CHECK(roc.thresholds == D{1.9, 0.9, 0.7, 0.1});
    CHECK(eval::roc_curve(y, s, false).fpr.size() == 7);
    CHECK(eval::roc_auc(y, s) == 1);
    // No negatives: fpr undefined (NaN), as sklearn's (which warns).
    roc = eval::roc_curve(V{1, 1}, D{0.2, 0.4});
    CHECK(std::isnan(roc.fpr[1]));
    CHECK(roc.tpr == D{0, 0.5, 1});
    // No positives: recall 1 everywhere and AP 0.
    CHECK(eval::precision_recall_curve(V{0, 0}, D{0.2, 0.4}).recall == D{1, 1, 0});
    CHECK(eval::average_precision(V{0, 0}, D{0.2, 0.4}) == 0);
}

TEST_CASE("one-vs-rest AUC and AP, CLAM's NaN-aware AUC, log loss") {
    // Three classes, each scored highest on its own samples: every AUC and AP is 1.
    V y{0, 1, 2, 0, 1, 2};
    eval::ScoreMatrix s(6, 3,
                        {0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.1, 0.2, 0.7,  //
                         0.6, 0.3, 0.1, 0.3, 0.5, 0.2, 0.2, 0.2, 0.6});
    CHECK(eval::roc_auc_ovr(y, s) == 1);
    CHECK(eval::roc_auc_ovr(y, s, eval::Average::weighted) == 1);
    CHECK(eval::average_precision_ovr(y, s, eval::Average::macro) == 1);
    CHECK(eval::roc_auc_per_class(y, s) == D{1, 1, 1});
    // Class 2 absent: sklearn errors (naming no class; we name it), CLAM gives NaN and
    // averages the rest.
    V y2{0, 1, 0, 1, 0, 1};
    CHECK_THROWS_WITH_AS(eval::roc_auc_ovr(y2, s),
                         doctest::Contains("class 2 is absent from y_true (0 of 6 samples)"),
                         Error);
    eval::NanAwareAuc nan_aware = eval::roc_auc_ovr_nan_aware(y2, s);
    CHECK(std::isnan(nan_aware.per_class[2]));
    CHECK(nan_aware.macro ==
          doctest::Approx((nan_aware.per_class[0] + nan_aware.per_class[1]) / 2));
    CHECK(eval::average_precision_per_class(y2, s)[2] == 0);  // sklearn: no positives -> 0
    // log loss: -(log 0.8 + log 0.7 + ...) / 6 by hand for the first two rows only.
    eval::ScoreMatrix p(2, 2, {0.9, 0.1, 0.2, 0.8});
    CHECK(eval::log_loss(V{0, 1}, p) == doctest::Approx(-(std::log(0.9) + std::log(0.8)) / 2));
    // Certain and wrong: clipped at eps = 2^-52, so -log(eps) = 52 log 2.
    eval::ScoreMatrix hard(1, 2, {1.0, 0.0});
    CHECK(eval::log_loss(V{1}, hard) == doctest::Approx(52 * std::log(2.0)).epsilon(1e-12));
    // The Tensor form reads f32 scores too.
    Tensor t = from_vector<float>({0.9f, 0.1f, 0.2f, 0.8f}, {2, 2});
    CHECK(eval::log_loss(from_vector<int64_t>({0, 1}), t) ==
          doctest::Approx(-(std::log(0.9) + std::log(0.8)) / 2).epsilon(1e-6));
}

TEST_CASE("score metrics: errors where sklearn errors, naming rows and counts") {
    double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK_THROWS_WITH_AS(eval::roc_auc(V{1, 1, 1}, D{0.1, 0.2, 0.3}),
                         doctest::Contains("roc_auc: only one class (positive) present"), Error);
    CHECK_THROWS_WITH_AS(eval::roc_curve(V{0, 1}, D{0.1}),
                         doctest::Contains("y_true has 2 labels but y_score has 1"), Error);
    CHECK_THROWS_WITH_AS(eval::roc_curve(V{0, 2}, D{0.1, 0.2}),
                         doctest::Contains("binary y_true must be 0 or 1, got 2 at row 1"), Error);
    CHECK_THROWS_WITH_AS(eval::precision_recall_curve(V{0, 1}, D{0.1, nan}),
                         doctest::Contains("y_score is nan at row 1"), Error);
    CHECK_THROWS_WITH_AS(eval::average_precision(V{}, D{}), doctest::Contains("empty input"),
                         Error);
    eval::ScoreMatrix s(2, 3, {0.2, 0.3, 0.5, 0.6, 0.3, 0.3});
    CHECK_THROWS_WITH_AS(eval::roc_auc_ovr(V{0, 1, 2}, s),
                         doctest::Contains("y_true has 3 labels but scores has 2 rows"), Error);
    CHECK_THROWS_WITH_AS(eval::roc_auc_ovr(V{0, 3}, s),
                         doctest::Contains("label 3 at row 1 is out of range [0, 3)"), Error);
    eval::ScoreMatrix unnormalized(2, 3, {0.2, 0.3, 0.5, 0.6, 0.3, 0.4});
    CHECK_THROWS_WITH_AS(eval::roc_auc_ovr(V{0, 1}, unnormalized),
                         doctest::Contains("row 1 sums to 1.29999"), Error);
    eval::ScoreMatrix with_nan(2, 3, {0.2, 0.3, 0.5, 0.6, nan, 0.4});
    CHECK_THROWS_WITH_AS(eval::average_precision_ovr(V{0, 1}, with_nan),
                         doctest::Contains("scores is nan at row 1, column 1"), Error);
    CHECK_THROWS_WITH_AS(eval::log_loss(V{0, 0}, eval::ScoreMatrix(2, 1, {0.5, 0.5})),
                         doctest::Contains("log_loss: scores needs at least 2 columns"), Error);
    CHECK_THROWS_WITH_AS(eval::ScoreMatrix(2, 2, {0.5}), doctest::Contains("1 values for 2 x 2"),
                         Error);
    CHECK_THROWS_WITH_AS(eval::scores_from_tensor(from_vector<double>({0.5, 0.5}), "proba"),
                         doctest::Contains("proba must be a 2-D floating tensor"), Error);
}
