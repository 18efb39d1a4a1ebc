// SCEMILA's protocol rules (mil/protocol.h). The expected values were printed by CPython 3.11
// (Debian's python3) running the reference code itself:
//   random.seed(42); [random.getrandbits(k) for k in (1, 5, 17, 32)]
//   random.seed(42); x = list(range(n)); random.shuffle(x)
//   SCEMILA ml_pipeline/data_split.py split_in_folds on the patients below (num_folds 5)
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <cmath>
#include <map>

#include "mil/protocol.h"
#include "tensor/error.h"

using namespace marrow;

TEST_CASE("PythonRandom: CPython's MT19937 draws and shuffles for seed 42") {
    mil::PythonRandom rng(42);
    CHECK(rng.getrandbits(1) == 1u);
    CHECK(rng.getrandbits(5) == 3u);
    CHECK(rng.getrandbits(17) == 3278u);
    CHECK(rng.getrandbits(32) == 3184935163u);
    std::map<int, std::vector<int>> expected = {
        {1, {0}},
        {2, {1, 0}},
        {5, {3, 1, 2, 4, 0}},
        {12, {7, 5, 2, 8, 9, 6, 11, 3, 4, 0, 1, 10}},
        {21, {19, 5, 14, 4, 9, 13, 15, 18, 6, 12, 17, 10, 1, 11, 2, 16, 7, 8, 0, 3, 20}},
        {60, {38, 23, 54, 11, 16, 20, 55, 58, 33, 19, 9,  36, 31, 45, 30, 49, 3,  21, 50, 4,
              29, 10, 59, 22, 41, 24, 0,  44, 25, 52, 18, 28, 39, 26, 48, 12, 35, 42, 32, 53,
              13, 46, 57, 2,  27, 37, 5,  34, 51, 43, 6,  56, 8,  14, 15, 17, 47, 1,  7,  40}},
    };
    for (const auto& entry : expected) {
        const int n = entry.first;  // (not a structured binding: CAPTURE's lambda)
        const std::vector<int>& perm = entry.second;
        CAPTURE(n);
        std::vector<int> x(n);
        for (int i = 0; i < n; ++i) x[i] = i;
        mil::PythonRandom fresh(42);
        fresh.shuffle(x);
        CHECK(x == perm);
    }
}

TEST_CASE("scemila_folds: the reference split_in_folds, patient for patient") {
    // 12 AML patients listed in reverse order, 7 controls unsorted: folds are made from the
    // sorted ids, so the input order must not matter
    std::vector<std::string> ids;
    std::vector<int64_t> labels;
    for (int i = 11; i >= 0; --i) {
        ids.push_back(fmt::format("AML_{:03d}", i));
        labels.push_back(0);
    }
    for (const char* c : {"ctl_b", "ctl_a", "ctl_e", "ctl_c", "ctl_d", "ctl_g", "ctl_f"}) {
        ids.push_back(c);
        labels.push_back(1);
    }
    std::vector<int> folds = mil::scemila_folds(ids, labels);
    CHECK(folds == std::vector<int>{2, 4, 1, 1, 0, 2, 0, 3, 3, 1, 4, 3, 0, 3, 1, 2, 1, 3, 4});
    // run k = 1: train folds {1, 2, 3}, val {4}, test {0}
    data::Split split = mil::scemila_split(folds, 1);
    for (int64_t i : split.train) CHECK((folds[i] >= 1 && folds[i] <= 3));
    for (int64_t i : split.val) CHECK(folds[i] == 4);
    for (int64_t i : split.test) CHECK(folds[i] == 0);
    CHECK(split.train.size() + split.val.size() + split.test.size() == ids.size());
    CHECK_THROWS_WITH_AS(mil::scemila_folds({"a", "a"}, {0, 0}),
                         doctest::Contains("patient id \"a\" twice"), Error);
}

TEST_CASE("scemila_sampler_weights: (1/C) / freq over all splits; weighted draws follow them") {
    // 3 classes counted over train + val + test: 10, 5, 5 patients
    std::vector<double> w = mil::scemila_sampler_weights({0, 1, 2, 0}, {10, 5, 5});
    REQUIRE(w.size() == 4);
    CHECK(w[0] == doctest::Approx(1.0 / 3 / 0.5));
    CHECK(w[1] == doctest::Approx(1.0 / 3 / 0.25));
    CHECK(w[2] == doctest::Approx(1.0 / 3 / 0.25));
    CHECK_THROWS_WITH_AS(mil::scemila_sampler_weights({3}, {1, 1}),
                         doctest::Contains("label 3 has no count"), Error);
    // draws: frequencies within 4 sd of the weights' shares; a zero weight is never drawn
    Generator gen(3);
    const int64_t n = 40000;
    std::vector<int64_t> draws = mil::weighted_sample({1, 0, 3}, n, gen);
    std::vector<int64_t> seen(3, 0);
    for (int64_t d : draws) ++seen.at(d);
    CHECK(seen[1] == 0);
    double sd = std::sqrt(n * 0.25 * 0.75);
    CHECK(std::abs(seen[0] - n * 0.25) < 4 * sd);
}
