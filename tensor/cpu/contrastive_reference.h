// Readable reference loops for the contrastive losses (NT-Xent, KoLeo), forward and backward,
// straight from the formulas in autograd/functions/contrastive.cpp: no GEMM, no vectors, one
// pair of rows at a time, sums in acc_t<T>. The fused kernels (tensor/cpu/contrastive.cpp)
// are tested against these by tests/ssl/test_contrastive.cpp. All arrays row-major,
// contiguous: z (M = 2N, d), lse (M); x (B, D), nn (B).
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "tensor/math/accumulate.h"

namespace marrow::cpu::reference {

// Rows of x (rows, d) divided by max(||row||, eps) (F.normalize, p = 2); the norms in `norm`.
template <typename T>
std::vector<acc_t<T>> normalized_rows(const T* x, int64_t rows, int64_t d, double eps,
                                      std::vector<acc_t<T>>& norm) {
    using A = acc_t<T>;
    std::vector<A> y(size_t(rows * d));
    norm.assign(size_t(rows), A(0));
    for (int64_t i = 0; i < rows; ++i) {
        A s = 0;
        for (int64_t k = 0; k < d; ++k) s += A(x[i * d + k]) * A(x[i * d + k]);
        A n = std::sqrt(s);
        norm[size_t(i)] = n;
        A den = n < A(eps) ? A(eps) : n;
        for (int64_t k = 0; k < d; ++k) y[size_t(i * d + k)] = A(x[i * d + k]) / den;
    }
    return y;
}

// F.normalize's backward: gx = g / n - y (y . g) / n where n >= eps, else g / eps.
template <typename T>
void normalize_rows_backward(const std::vector<acc_t<T>>& y, const std::vector<acc_t<T>>& norm,
                             const std::vector<acc_t<T>>& g, int64_t rows, int64_t d, double eps,
                             T* gx) {
    using A = acc_t<T>;
    for (int64_t i = 0; i < rows; ++i) {
        A n = norm[size_t(i)], dot = 0;
        for (int64_t k = 0; k < d; ++k) dot += y[size_t(i * d + k)] * g[size_t(i * d + k)];
        for (int64_t k = 0; k < d; ++k) {
            A gk = g[size_t(i * d + k)];
            gx[i * d + k] = T(n >= A(eps) ? (gk - y[size_t(i * d + k)] * dot) / n : gk / A(eps));
        }
    }
}

template <typename A>
A dot_rows(const std::vector<A>& y, int64_t i, int64_t j, int64_t d) {
    A s = 0;
    for (int64_t k = 0; k < d; ++k) s += y[size_t(i * d + k)] * y[size_t(j * d + k)];
    return s;
}

// NT-Xent: S_ij = zn_i . zn_j / tau, l_i = -S_{i,p(i)} + log sum_{j != i} exp(S_ij) with
// p(i) = (i + N) mod 2N; returns mean_i l_i and writes lse_i = the log-sum-exp.
template <typename T>
T nt_xent_forward(const T* z, int64_t m, int64_t d, double tau, T* lse) {
    using A = acc_t<T>;
    std::vector<A> norm;
    std::vector<A> zn = normalized_rows(z, m, d, 1e-12, norm);
    A total = 0;
    for (int64_t i = 0; i < m; ++i) {
        A mx = -INFINITY;
        for (int64_t j = 0; j < m; ++j)
            if (j != i) mx = std::fmax(mx, dot_rows(zn, i, j, d) / A(tau));
        A sum = 0;
        for (int64_t j = 0; j < m; ++j)
            if (j != i) sum += std::exp(dot_rows(zn, i, j, d) / A(tau) - mx);
        A l = mx + std::log(sum);
        lse[i] = T(l);
        total += l - dot_rows(zn, i, (i + m / 2) % m, d) / A(tau);
    }
    return T(total / A(m));
}

// dL/dS_ij = g (P_ij - [j = p(i)]) / M for j != i (P_ij = exp(S_ij - lse_i)); S_ij reads
// zn_i and zn_j, so each pair adds to both rows: dzn_i += dS_ij zn_j / tau, dzn_j += dS_ij
// zn_i / tau. Then through the normalization.
template <typename T>
void nt_xent_backward(const T* z, int64_t m, int64_t d, double tau, const T* lse, T g, T* gz) {
    using A = acc_t<T>;
    std::vector<A> norm;
    std::vector<A> zn = normalized_rows(z, m, d, 1e-12, norm);
    std::vector<A> dzn(size_t(m * d), A(0));
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < m; ++j) {
            if (j == i) continue;
            A p = std::exp(dot_rows(zn, i, j, d) / A(tau) - A(lse[i]));
            A ds = A(g) * (p - (j == (i + m / 2) % m ? A(1) : A(0))) / A(m) / A(tau);
            for (int64_t k = 0; k < d; ++k) {
                dzn[size_t(i * d + k)] += ds * zn[size_t(j * d + k)];
                dzn[size_t(j * d + k)] += ds * zn[size_t(i * d + k)];
            }
        }
    normalize_rows_backward<T>(zn, norm, dzn, m, d, 1e-12, gz);
}

