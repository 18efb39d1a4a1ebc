// Dense symmetric eigensolver and column orthonormalization; see dense_linalg.h.
// The eigensolver is the classic pair (Wilkinson & Reinsch, Handbook for Automatic
// Computation II; EISPACK tred2/tql2; the public-domain JAMA port): Householder reduction of
// the symmetric matrix to tridiagonal form, accumulating the transformations, then the
// implicit QL iteration with Wilkinson-like shifts. Eigenvectors are kept as ROWS of `w`
// internally (w = V^T) so that the QL plane rotations touch contiguous memory.
#include "eval/dense_linalg.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor/error.h"

namespace marrow::eval::linalg {

namespace {

// Householder tridiagonalization. On entry v (n x n row-major) holds the symmetric matrix; on
// exit v holds the orthogonal Q with A = Q T Q^T, d the diagonal of T and e its subdiagonal
// in e[1..n-1] (e[0] = 0).
void tred2(std::vector<double>& v, int64_t n, std::vector<double>& d, std::vector<double>& e) {
    auto V = [&](int64_t i, int64_t j) -> double& { return v[size_t(i * n + j)]; };
    for (int64_t j = 0; j < n; ++j) d[size_t(j)] = V(n - 1, j);
    for (int64_t i = n - 1; i > 0; --i) {
        double scale = 0, h = 0;
        for (int64_t k = 0; k < i; ++k) scale += std::fabs(d[size_t(k)]);
        if (scale == 0) {
            e[size_t(i)] = d[size_t(i - 1)];
            for (int64_t j = 0; j < i; ++j) {
                d[size_t(j)] = V(i - 1, j);
                V(i, j) = 0;
                V(j, i) = 0;
            }
        } else {
            for (int64_t k = 0; k < i; ++k) {
                d[size_t(k)] /= scale;
                h += d[size_t(k)] * d[size_t(k)];
            }
            double f = d[size_t(i - 1)];
            double g = f > 0 ? -std::sqrt(h) : std::sqrt(h);
            e[size_t(i)] = scale * g;
            h -= f * g;
            d[size_t(i - 1)] = f - g;
            for (int64_t j = 0; j < i; ++j) e[size_t(j)] = 0;
            for (int64_t j = 0; j < i; ++j) {
                f = d[size_t(j)];
                V(j, i) = f;
                g = e[size_t(j)] + V(j, j) * f;
                for (int64_t k = j + 1; k < i; ++k) {
                    g += V(k, j) * d[size_t(k)];
                    e[size_t(k)] += V(k, j) * f;
                }
                e[size_t(j)] = g;
            }
            f = 0;
            for (int64_t j = 0; j < i; ++j) {
                e[size_t(j)] /= h;
                f += e[size_t(j)] * d[size_t(j)];
            }
            double hh = f / (h + h);
            for (int64_t j = 0; j < i; ++j) e[size_t(j)] -= hh * d[size_t(j)];
            for (int64_t j = 0; j < i; ++j) {
                f = d[size_t(j)];
                g = e[size_t(j)];
                for (int64_t k = j; k < i; ++k)
                    V(k, j) -= f * e[size_t(k)] + g * d[size_t(k)];
                d[size_t(j)] = V(i - 1, j);
                V(i, j) = 0;
            }
        }
        d[size_t(i)] = h;
    }
    // Accumulate the transformations.
    for (int64_t i = 0; i < n - 1; ++i) {
        V(n - 1, i) = V(i, i);
        V(i, i) = 1;
        double h = d[size_t(i + 1)];
        if (h != 0) {
            for (int64_t k = 0; k <= i; ++k) d[size_t(k)] = V(k, i + 1) / h;
            for (int64_t j = 0; j <= i; ++j) {
                double g = 0;
                for (int64_t k = 0; k <= i; ++k) g += V(k, i + 1) * V(k, j);
                for (int64_t k = 0; k <= i; ++k) V(k, j) -= g * d[size_t(k)];
            }
        }
        for (int64_t k = 0; k <= i; ++k) V(k, i + 1) = 0;
    }
    for (int64_t j = 0; j < n; ++j) {
        d[size_t(j)] = V(n - 1, j);
        V(n - 1, j) = 0;
    }
    V(n - 1, n - 1) = 1;
    e[0] = 0;
}

// Implicit QL on the tridiagonal (d, e[1..n-1]); w holds V^T (rows = vectors) and receives
// the same rotations, so on exit row i of w is the eigenvector of d[i] (unsorted).
void tql2(std::vector<double>& w, int64_t n, std::vector<double>& d, std::vector<double>& e) {
    for (int64_t i = 1; i < n; ++i) e[size_t(i - 1)] = e[size_t(i)];
    e[size_t(n - 1)] = 0;
    double f = 0, tst1 = 0;
    const double eps = std::ldexp(1.0, -52);
    for (int64_t l = 0; l < n; ++l) {
        tst1 = std::max(tst1, std::fabs(d[size_t(l)]) + std::fabs(e[size_t(l)]));
        int64_t m = l;
        while (m < n && std::fabs(e[size_t(m)]) > eps * tst1) ++m;
        if (m == n) m = n - 1;  // e[n-1] = 0 always stops the scan; kept for safety
        if (m > l) {
            int iter = 0;
            do {
                MARROW_CHECK(++iter < 300, "symmetric_eigen: QL iteration did not converge");
                double g = d[size_t(l)];
                double p = (d[size_t(l + 1)] - g) / (2 * e[size_t(l)]);
                double r = std::hypot(p, 1.0);
                if (p < 0) r = -r;
                d[size_t(l)] = e[size_t(l)] / (p + r);
                d[size_t(l + 1)] = e[size_t(l)] * (p + r);
                double dl1 = d[size_t(l + 1)];
                double h = g - d[size_t(l)];
                for (int64_t i = l + 2; i < n; ++i) d[size_t(i)] -= h;
                f += h;
                p = d[size_t(m)];
                double c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
                double el1 = e[size_t(l + 1)];
                for (int64_t i = m - 1; i >= l; --i) {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[size_t(i)];
                    h = c * p;
                    r = std::hypot(p, e[size_t(i)]);
                    e[size_t(i + 1)] = s * r;
                    s = e[size_t(i)] / r;
                    c = p / r;
                    p = c * d[size_t(i)] - s * g;
                    d[size_t(i + 1)] = h + s * (c * g + s * d[size_t(i)]);
                    double* wi = w.data() + i * n;
                    double* wi1 = wi + n;
                    for (int64_t k = 0; k < n; ++k) {
                        double t = wi1[k];
                        wi1[k] = s * wi[k] + c * t;
                        wi[k] = c * wi[k] - s * t;
                    }
                }
                p = -s * s2 * c3 * el1 * e[size_t(l)] / dl1;
                e[size_t(l)] = s * p;
                d[size_t(l)] = c * p;
            } while (std::fabs(e[size_t(l)]) > eps * tst1);
        }
        d[size_t(l)] += f;
        e[size_t(l)] = 0;
    }
}

// Sorts (d, rows of w) ascending by d and writes the vectors as columns of `vectors`.
void sort_and_store(const std::vector<double>& d, const std::vector<double>& w, int64_t n,
                    std::vector<double>& values, std::vector<double>& vectors) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return d[size_t(a)] < d[size_t(b)]; });
    values.assign(size_t(n), 0);
    vectors.assign(size_t(n * n), 0);
    for (int64_t c = 0; c < n; ++c) {
        int64_t src = order[size_t(c)];
        values[size_t(c)] = d[size_t(src)];
        for (int64_t r = 0; r < n; ++r) vectors[size_t(r * n + c)] = w[size_t(src * n + r)];
    }
}

}  // namespace

