// k-nearest-neighbour graphs for UMAP: exact search with the GEMM, and NN-descent (Dong,
// Moses & Li, WWW 2011) started from random-projection-tree leaves, as pynndescent (the
// search umap-learn uses above 4096 points).
//
// Both return each point's k neighbours INCLUDING ITSELF first (distance 0), sorted by
// increasing distance, as umap-learn's nearest_neighbors does: n_neighbors = 15 means the
// point and 14 others.
#pragma once
#include <cstdint>
#include <vector>

#include "eval/knn.h"  // KnnMetric
#include "tensor/tensor.h"

namespace marrow::eval {

struct KnnGraph {
    int64_t n = 0, k = 0;
    std::vector<int32_t> indices;  // (n, k) row-major; row i starts with i itself
    std::vector<float> distances;  // (n, k), non-decreasing along each row
};

// Exact k nearest neighbours of the rows of x (N, F) floating: distances from one GEMM per
// block of rows (|a|^2 + |b|^2 - 2 a.b in float32), the k + 8 best candidates re-ranked with
// distances recomputed directly in float64. k in [1, N]. OpenMP over rows.
KnnGraph exact_knn(const Tensor& x, int64_t k, KnnMetric metric);

struct NNDescentOptions {
    int n_trees = -1;           // -1: min(64, 5 + round(sqrt(N) / 20)), umap-learn's choice
    int n_iters = -1;           // -1: max(5, round(log2 N)), umap-learn's choice
    int max_candidates = 60;    // per point and iteration (pynndescent's default in umap)
    double delta = 0.001;       // stop when fewer than delta * k * N heap updates happened
    int leaf_size = -1;         // -1: max(10, k), pynndescent's default
    uint64_t seed = 0;          // Philox seed of the trees and candidate sampling
};

// Approximate k nearest neighbours by NN-descent. Deterministic for a given seed, whatever the
// thread count: the local joins run in parallel over blocks of points and their heap updates
// are applied in point order.
KnnGraph nn_descent(const Tensor& x, int64_t k, KnnMetric metric,
                    const NNDescentOptions& options = {});

}  // namespace marrow::eval
