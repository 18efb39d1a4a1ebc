// Principal component analysis, as sklearn.decomposition.PCA (sklearn 1.2): the data are
// centred (not scaled) and projected on the top singular directions of the centred matrix.
//
//   eval::PCA pca({.n_components = 50});
//   Tensor z = pca.fit_transform(x);        // x: (N, F) floating -> z: (N, 50), x's dtype
//   Tensor back = pca.inverse_transform(z);  // (N, F)
//
// Solvers (PCAOptions::solver), with sklearn's 'auto' rule: full when max(N, F) <= 500,
// randomized when 1 <= n_components < 0.8 min(N, F), full otherwise.
// - full: exact. The eigendecomposition of the smaller Gram matrix, Xc^T Xc (F x F) or
//   Xc Xc^T (N x N), computed with the GEMM in float64; its eigenvalues are sklearn's S^2.
// - randomized: Halko, Martinsson & Tropp (2011) as sklearn's randomized_svd: a Gaussian test
//   matrix of n_components + n_oversamples columns (Philox, seeded), `iterated_power` power
//   iterations (auto: 7 if n_components < 0.1 min(N, F) else 4), each step re-orthonormalized
//   (sklearn normalizes with LU; QR spans the same subspace), then the exact SVD of the small
//   projected matrix. Transposes when N < F, as sklearn does.
// Signs follow sklearn's svd_flip (u_based_decision): in each component, the sample with the
// largest |score| gets a positive score. All fitted attributes are float64; transform and
// inverse_transform return their input's dtype.
#pragma once
#include <cstdint>
#include <optional>

#include "tensor/tensor.h"

namespace marrow::eval {

enum class PCASolver { automatic, full, randomized };

struct PCAOptions {
    int64_t n_components = -1;  // -1: min(N, F), as sklearn's None
    bool whiten = false;        // scale scores to unit variance (divide by sqrt(eigenvalue))
    PCASolver solver = PCASolver::automatic;
    int iterated_power = -1;  // randomized: power iterations; -1 = sklearn's 'auto'
    int n_oversamples = 10;   // randomized: extra test vectors
    uint64_t seed = 0;        // randomized: Philox seed of the test matrix
};

class PCA {
public:
    explicit PCA(PCAOptions options = {});

    // x: (N, F) floating, finite, N >= 1. n_components must lie in [1, min(N, F)].
    PCA& fit(const Tensor& x);
    Tensor fit_transform(const Tensor& x) { return fit(x).transform(x); }
    // (M, F) -> (M, K): (x - mean) @ components^T, divided by sqrt(explained_variance) if whiten.
    Tensor transform(const Tensor& x) const;
    // (M, K) -> (M, F): z @ components (times sqrt(explained_variance) if whiten) + mean.
    Tensor inverse_transform(const Tensor& z) const;

    bool fitted() const { return components_.has_value(); }
    const Tensor& components() const;                // (K, F) unit rows, f64
    const Tensor& mean() const;                      // (F) f64
    const Tensor& explained_variance() const;        // (K): S^2 / (N - 1), f64
    const Tensor& explained_variance_ratio() const;  // (K): over the total variance
    const Tensor& singular_values() const;           // (K): S
    double noise_variance() const;  // mean variance of the discarded directions (sklearn's)
    PCASolver fitted_solver() const { return fitted_solver_; }  // what 'automatic' chose
    const PCAOptions& options() const { return options_; }

private:
    PCAOptions options_;
    PCASolver fitted_solver_ = PCASolver::full;
    std::optional<Tensor> components_, mean_, explained_variance_, explained_variance_ratio_,
        singular_values_;
    double noise_variance_ = 0;
};

}  // namespace marrow::eval