// KoLeo (dinov2/loss/koleo_loss.py): xh = normalize(x, eps); nn(i) = the first maximum of row
// i of the Gram matrix with its diagonal set to -1 (a NaN wins, the first one: torch.max);
// d_i = ||xh_i - xh_nn(i) + 1e-8|| (nn.PairwiseDistance's eps); L = -mean_i log(d_i + eps).
template <typename T>
T koleo_forward(const T* x, int64_t b, int64_t dim, double eps, int64_t* nn) {
    using A = acc_t<T>;
    std::vector<A> norm;
    std::vector<A> xh = normalized_rows(x, b, dim, eps, norm);
    A total = 0;
    for (int64_t i = 0; i < b; ++i) {
        A best = 0;
        int64_t at = -1;
        for (int64_t j = 0; j < b; ++j) {
            A v = j == i ? A(-1) : dot_rows(xh, i, j, dim);
            bool best_nan = at >= 0 && best != best;
            if (at < 0 || (!best_nan && (v > best || v != v))) best = v, at = j;
        }
        nn[i] = at;
        A s = 0;
        for (int64_t k = 0; k < dim; ++k) {
            A u = T(T(xh[size_t(i * dim + k)] - xh[size_t(at * dim + k)]) + T(1e-8));
            s += u * u;
        }
        total += std::log(std::sqrt(s) + A(eps));
    }
    return T(-total / A(b));
}

// dL/dd_i = -g / (B (d_i + eps)); d_i = ||u_i||, u_i = xh_i - xh_nn(i) + 1e-8, so
// dL/du_i = a_i u_i with a_i = dL/dd_i / d_i (0 where d_i = 0, as torch's norm backward), and
// u_i adds a_i u_i to dxh_i and subtracts it from dxh_nn(i). The index carries no gradient.
template <typename T>
void koleo_backward(const T* x, int64_t b, int64_t dim, double eps, const int64_t* nn, T g, T* gx) {
    using A = acc_t<T>;
    std::vector<A> norm;
    std::vector<A> xh = normalized_rows(x, b, dim, eps, norm);
    std::vector<A> dxh(size_t(b * dim), A(0));
    for (int64_t i = 0; i < b; ++i) {
        int64_t j = nn[i];
        std::vector<A> u(static_cast<size_t>(dim));
        A s = 0;
        for (int64_t k = 0; k < dim; ++k) {
            u[size_t(k)] = T(T(xh[size_t(i * dim + k)] - xh[size_t(j * dim + k)]) + T(1e-8));
            s += u[size_t(k)] * u[size_t(k)];
        }
        A dist = std::sqrt(s);
        A a = dist > 0 ? -A(g) / (A(b) * (dist + A(eps)) * dist) : A(0);
        for (int64_t k = 0; k < dim; ++k) {
            dxh[size_t(i * dim + k)] += a * u[size_t(k)];
            dxh[size_t(j * dim + k)] -= a * u[size_t(k)];
        }
    }
    normalize_rows_backward<T>(xh, norm, dxh, b, dim, eps, gx);
}

}  // namespace marrow::cpu::reference
