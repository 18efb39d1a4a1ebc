// Scores of an embedding: how well it keeps the data's neighbourhoods (trustworthiness) and
// how well labelled groups separate in it (silhouette), with scikit-learn's definitions.
#pragma once
#include <cstdint>

#include "tensor/tensor.h"

namespace marrow::eval {

// sklearn.manifold.trustworthiness(X, X_embedded, n_neighbors, metric='euclidean'):
//   T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in N_k^emb(i)} max(0, r(i, j) - k)
// where N_k^emb(i) are i's k nearest neighbours in the embedding (i excluded) and r(i, j)
// the rank of j among i's neighbours in X (1 = nearest; ties broken by index). In [0, 1],
// 1 = every embedded neighbour is a true neighbour.
// x: (N, F) and x_embedded: (N, D) floating, finite; n_neighbors < N / 2. O(N^2) time; the
// X distances come from the GEMM in float64 in blocks of rows (O(N) memory per block).
double trustworthiness(const Tensor& x, const Tensor& x_embedded, int64_t n_neighbors = 5);

// sklearn.metrics.silhouette_score(X, labels, metric='euclidean'): the mean over samples of
// (b - a) / max(a, b), a = mean distance to the other members of its cluster, b = the lowest
// mean distance to another cluster's members; 0 for a sample alone in its cluster.
// x: (N, F) floating; labels: (N) int64, any values, 2 <= distinct labels <= N - 1.
double silhouette_score(const Tensor& x, const Tensor& labels);

}  // namespace marrow::eval
