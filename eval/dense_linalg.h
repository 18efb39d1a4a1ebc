// Small dense linear algebra on row-major float64 buffers, for PCA and UMAP's spectral
// initialization (marrow has no LAPACK): the symmetric eigendecomposition (Householder
// tridiagonalization + implicit QL, as EISPACK tred2/tql2), the symmetric tridiagonal
// eigenproblem alone (for Lanczos), and orthonormalization of columns (Householder QR).
#pragma once
#include <cstdint>
#include <vector>

namespace marrow::eval::linalg {

// Eigendecomposition of the symmetric n x n matrix `a` (row-major; only its values are read).
// Returns the eigenvalues in ascending order in `values` (n) and the matching unit
// eigenvectors as the COLUMNS of `vectors` (n x n, row-major): a = V diag(w) V^T.
void symmetric_eigen(const std::vector<double>& a, int64_t n, std::vector<double>& values,
                     std::vector<double>& vectors);

// Eigendecomposition of the symmetric tridiagonal matrix with diagonal `diag` (n) and
// off-diagonal `off` (n - 1; off[i] couples i and i + 1). Same outputs as symmetric_eigen.
void tridiagonal_eigen(const std::vector<double>& diag, const std::vector<double>& off,
                       std::vector<double>& values, std::vector<double>& vectors);

// Replaces the m x k matrix `a` (row-major, m >= k) by an orthonormal basis of its column
// space (the Q of a thin Householder QR), in place.
void orthonormalize_columns(std::vector<double>& a, int64_t m, int64_t k);

}  // namespace marrow::eval::linalg
