// eval's kNN: DINO's temperature vote on a hand-worked example, the tiled search against brute
// force, and the errors. (Agreement with sklearn: test_probe_golden.cpp.)
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "eval/knn.h"
#include "tensor/factory.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;

TEST_CASE("kNN: DINO's temperature vote weighs exp(cos / 0.07)") {
    // Training rows at angles 0, 60 and 90 degrees (labels 0, 1, 1); the query at 0 degrees
    // (scaled by 3: cosine ignores length). Cosine similarities 1, 1/2, 0.
    Tensor train = from_vector<double>({2, 0, 0.5, std::sqrt(0.75), 0, 5}, {3, 2});
    Tensor labels = from_vector<int64_t>({0, 1, 1});
    Tensor query = from_vector<double>({3, 0}, {1, 2});
    eval::Neighbors nb = eval::kneighbors(train, query, 3, eval::KnnMetric::cosine);
    CHECK(compare(nb.indices, from_vector<int64_t>({0, 1, 2}, {1, 3}),
                  tolerance(TolClass::exact, DType::i64))
              .ok);
    CHECK(compare(nb.distances, from_vector<double>({0, 0.5, 1}, {1, 3}),
                  tolerance(TolClass::elementwise, DType::f64))
              .ok);
    Tensor p = eval::knn_vote(nb, labels, 3, {.vote = eval::KnnVote::temperature}, 2);
    double w0 = std::exp(1 / 0.07), w1 = std::exp(0.5 / 0.07), w2 = std::exp(0.0);
    Tensor expected = from_vector<double>({w0 / (w0 + w1 + w2), (w1 + w2) / (w0 + w1 + w2)},
                                          {1, 2});
    CHECK(compare(p, expected, tolerance(TolClass::transcendental, DType::f64)).ok);
    // Uniform votes over the same three: 1/3 and 2/3; k = 2: a tie, which goes to class 0.
    Tensor uniform = eval::knn_vote(nb, labels, 2, {}, 2);
    CHECK(compare(uniform, from_vector<double>({0.5, 0.5}, {1, 2}),
                  tolerance(TolClass::exact, DType::f64))
              .ok);
    CHECK(eval::argmax_lowest(uniform).data<int64_t>()[0] == 0);
}

TEST_CASE("kNN: tiles of queries and training rows give the brute-force answer") {
    // 2500 training rows and 200 queries: partial tiles (96 queries, 1024 rows) on both axes.
    // Reference: every distance in f64, sorted by (distance, index).
    Generator gen(4);
    Tensor train = randn({2500, 9}, DType::f64, Device::cpu(), gen);
    Tensor query = randn({200, 9}, DType::f64, Device::cpu(), gen);
    const int64_t k = 7;
    for (eval::KnnMetric metric : {eval::KnnMetric::euclidean, eval::KnnMetric::cosine}) {
        eval::Neighbors nb = eval::kneighbors(train, query, k, metric);
        std::vector<int64_t> expected_index;
        std::vector<double> expected_dist;
        const double* x = train.data<double>();
        const double* q = query.data<double>();
        for (int64_t i = 0; i < 200; ++i) {
            std::vector<std::pair<double, int64_t>> d;
            for (int64_t j = 0; j < 2500; ++j) {
                double dot = 0, xx = 0, qq = 0, l2 = 0;
                for (int64_t c = 0; c < 9; ++c) {
                    dot += q[i * 9 + c] * x[j * 9 + c];
                    xx += x[j * 9 + c] * x[j * 9 + c];
                    qq += q[i * 9 + c] * q[i * 9 + c];
                    l2 += (q[i * 9 + c] - x[j * 9 + c]) * (q[i * 9 + c] - x[j * 9 + c]);
                }
                d.push_back({metric == eval::KnnMetric::cosine ? 1 - dot / std::sqrt(xx * qq)
                                                               : std::sqrt(l2),
                             j});
            }
            std::sort(d.begin(), d.end());
            for (int64_t j = 0; j < k; ++j) {
                expected_dist.push_back(d[size_t(j)].first);
                expected_index.push_back(d[size_t(j)].second);
            }
        }
        CHECK(compare(nb.indices, from_vector<int64_t>(expected_index, {200, k}),
                      tolerance(TolClass::exact, DType::i64))
                  .ok);
        Comparison c = compare(nb.distances, from_vector<double>(expected_dist, {200, k}),
                               tolerance(TolClass::reduction, DType::f64));
        INFO(c.detail);
        CHECK(c.ok);
    }
}

TEST_CASE("kNN: errors name the problem") {
    Tensor train = zeros({4, 3}, DType::f64);
    Tensor labels = from_vector<int64_t>({0, 1, 0, 1});
    CHECK_THROWS_WITH_AS(eval::kneighbors(train, zeros({2, 5}, DType::f64), 1,
                                          eval::KnnMetric::euclidean),
                         doctest::Contains("train has 3 features (shape [4, 3]) but query has 5"),
                         Error);
    CHECK_THROWS_WITH_AS(eval::kneighbors(train, train, 5, eval::KnnMetric::euclidean),
                         doctest::Contains("k = 5 must lie in [1, 4]"), Error);
    Tensor bad = zeros({2, 3}, DType::f64);
    bad.data<double>()[4] = INFINITY;
    CHECK_THROWS_WITH_AS(eval::kneighbors(train, bad, 1, eval::KnnMetric::euclidean),
                         doctest::Contains("query has a non-finite value (inf) in row 1"), Error);
    eval::Neighbors nb = eval::kneighbors(train, train, 2, eval::KnnMetric::euclidean);
    CHECK_THROWS_WITH_AS(eval::knn_vote(nb, labels, 2, {.vote = eval::KnnVote::temperature}, 2),
                         doctest::Contains("search with KnnMetric::cosine"), Error);
    CHECK_THROWS_WITH_AS(eval::knn_vote(nb, labels, 3, {}, 2),
                         doctest::Contains("k = 3 must lie in [1, 2]"), Error);
    CHECK_THROWS_WITH_AS(eval::knn_vote(nb, from_vector<int64_t>({0}, {1}), 2, {}, 2),
                         doctest::Contains("but only 1 training labels"), Error);
    eval::KNeighborsClassifier knn({.k = 3});
    CHECK_THROWS_WITH_AS(knn.predict(train), doctest::Contains("not fitted"), Error);
    CHECK_THROWS_WITH_AS(knn.fit(train, from_vector<int64_t>({0, 1})),
                         doctest::Contains("4 feature rows but 2 labels"), Error);
}
