// eval label metrics against hand-checked examples (most are the examples of the scikit-learn
// docs for accuracy_score, confusion_matrix, balanced_accuracy_score,
// precision_recall_fscore_support and classification_report, with their documented results),
// plus the error cases. The sklearn-parity sweep is test_metrics_golden.cpp.
#include <doctest/doctest.h>

#include <cmath>

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

TEST_CASE("classification_report: sklearn's precision_recall_fscore_support example") {
    // y_true = [cat, dog, pig, cat, dog, pig], y_pred = [cat, pig, dog, cat, cat, dog] with
    // cat = 0, dog = 1, pig = 2. cat: TP 2 of 3 predicted, 2 true -> P 2/3, R 1, F1 0.8; dog
    // and pig: no TP -> 0. sklearn: macro (0.222, 0.333, 0.267), micro = accuracy = 1/3.
    V y_true{0, 1, 2, 0, 1, 2}, y_pred{0, 2, 1, 0, 0, 1};
    eval::ClassificationReport r = eval::classification_report(y_true, y_pred);
    CHECK(r.labels == V{0, 1, 2});
    CHECK(r.per_class[0].precision == doctest::Approx(2.0 / 3));
    CHECK(r.per_class[0].recall == 1);
    CHECK(r.per_class[0].f1 == doctest::Approx(0.8));
    CHECK(r.per_class[1].precision == 0);  // zero_division: 0
    CHECK(r.per_class[2].f1 == 0);
    CHECK(r.macro.precision == doctest::Approx(2.0 / 9));
    CHECK(r.macro.recall == doctest::Approx(1.0 / 3));
    CHECK(r.macro.f1 == doctest::Approx(0.8 / 3));
    CHECK(r.micro.f1 == doctest::Approx(1.0 / 3));
    CHECK(r.weighted.f1 == doctest::Approx(0.8 / 3));  // equal supports: weighted = macro
    CHECK(r.macro.support == 6);
    // Specificity TN / (TN + FP): cat TN 3, FP 1 -> 3/4; dog TN 2, FP 2 -> 1/2; pig 3/4.
    CHECK(r.per_class[0].specificity == 0.75);
    CHECK(r.per_class[1].specificity == 0.5);
    CHECK(r.per_class[2].specificity == 0.75);
    CHECK(r.macro.specificity == doctest::Approx(2.0 / 3));
    // labels=['pig', 'dog', 'cat'] reorders: P [0, 0, 0.667], R [0, 0, 1], support [2, 2, 2].
    r = eval::classification_report(y_true, y_pred, {2, 1, 0});
    CHECK(r.per_class[2].precision == doctest::Approx(2.0 / 3));
    CHECK(r.per_class[0].recall == 0);
    CHECK(r.per_class[1].support == 2);
    CHECK(eval::f1_score(y_true, y_pred, eval::Average::macro) == doctest::Approx(0.8 / 3));
    CHECK(eval::precision_score(y_true, y_pred, eval::Average::micro) == doctest::Approx(1.0 / 3));
    CHECK(eval::recall_score(y_true, y_pred, eval::Average::weighted) == doctest::Approx(1.0 / 3));
}

TEST_CASE("classification_report: sklearn's documented text") {
    eval::ClassificationReport r = eval::classification_report(V{0, 1, 2, 2, 2}, V{0, 0, 2, 2, 1});
    CHECK(r.to_string({"class 0", "class 1", "class 2"}) ==
          "              precision    recall  f1-score   support\n"
          "\n"
          "     class 0       0.50      1.00      0.67         1\n"
          "     class 1       0.00      0.00      0.00         1\n"
          "     class 2       1.00      0.67      0.80         3\n"
          "\n"
          "    accuracy                           0.60         5\n"
          "   macro avg       0.50      0.56      0.49         5\n"
          "weighted avg       0.70      0.60      0.61         5\n");
    // A label list that leaves out a present class: "micro avg" instead of "accuracy".
    r = eval::classification_report(V{0, 1, 2, 2, 2}, V{0, 0, 2, 2, 1}, {2});
    CHECK_FALSE(r.micro_is_accuracy);
    CHECK(r.to_string().find("   micro avg       1.00      0.67      0.80         3") !=
          std::string::npos);
}

