// eval metrics against hand-checked examples (the first three are the examples of the
// scikit-learn docs for accuracy_score, confusion_matrix and balanced_accuracy_score, with
// their documented results), plus the error cases.
#include <doctest/doctest.h>

#include "eval/metrics.h"
#include "tensor/factory.h"

using namespace marrow;
using V = std::vector<int64_t>;

TEST_CASE("accuracy: sklearn's example") {
    // accuracy_score([0, 1, 2, 3], [0, 2, 1, 3]) = 0.5 (two of four right).
    CHECK(eval::accuracy(V{0, 1, 2, 3}, V{0, 2, 1, 3}) == 0.5);
    CHECK(eval::accuracy(from_vector<int64_t>({0, 1, 2, 3}), from_vector<int64_t>({0, 2, 1, 3})) ==
          0.5);
}

TEST_CASE("confusion_matrix: sklearn's example, rows are the truth") {
    // confusion_matrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2]) =
    //   [[2, 0, 0], [0, 0, 1], [1, 0, 2]]
    V y_true{2, 0, 2, 2, 0, 1}, y_pred{0, 0, 2, 2, 0, 2};
    eval::ConfusionMatrix expected{{2, 0, 0}, {0, 0, 1}, {1, 0, 2}};
    CHECK(eval::confusion_matrix(y_true, y_pred) == expected);
    CHECK(eval::confusion_matrix(from_vector<int64_t>(y_true), from_vector<int64_t>(y_pred)) ==
          expected);
    // A fixed class count pads classes absent from both inputs.
    eval::ConfusionMatrix padded = eval::confusion_matrix(y_true, y_pred, 4);
    CHECK(padded.size() == 4);
    CHECK(padded[3] == V{0, 0, 0, 0});
    CHECK(padded[2] == V{1, 0, 2, 0});
}

TEST_CASE("balanced_accuracy: sklearn's example and a class seen only in predictions") {
    // balanced_accuracy_score([0, 1, 0, 0, 1, 0], [0, 1, 0, 0, 0, 1]) = 0.625:
    // recall of class 0 = 3/4, of class 1 = 1/2, mean 5/8.
    V y_true{0, 1, 0, 0, 1, 0}, y_pred{0, 1, 0, 0, 0, 1};
    CHECK(eval::balanced_accuracy(y_true, y_pred) == 0.625);
    CHECK(eval::balanced_accuracy(eval::confusion_matrix(y_true, y_pred, 5)) == 0.625);
    // Class 2 only predicted: sklearn drops it from the mean (recall 1/2 and 1, mean 3/4),
    // where dividing by all 3 classes would give 1/2.
    CHECK(eval::balanced_accuracy(V{0, 0, 1, 1}, V{0, 2, 1, 1}) == 0.75);
    // Imbalanced classes: 9 of 10 class-0 right, 0 of 1 class-1: accuracy 9/11, balanced 0.45.
    V t(11, 0), p(11, 0);
    t[10] = 1;
    p[0] = 1;
    CHECK(eval::accuracy(t, p) == doctest::Approx(9.0 / 11));
    CHECK(eval::balanced_accuracy(t, p) == doctest::Approx(0.45));
}

TEST_CASE("metrics: errors on empty input, mismatched lengths, bad labels") {
    CHECK_THROWS_WITH_AS(eval::accuracy(V{}, V{}), doctest::Contains("accuracy: empty input"),
                         Error);
    CHECK_THROWS_WITH_AS(eval::balanced_accuracy(V{0, 1}, V{0}),
                         doctest::Contains("y_true has 2 labels but y_pred has 1"), Error);
    CHECK_THROWS_WITH_AS(eval::confusion_matrix(V{0, -1}, V{0, 0}),
                         doctest::Contains("labels are class indices, got -1"), Error);
    CHECK_THROWS_WITH_AS(eval::confusion_matrix(V{0, 3}, V{0, 0}, 3),
                         doctest::Contains("label 3 is out of range [0, 3)"), Error);
    CHECK_THROWS_WITH_AS(eval::accuracy(from_vector<float>({0, 1}), from_vector<int64_t>({0, 1})),
                         doctest::Contains("y_true must be a 1-D int64 tensor"), Error);
    CHECK_THROWS_WITH_AS(eval::balanced_accuracy(eval::ConfusionMatrix{{0, 0}, {0, 0}}),
                         doctest::Contains("holds no samples"), Error);
}
