// eval::RandomForestClassifier: hand-derived stumps and trees, sklearn's exact probabilities
// where its trees do not depend on the feature draw order, sklearn's accuracy spread over
// seeds, the histogram / sorted / float paths agreeing, determinism across thread counts,
// feature importances and errors. Fixture: tests/golden/gen/gen_forest.py.
#include <doctest/doctest.h>
#include <omp.h>

#include "autograd/ops.h"
#include "eval/metrics.h"
#include "eval/random_forest.h"
#include "tensor/safetensors.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;
using eval::MaxFeatures;
using eval::RandomForestClassifier;
using eval::RandomForestOptions;

namespace {


const Tensor& get(const std::string& key) { return golden_tensor("forest", key, "gen_forest.py"); }

constexpr int64_t kTrain = 300, kTest = 200;

struct Split {
    Tensor x_train, y_train, x_test, y_test;
};

Split fixture_split(const std::string& name) {
    const Tensor& x = get(name + ".x");
    const Tensor& y = get("y");
    return {slice(x, 0, 0, kTrain), slice(y, 0, 0, kTrain), slice(x, 0, kTrain, kTrain + kTest),
            slice(y, 0, kTrain, kTrain + kTest)};
}

// One deterministic tree on every sample and feature (no bootstrap, no feature sampling).
RandomForestClassifier single_tree(RandomForestOptions options = {}) {
    options.n_estimators = 1;
    options.bootstrap = false;
    options.max_features = MaxFeatures::all();
    return RandomForestClassifier(options);
}

Tensor column(const std::vector<float>& v) { return from_vector<float>(v, {int64_t(v.size()), 1}); }

double at(const Tensor& t, int64_t r, int64_t c) { return t.data<double>()[r * t.size(1) + c]; }

}  // namespace

TEST_CASE("RandomForest: a depth-1 tree is the hand-computed Gini stump") {
    // x = 1..5, y = 0 0 1 0 1. Candidate thresholds and sum_c L_c^2/W_L + sum_c R_c^2/W_R
    // (larger is a lower weighted Gini): 1.5 -> 1 + 2 = 3; 2.5 -> 2 + 5/3 = 3.67;
    // 3.5 -> 5/3 + 1 = 2.67; 4.5 -> 10/4 + 1 = 3.5. Best: 2.5, leaves {0,0} and {1,0,1}.
    Tensor x = column({1, 2, 3, 4, 5});
    Tensor y = from_vector<int64_t>({0, 0, 1, 0, 1});
    RandomForestClassifier tree = single_tree({.max_depth = 1});
    tree.fit(x, y);
    Tensor p = tree.predict_proba(column({2.4f, 2.5f, 2.6f, -100, 100}));
    REQUIRE(p.shape() == Shape{5, 2});
    const double expected[5][2] = {{1, 0}, {1, 0}, {1.0 / 3, 2.0 / 3}, {1, 0}, {1.0 / 3, 2.0 / 3}};
    for (int r = 0; r < 5; ++r)
        for (int c = 0; c < 2; ++c) CHECK(at(p, r, c) == expected[r][c]);
    CHECK(tree.trees()[0].node_count() == 3);
    CHECK(tree.trees()[0].depth() == 1);
}

TEST_CASE("RandomForest: a full 1-D tree splits until pure, ties to the first threshold") {
    // As above, then the right node {3:1, 4:0, 5:1}: thresholds 3.5 and 4.5 both score 2, the
    // first (3.5) wins as in sklearn's strict '>' scan; then {4:0, 5:1} splits at 4.5.
    Tensor x = column({1, 2, 3, 4, 5});
    Tensor y = from_vector<int64_t>({0, 0, 1, 0, 1});
    RandomForestClassifier tree = single_tree();
    tree.fit(x, y);
    Tensor pred = tree.predict(column({2.5f, 2.6f, 3.5f, 3.6f, 4.5f, 4.6f}));
    CHECK(eval::labels_to_vector(pred, "pred") == std::vector<int64_t>{0, 1, 1, 0, 0, 1});
    CHECK(tree.trees()[0].node_count() == 7);
    CHECK(eval::accuracy(y, tree.predict(x)) == 1.0);
}