void symmetric_eigen(const std::vector<double>& a, int64_t n, std::vector<double>& values,
                     std::vector<double>& vectors) {
    MARROW_CHECK(n > 0 && a.size() == size_t(n * n),
                 "symmetric_eigen: expected an n x n matrix with n > 0, got n = {} and {} values",
                 n, a.size());
    for (double x : a)
        MARROW_CHECK(std::isfinite(x), "symmetric_eigen: the matrix has a non-finite entry");
    std::vector<double> v = a, d(static_cast<size_t>(n)), e(static_cast<size_t>(n));
    tred2(v, n, d, e);
    // tql2 rotates rows of w = V^T.
    std::vector<double> w(size_t(n * n));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) w[size_t(j * n + i)] = v[size_t(i * n + j)];
    tql2(w, n, d, e);
    sort_and_store(d, w, n, values, vectors);
}

void tridiagonal_eigen(const std::vector<double>& diag, const std::vector<double>& off,
                       std::vector<double>& values, std::vector<double>& vectors) {
    int64_t n = int64_t(diag.size());
    MARROW_CHECK(n > 0 && off.size() + 1 == diag.size(),
                 "tridiagonal_eigen: expected n > 0 diagonal and n - 1 off-diagonal values, got "
                 "{} and {}",
                 diag.size(), off.size());
    std::vector<double> d = diag, e(size_t(n), 0.0), w(size_t(n * n), 0.0);
    for (int64_t i = 1; i < n; ++i) e[size_t(i)] = off[size_t(i - 1)];  // tred2's layout
    for (int64_t i = 0; i < n; ++i) w[size_t(i * n + i)] = 1;
    tql2(w, n, d, e);
    sort_and_store(d, w, n, values, vectors);
}

void orthonormalize_columns(std::vector<double>& a, int64_t m, int64_t k) {
    MARROW_CHECK(m >= k && k > 0 && a.size() == size_t(m * k),
                 "orthonormalize_columns: expected an m x k matrix with m >= k > 0, got m = {}, "
                 "k = {}, {} values",
                 m, k, a.size());
    // Classical Gram-Schmidt applied twice ("twice is enough", Giraud et al. 2005) on the
    // columns copied to contiguous rows. A column that is numerically in the span of the
    // earlier ones becomes zero.
    std::vector<double> q(size_t(k * m));
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < k; ++j) q[size_t(j * m + i)] = a[size_t(i * k + j)];
    for (int64_t j = 0; j < k; ++j) {
        double* qj = q.data() + j * m;
        double norm0 = 0;
        for (int64_t i = 0; i < m; ++i) norm0 += qj[i] * qj[i];
        norm0 = std::sqrt(norm0);
        for (int pass = 0; pass < 2; ++pass) {
            for (int64_t p = 0; p < j; ++p) {
                const double* qp = q.data() + p * m;
                double dot = 0;
                for (int64_t i = 0; i < m; ++i) dot += qp[i] * qj[i];
                for (int64_t i = 0; i < m; ++i) qj[i] -= dot * qp[i];
            }
        }
        double norm = 0;
        for (int64_t i = 0; i < m; ++i) norm += qj[i] * qj[i];
        norm = std::sqrt(norm);
        double inv = norm > 1e-12 * norm0 && norm > 0 ? 1 / norm : 0;
        for (int64_t i = 0; i < m; ++i) qj[i] *= inv;
    }
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < k; ++j) a[size_t(i * k + j)] = q[size_t(j * m + i)];
}

}  // namespace marrow::eval::linalg