TEST_CASE("normalize_confusion: rows sum to 1, an empty row stays zeros") {
    eval::ConfusionMatrix cm{{2, 0, 0}, {0, 0, 0}, {1, 0, 3}};
    CHECK(eval::normalize_confusion(cm) == eval::RealMatrix{{1, 0, 0}, {0, 0, 0}, {0.25, 0, 0.75}});
    CHECK(eval::normalize_confusion(cm, eval::Normalize::pred_columns) ==
          eval::RealMatrix{{2.0 / 3, 0, 0}, {0, 0, 0}, {1.0 / 3, 0, 1}});
    CHECK(eval::normalize_confusion(cm, eval::Normalize::all) ==
          eval::RealMatrix{{1.0 / 3, 0, 0}, {0, 0, 0}, {1.0 / 6, 0, 0.5}});
    // confusion_matrix_for_labels: rows in label order, other labels left out.
    CHECK(eval::confusion_matrix_for_labels(V{5, -1, 5, 7}, V{5, 5, -1, 5}, {5, -1}) ==
          eval::ConfusionMatrix{{1, 1}, {1, 0}});
}

TEST_CASE("cohen_kappa: hand-derived values") {
    // O = [[1, 1], [0, 2]]: p_o = 3/4, p_e = (2/4)(1/4) + (2/4)(3/4) = 1/2, kappa 1/2.
    CHECK(eval::cohen_kappa(V{0, 0, 1, 1}, V{0, 1, 1, 1}) == doctest::Approx(0.5));
    CHECK(eval::cohen_kappa(V{0, 1, 2}, V{0, 1, 2}) == 1);
    // Three classes, one off-by-two error: O = [[1,0,1],[0,1,0],[0,0,1]], row sums (2, 1, 1),
    // column sums (1, 1, 2), N = 4, E = outer(columns, rows) / 4 =
    // [[.5,.25,.25],[.5,.25,.25],[1,.5,.5]]. Linear weights |i - j|: sum W O = 2,
    // sum W E = .25 + .5 + .5 + .25 + 2 + .5 = 4, so kappa = 1 - 2/4 = 0.5.
    CHECK(eval::cohen_kappa(V{0, 0, 1, 2}, V{0, 2, 1, 2}, eval::KappaWeights::linear) ==
          doctest::Approx(0.5));
    // One class in both: 0/0, NaN as in sklearn.
    CHECK(std::isnan(eval::cohen_kappa(V{1, 1}, V{1, 1})));
}

TEST_CASE("label metrics: errors name the function and the numbers") {
    CHECK_THROWS_WITH_AS(eval::classification_report(V{0, 1}, V{0, 1, 1}),
                         doctest::Contains("classification_report: y_true has 2 labels but "
                                           "y_pred has 3"),
                         Error);
    CHECK_THROWS_WITH_AS(eval::classification_report(V{0, 1}, V{0, 1}, {1, 0, 1}),
                         doctest::Contains("label 1 is listed twice"), Error);
    CHECK_THROWS_WITH_AS(eval::cohen_kappa(V{}, V{}), doctest::Contains("cohen_kappa: empty"),
                         Error);
    CHECK_THROWS_WITH_AS(eval::confusion_matrix_for_labels(V{0, 1}, V{2, 2}, {2}),
                         doctest::Contains("none of the 1 labels occurs in y_true"), Error);
    CHECK_THROWS_WITH_AS(eval::normalize_confusion(eval::ConfusionMatrix{{1, 2}, {3}}),
                         doctest::Contains("row 1 has 1 columns, expected 2"), Error);
    CHECK_THROWS_WITH_AS(eval::classification_report(V{0}, V{0}).to_string({"a", "b"}),
                         doctest::Contains("2 names for 1 labels"), Error);
}