TEST_CASE("RandomForest: min_samples_leaf restricts the candidate thresholds") {
    // x = 1..6, y = 1 0 0 0 1 1. Free: 4.5 is best (L {1,0,0,0}: 10/4, R {1,1}: 2 -> 4.5,
    // vs 3.6, 3, 3.33, 3.6). With min_samples_leaf = 3 only 3.5 is allowed: leaves {1,0,0}
    // and {0,1,1}, which cannot split again (3 < 2 * 3 samples).
    Tensor x = column({1, 2, 3, 4, 5, 6});
    Tensor y = from_vector<int64_t>({1, 0, 0, 0, 1, 1});
    Tensor probe = column({3.4f, 3.6f, 4.4f, 4.6f});
    Tensor free = single_tree({.max_depth = 1}).fit(x, y).predict_proba(probe);
    Tensor leaf3 = single_tree({.min_samples_leaf = 3}).fit(x, y).predict_proba(probe);
    const double free_p0[4] = {0.75, 0.75, 0.75, 0};  // P(class 0) left and right of 4.5
    const double leaf3_p0[4] = {2.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 3};  // of 3.5
    for (int r = 0; r < 4; ++r) {
        CHECK(at(free, r, 0) == free_p0[r]);
        CHECK(at(leaf3, r, 0) == leaf3_p0[r]);
    }
}

TEST_CASE("RandomForest: sklearn's exact trees where feature order cannot matter") {
    // bootstrap=False, max_features=None: sklearn's trees differ between random states only
    // by which of two exactly tied features comes first; the generator kept the (max_depth,
    // min_samples_leaf) pairs where 10 random states agree, so ours must be the same tree.
    const std::pair<const char*, std::vector<std::pair<int, int>>> cases[] = {
        {"continuous", {{4, 1}, {3, 5}}}, {"quantized", {{2, 1}, {3, 5}}}};
    for (const auto& c : cases) {  // no structured bindings: clang 14 cannot CAPTURE them
        const char* name = c.first;
        Split s = fixture_split(name);
        for (const auto& config : c.second) {
            int depth = config.first, leaf = config.second;
            CAPTURE(std::string(name));
            CAPTURE(depth);
            CAPTURE(leaf);
            RandomForestClassifier forest({.n_estimators = 3,
                                           .max_features = MaxFeatures::all(),
                                           .max_depth = depth,
                                           .min_samples_leaf = leaf,
                                           .bootstrap = false});
            forest.fit(s.x_train, s.y_train);
            Tensor ref = get(fmt::format("{}.proba_depth{}_leaf{}", name, depth, leaf));
            Tolerance tol = tolerance(TolClass::reduction, DType::f64);
            CHECK(compare(forest.predict_proba(s.x_test), ref, tol).ok);
            Tensor importances =
                get(fmt::format("{}.importances_depth{}_leaf{}", name, depth, leaf));
            CHECK(compare(forest.feature_importances(), importances, tol).ok);
        }
    }
}

TEST_CASE("RandomForest: test accuracy within sklearn's spread over seeds") {
    // sklearn's RandomForestClassifier(n_estimators=100) for random_state 0..4 on the same
    // split; each of our seeds must land in [min - 0.02, max + 0.02].
    for (const char* name : {"continuous", "quantized"}) {
        Split s = fixture_split(name);
        Tensor ref = get(std::string(name) + ".sklearn_accuracy");
        const double* acc = ref.data<double>();
        double lo = *std::min_element(acc, acc + ref.numel());
        double hi = *std::max_element(acc, acc + ref.numel());
        for (uint64_t seed = 0; seed < 5; ++seed) {
            RandomForestClassifier forest({.seed = seed});
            double ours =
                eval::accuracy(s.y_test, forest.fit(s.x_train, s.y_train).predict(s.x_test));
            CAPTURE(std::string(name));
            CAPTURE(seed);
            CHECK(ours >= lo - 0.02);
            CHECK(ours <= hi + 0.02);
        }
    }
}

TEST_CASE("RandomForest: the histogram, sorted-code and float paths grow the same trees") {
    // Note [Exact histogram splits]: the quantized features have <= 256 values, so they are
    // binned; a histogram everywhere, sorting everywhere, and no binning at all (sklearn's
    // float sort-and-scan) must give identical forests, bootstrap and feature sampling on,
    // with subtree blocks (Note [Subtree blocks]) from the root, from 64 samples, or never.
    Split s = fixture_split("quantized");
    auto proba = [&](int64_t histogram_min_samples, bool bin, int64_t block_max_samples) {
        RandomForestClassifier forest({.n_estimators = 20,
                                       .seed = 11,
                                       .histogram_min_samples = histogram_min_samples,
                                       .block_max_samples = block_max_samples,
                                       .bin_features = bin});
        return forest.fit(s.x_train, s.y_train).predict_proba(s.x_test);
    };
    Tensor floats = proba(0, false, 0);
    Tolerance exact = tolerance(TolClass::exact, DType::f64);
    for (int64_t block : {int64_t(0), int64_t(64), int64_t(1000)}) {
        CAPTURE(block);
        CHECK(compare(proba(0, false, block), floats, exact).ok);
        CHECK(compare(proba(0, true, block), floats, exact).ok);
        CHECK(compare(proba(INT64_MAX, true, block), floats, exact).ok);
        CHECK(compare(proba(64, true, block), floats, exact).ok);
    }
}

