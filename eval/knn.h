// k-nearest-neighbour search and classification on feature tensors, by exact search: the
// distances of a tile of queries to a tile of training rows come from one GEMM, and each
// query keeps its k best in a small sorted list, so memory stays fixed (a tile per thread)
// however many rows there are (60k x 10k distances never exist at once).
//
//   eval::KNeighborsClassifier knn({.k = 20});                 // sklearn's defaults otherwise
//   knn.fit(train_x, train_y);
//   Tensor pred = knn.predict(test_x);
//
//   // Several k from one search (the evaluate app's 1-NN and 20-NN):
//   eval::Neighbors nb = eval::kneighbors(train_x, test_x, 20, eval::KnnMetric::euclidean);
//   Tensor p1 = eval::knn_vote(nb, train_labels, 1, {}, num_classes);
//
// Votes: `uniform` is sklearn's KNeighborsClassifier(weights="uniform") (the DinoBloom
// protocol, ssl_mil_spec.md section 6): proba = neighbour counts / k, ties to the smallest
// class. `distance` is weights="distance" (1 / d; neighbours at distance 0 take all the
// weight). `temperature` is DINO's eval_knn.py vote: cosine similarity s, weight exp(s / T),
// T = 0.07, normalized to sum 1. Neighbours at equal distance are ordered by training index.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::eval {

enum class KnnMetric {
    euclidean,  // ||a - b||
    cosine,     // 1 - a.b / (||a|| ||b||) (sklearn's cosine distance; a zero row has distance 1)
};
enum class KnnVote { uniform, distance, temperature };

struct Neighbors {
    Tensor indices;    // (M, k) int64 training rows, nearest first
    Tensor distances;  // (M, k) f64 distances in the metric
    KnnMetric metric = KnnMetric::euclidean;
};

// The k nearest training rows of each query. train (N, F), query (M, F) floating (the GEMM
// runs in f64 if either is f64, else f32; the ranking is accumulated in f64); k in [1, N].
// CPU only (tensors on another device are copied over).
Neighbors kneighbors(const Tensor& train, const Tensor& query, int64_t k, KnnMetric metric);

struct KnnVoteOptions {
    KnnVote vote = KnnVote::uniform;
    double temperature = 0.07;  // the temperature vote's T
};

// Class probabilities (M, num_classes) f64 from the first k neighbours of a search
// (k <= its width); train_labels (N) int64 in [0, num_classes). The temperature vote needs a
// cosine search (its weight is the cosine similarity 1 - d).
Tensor knn_vote(const Neighbors& neighbors, const Tensor& train_labels, int64_t k,
                const KnnVoteOptions& vote, int64_t num_classes);

// Argmax of each row, ties to the smallest class: (M, C) -> (M) int64.
Tensor argmax_lowest(const Tensor& proba);

struct KNeighborsOptions {
    int64_t k = 5;  // sklearn's n_neighbors default
    KnnMetric metric = KnnMetric::euclidean;
    KnnVoteOptions vote = {};
};

class KNeighborsClassifier {
public:
    explicit KNeighborsClassifier(KNeighborsOptions options = {});

    // x (N, F) floating, y (N) int64 in [0, num_classes); num_classes < 0 takes 1 + max(y).
    // Keeps references to x and y (no copy), as sklearn's brute force keeps its arrays.
    KNeighborsClassifier& fit(const Tensor& x, const Tensor& y, int64_t num_classes = -1);
    Tensor predict_proba(const Tensor& x) const;  // (M, F) -> (M, num_classes) f64
    Tensor predict(const Tensor& x) const;        // (M, F) -> (M) int64

    const KNeighborsOptions& options() const { return options_; }

private:
    KNeighborsOptions options_;
    Tensor train_x_, train_y_;
    int64_t num_classes_ = 0;
    bool fitted_ = false;
};

}  // namespace marrow::eval
