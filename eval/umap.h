// UMAP (McInnes, Healy & Melville 2018, arXiv:1802.03426), with umap-learn 0.5's defaults and
// conventions, written from the paper and umap-learn's umap_.py / layouts.py / spectral.py:
//
//   eval::UMAP umap({.n_neighbors = 15, .min_dist = 0.1, .seed = 0});
//   Tensor emb = umap.fit_transform(x);   // x: (N, F) floating -> (N, 2) float32
//
// 1. kNN graph (knn_graph.h): exact below `exact_knn_max` points (umap-learn: 4096), else
//    NN-descent. Each point's n_neighbors include itself.
// 2. Fuzzy simplicial set: per point rho (distance to the nearest non-identical neighbour) and
//    sigma (binary search so that sum_j exp(-(d_ij - rho_i) / sigma_i) = log2(k)), memberships
//    w_ij = exp(-(d_ij - rho_i) / sigma_i), symmetrized by the fuzzy union
//    a + b - a b (set_op_mix_ratio 1; 0 gives the intersection a b).
// 3. Initial layout: spectral (the eigenvectors of the normalized Laplacian
//    I - D^-1/2 W D^-1/2 with the smallest non-zero eigenvalues, by Lanczos), scaled to
//    max |coordinate| 10 plus N(0, 1e-4) noise, as umap-learn. A graph with several connected
//    components is laid out as umap-learn's multi_component_layout: each component's own
//    spectral layout around a meta position (the +-unit vectors when there are at most
//    2 n_components components; otherwise the PCA of the component centroids, where
//    umap-learn uses a spectral embedding of them). If Lanczos does not converge the layout
//    falls back to uniform [-10, 10] noise, as umap-learn does when ARPACK fails.
// 4. SGD layout (optimize_layout_euclidean): n_epochs (default 500 for N <= 10000, else 200),
//    edges with weight < max / n_epochs dropped, each edge sampled every
//    epochs_per_sample = max_weight / weight epochs, negative_sample_rate negatives per
//    positive, learning rate decayed linearly from learning_rate, gradients clipped to +-4,
//    the low-dimensional similarity 1 / (1 + a d^2b) with (a, b) fitted to min_dist and spread
//    (find_ab_params).
// Deterministic per seed, whatever the thread count: the kNN and fuzzy set run in parallel
// deterministically, the SGD layout runs on one thread (as umap-learn's with a random_state).
#pragma once
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "eval/knn_graph.h"
#include "tensor/tensor.h"

namespace marrow::eval {

struct UMAPOptions {
    int64_t n_neighbors = 15;
    int64_t n_components = 2;
    double min_dist = 0.1;
    double spread = 1.0;
    KnnMetric metric = KnnMetric::euclidean;
    int n_epochs = -1;  // -1: 500 if N <= 10000 else 200
    double learning_rate = 1.0;
    int negative_sample_rate = 5;
    double repulsion_strength = 1.0;  // umap-learn's gamma
    double set_op_mix_ratio = 1.0;
    double local_connectivity = 1.0;
    bool spectral_init = true;       // false: uniform [-10, 10] initialization
    int64_t exact_knn_max = 4096;    // exact kNN below this many points, NN-descent above
    uint64_t seed = 0;
    bool verbose = false;  // print each stage's time to stderr
};

// A symmetric sparse graph in coordinate form, sorted by (row, col), no zero entries.
struct FuzzyGraph {
    int64_t n = 0;
    std::vector<int32_t> rows, cols;
    std::vector<float> vals;
};

// (a, b) of the low-dimensional similarity 1 / (1 + a x^(2b)): the least-squares fit on 300
// points of [0, 3 spread] to 1 (x < min_dist) or exp(-(x - min_dist) / spread), as
// umap-learn's find_ab_params (scipy curve_fit, Levenberg-Marquardt from (1, 1)).
std::pair<double, double> find_ab_params(double spread, double min_dist);

// umap-learn's smooth_knn_dist on a kNN graph (row i's first neighbour being i itself):
// sigmas (N) and rhos (N), float32 as umap-learn stores them.
void smooth_knn_dist(const KnnGraph& knn, double local_connectivity, std::vector<float>& sigmas,
                     std::vector<float>& rhos);

// umap-learn's fuzzy_simplicial_set from a kNN graph: memberships, then the fuzzy union
// (set_op_mix_ratio 1) or intersection (0) or a mix of them.
FuzzyGraph fuzzy_simplicial_set(const KnnGraph& knn, double set_op_mix_ratio = 1.0,
                                double local_connectivity = 1.0);

// The spectral initialization of step 3 (before the scaling to 10 and the noise): (N, dim)
// row-major. `x` (N, F) float32 rows give component centroids when the graph is disconnected.
std::vector<float> spectral_layout(const FuzzyGraph& graph, const Tensor& x, int64_t dim,
                                   uint64_t seed);

// The SGD layout of step 4 on `embedding` (N, dim) row-major, in place.
void optimize_layout(std::vector<float>& embedding, int64_t dim, const FuzzyGraph& graph,
                     int n_epochs, double a, double b, const UMAPOptions& options);

class UMAP {
public:
    explicit UMAP(UMAPOptions options = {});

    // x: (N, F) floating, finite, N > n_neighbors. Returns the (N, n_components) float32
    // embedding (also kept in embedding()).
    Tensor fit_transform(const Tensor& x);

    const Tensor& embedding() const;
    const FuzzyGraph& graph() const { return graph_; }  // the fuzzy set of the last fit
    const UMAPOptions& options() const { return options_; }
    double a() const { return a_; }
    double b() const { return b_; }

private:
    UMAPOptions options_;
    double a_ = 0, b_ = 0;
    FuzzyGraph graph_;
    std::optional<Tensor> embedding_;
};

}  // namespace marrow::eval