TEST_CASE("RandomForest: deterministic per seed on any thread count") {
    Split s = fixture_split("continuous");
    auto proba = [&](uint64_t seed, int threads) {
        RandomForestClassifier forest({.n_estimators = 20, .seed = seed, .n_threads = threads});
        return forest.fit(s.x_train, s.y_train).predict_proba(s.x_test);
    };
    Tolerance exact = tolerance(TolClass::exact, DType::f64);
    Tensor one = proba(3, 1);
    CHECK(compare(proba(3, 2), one, exact).ok);
    CHECK(compare(proba(3, 3), one, exact).ok);
    CHECK_FALSE(compare(proba(4, 2), one, exact).ok);
}

TEST_CASE("RandomForest: feature importances and a single class") {
    // Feature 0 is constant, feature 1 splits the classes perfectly at the root and feature 2
    // cannot (no bootstrap, so no subset where it could tie): all the decrease is feature 1's.
    Tensor x =
        from_vector<float>({3, 0, 5, 3, 1, 4, 3, 2, 5, 3, 10, 4, 3, 11, 5, 3, 12, 4}, {6, 3});
    Tensor y = from_vector<int64_t>({0, 0, 0, 1, 1, 1});
    RandomForestClassifier forest(
        {.n_estimators = 3, .max_features = MaxFeatures::all(), .bootstrap = false});
    forest.fit(x, y);
    Tensor importances = forest.feature_importances();
    std::vector<double> imp(importances.data<double>(), importances.data<double>() + 3);
    CHECK(imp == std::vector<double>{0, 1, 0});

    Tensor one_class = from_vector<int64_t>({2, 2, 2, 2, 2, 2});
    forest.fit(x, one_class);
    CHECK(eval::labels_to_vector(forest.predict(x), "pred") == std::vector<int64_t>(6, 2));
    Tensor p = forest.predict_proba(x);
    CHECK(p.shape() == Shape{6, 3});
    CHECK(at(p, 0, 2) == 1.0);
    CHECK(sum(forest.feature_importances()).item() == 0.0);
}

TEST_CASE("RandomForest: max_features forms resolve as sklearn's") {
    CHECK(MaxFeatures::sqrt().resolve(784) == 28);
    CHECK(MaxFeatures::log2().resolve(784) == 9);
    CHECK(MaxFeatures::fraction(0.1).resolve(784) == 78);
    CHECK(MaxFeatures::fraction(0.001).resolve(784) == 1);
    CHECK(MaxFeatures::count(5).resolve(784) == 5);
    CHECK(MaxFeatures::all().resolve(784) == 784);
    CHECK(MaxFeatures::sqrt().resolve(3) == 1);
    CHECK_THROWS_WITH_AS(MaxFeatures::count(10).resolve(8), doctest::Contains("[1, 8]"), Error);
    CHECK_THROWS_WITH_AS(MaxFeatures::fraction(1.5).resolve(8), doctest::Contains("(0, 1]"), Error);
}

TEST_CASE("RandomForest: errors name the problem") {
    Tensor x = from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7}, {4, 2});
    Tensor y = from_vector<int64_t>({0, 1, 0, 1});
    RandomForestClassifier forest({.n_estimators = 2});
    CHECK_THROWS_WITH_AS(forest.predict(x), doctest::Contains("not fitted"), Error);
    CHECK_THROWS_WITH_AS(forest.fit(x, from_vector<int64_t>({0, 1, 0})),
                         doctest::Contains("4 samples but y has 3"), Error);
    Tensor nan_x = x.clone();
    nan_x.data<float>()[2 * 2 + 1] = std::nanf("");
    CHECK_THROWS_WITH_AS(forest.fit(nan_x, y), doctest::Contains("row 2"), Error);
    CHECK_THROWS_WITH_AS(forest.fit(zeros({0, 2}), from_vector<int64_t>({}, {0})),
                         doctest::Contains("empty"), Error);
    CHECK_THROWS_WITH_AS(forest.fit(x, from_vector<int64_t>({0, 1, -1, 1})),
                         doctest::Contains("class indices"), Error);
    CHECK_THROWS_WITH_AS(forest.fit(x, y, 1), doctest::Contains("out of range"), Error);
    CHECK_THROWS_WITH_AS(forest.fit(x, from_vector<double>({0, 1, 0, 1})),
                         doctest::Contains("int64"), Error);
    forest.fit(x, y);
    CHECK_THROWS_WITH_AS(forest.predict(zeros({4, 3})), doctest::Contains("fit on 2"), Error);
    CHECK_THROWS_WITH_AS(RandomForestClassifier({.n_estimators = 0}),
                         doctest::Contains("n_estimators"), Error);
    CHECK_THROWS_WITH_AS(RandomForestClassifier({.min_samples_leaf = 0}),
                         doctest::Contains("min_samples_leaf"), Error);
}
