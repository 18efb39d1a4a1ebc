// UMAP's spectral initialization (umap-learn spectral.py: spectral_layout,
// multi_component_layout); see umap.h step 3.
//
// The eigenvectors of L = I - D^-1/2 W D^-1/2 with the smallest eigenvalues are those of
// M = D^-1/2 W D^-1/2 with the largest. M's top eigenvector is known, u0 = sqrt(deg) / |.|
// (eigenvalue 1), so Lanczos with full reorthogonalization runs on M restricted to the
// complement of u0, from the all-ones start vector umap-learn gives ARPACK, and stops once
// the `dim` largest Ritz pairs have residual |beta_m s_m| <= 1e-4 |theta| (ARPACK's tol).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autograd/ops.h"
#include "eval/dense_linalg.h"
#include "eval/pca.h"
#include "eval/umap.h"
#include "tensor/philox.h"

namespace marrow::eval {

namespace {

struct Csr {
    int64_t n = 0;
    std::vector<int64_t> ptr;
    std::vector<int32_t> col;
    std::vector<double> val;
};

// The subgraph on `members` (global ids, ascending) in CSR with local column ids.
Csr subgraph(const FuzzyGraph& g, const std::vector<int64_t>& row_ptr,
             const std::vector<int32_t>& members, const std::vector<int32_t>& local) {
    Csr c;
    c.n = int64_t(members.size());
    c.ptr.push_back(0);
    for (int32_t v : members) {
        for (int64_t e = row_ptr[size_t(v)]; e < row_ptr[size_t(v) + 1]; ++e) {
            c.col.push_back(local[size_t(g.cols[size_t(e)])]);
            c.val.push_back(g.vals[size_t(e)]);
        }
        c.ptr.push_back(int64_t(c.col.size()));
    }
    return c;
}

double dot(const std::vector<double>& a, const double* b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

// The `dim` leading non-trivial eigenvectors of one connected graph, as columns of out
// (n x dim, row-major). Returns false if Lanczos did not converge (after 400 vectors, Ritz
// pairs with residual up to 1e-2 are accepted: an initialization need not be exact).
bool spectral_component(const Csr& g, int64_t dim, std::vector<double>& out) {
    int64_t n = g.n;
    std::vector<double> isd(static_cast<size_t>(n)), u0(static_cast<size_t>(n));
    double norm0 = 0;
    for (int64_t i = 0; i < n; ++i) {
        double deg = 0;
        for (int64_t e = g.ptr[size_t(i)]; e < g.ptr[size_t(i) + 1]; ++e) deg += g.val[size_t(e)];
        u0[size_t(i)] = std::sqrt(deg);
        isd[size_t(i)] = deg > 0 ? 1 / std::sqrt(deg) : 0;
        norm0 += deg;
    }
    for (double& u : u0) u /= std::sqrt(norm0);
    auto apply = [&](const double* v, std::vector<double>& w) {  // w = M v
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; ++i) {
            double s = 0;
            for (int64_t e = g.ptr[size_t(i)]; e < g.ptr[size_t(i) + 1]; ++e)
                s += g.val[size_t(e)] * isd[size_t(g.col[size_t(e)])] * v[g.col[size_t(e)]];
            w[size_t(i)] = isd[size_t(i)] * s;
        }
    };
    int64_t m_max = std::min<int64_t>(n - 1, std::max<int64_t>(2 * dim + 1, 400));
    std::vector<std::vector<double>> basis;
    std::vector<double> alpha, beta, w(static_cast<size_t>(n)), v(static_cast<size_t>(n), 1.0);
    auto orthogonalize = [&](std::vector<double>& x) {
        for (int pass = 0; pass < 2; ++pass) {
            double c = dot(x, u0.data());
            for (int64_t i = 0; i < n; ++i) x[size_t(i)] -= c * u0[size_t(i)];
            for (const auto& q : basis) {
                double cq = dot(x, q.data());
                for (int64_t i = 0; i < n; ++i) x[size_t(i)] -= cq * q[size_t(i)];
            }
        }
    };
    orthogonalize(v);
    double nv = std::sqrt(dot(v, v.data()));
    if (nv < 1e-8) {  // ones lies along u0 (a regular graph): start from a fixed pattern
        for (int64_t i = 0; i < n; ++i) v[size_t(i)] = double((i * 7919) % 101) - 50;
        orthogonalize(v);
        nv = std::sqrt(dot(v, v.data()));
    }
    for (double& x : v) x /= nv;
    std::vector<double> theta, s;
    bool converged = false;
    for (int64_t j = 0; j < m_max; ++j) {
        basis.push_back(v);
        apply(v.data(), w);
        alpha.push_back(dot(w, v.data()));
        orthogonalize(w);
        double b = std::sqrt(dot(w, w.data()));
        int64_t m = j + 1;
        bool breakdown = b < 1e-10;
        if (m >= dim && (breakdown || m % 10 == 0 || m == m_max)) {
            linalg::tridiagonal_eigen(alpha, beta, theta, s);
            converged = true;
            for (int64_t c = 0; c < dim; ++c) {
                int64_t col = m - 1 - c;
                double resid = std::fabs(b * s[size_t((m - 1) * m + col)]);
                if (resid > 1e-4 * std::max(std::fabs(theta[size_t(col)]), 1e-12)) converged = false;
            }
            if (breakdown) converged = true;  // an exact invariant subspace
            if (converged) break;
        }
        if (breakdown) break;
        beta.push_back(b);
        for (int64_t i = 0; i < n; ++i) v[size_t(i)] = w[size_t(i)] / b;
    }
    int64_t m = int64_t(basis.size());
    if (m < dim) return false;
    if (!converged) {  // out of Lanczos vectors: accept Ritz vectors that are close enough
        double b = std::sqrt(dot(w, w.data()));
        if (int64_t(beta.size()) == m) beta.pop_back();
        linalg::tridiagonal_eigen(alpha, beta, theta, s);
        for (int64_t c = 0; c < dim; ++c)
            if (std::fabs(b * s[size_t((m - 1) * m + m - 1 - c)]) > 1e-2) return false;
    }
    if (int64_t(alpha.size()) != m || int64_t(beta.size()) != m - 1) beta.resize(size_t(m - 1));
    linalg::tridiagonal_eigen(alpha, beta, theta, s);
    out.assign(size_t(n * dim), 0);
    for (int64_t c = 0; c < dim; ++c) {
        int64_t col = m - 1 - c;  // largest Ritz values of M = smallest of L
        for (int64_t q = 0; q < m; ++q) {
            double coef = s[size_t(q * m + col)];
            const double* bq = basis[size_t(q)].data();
            for (int64_t i = 0; i < n; ++i) out[size_t(i * dim + c)] += coef * bq[i];
        }
    }
    return true;
}

double uniform(uint64_t seed, uint64_t counter) {
    return philox::to_unit_double(philox::generate(seed ^ 0x5bd1e995ull, counter).v[0]);
}

}  // namespace

std::vector<float> spectral_layout(const FuzzyGraph& graph, const Tensor& x, int64_t dim,
                                   uint64_t seed) {
    int64_t n = graph.n;
    std::vector<int64_t> row_ptr(size_t(n) + 1, 0);
    for (int32_t r : graph.rows) ++row_ptr[size_t(r) + 1];
    std::partial_sum(row_ptr.begin(), row_ptr.end(), row_ptr.begin());
    // Connected components by breadth-first search.
    std::vector<int32_t> label(static_cast<size_t>(n), -1);
    int32_t n_comp = 0;
    for (int64_t s = 0; s < n; ++s) {
        if (label[size_t(s)] >= 0) continue;
        std::vector<int64_t> queue{s};
        label[size_t(s)] = n_comp;
        for (size_t q = 0; q < queue.size(); ++q)
            for (int64_t e = row_ptr[size_t(queue[q])]; e < row_ptr[size_t(queue[q]) + 1]; ++e) {
                int32_t c = graph.cols[size_t(e)];
                if (label[size_t(c)] < 0) {
                    label[size_t(c)] = n_comp;
                    queue.push_back(c);
                }
            }
        ++n_comp;
    }
    std::vector<std::vector<int32_t>> members(static_cast<size_t>(n_comp));
    std::vector<int32_t> local(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        local[size_t(i)] = int32_t(members[size_t(label[size_t(i)])].size());
        members[size_t(label[size_t(i)])].push_back(int32_t(i));
    }
    std::vector<float> result(size_t(n * dim));
    uint64_t counter = 0;
    auto random_fill = [&](const std::vector<int32_t>& ids, const double* center, double range) {
        for (int32_t i : ids)
            for (int64_t c = 0; c < dim; ++c)
                result[size_t(i * dim + c)] =
                    float(center[c] + range * (2 * uniform(seed, counter++) - 1));
    };
    if (n_comp == 1) {
        std::vector<double> emb, center(static_cast<size_t>(dim), 0.0);
        if (spectral_component(subgraph(graph, row_ptr, members[0], local), dim, emb)) {
            for (size_t i = 0; i < emb.size(); ++i) result[i] = float(emb[i]);
        } else {  // umap-learn's fallback when the eigensolver fails
            random_fill(members[0], center.data(), 10.0);
        }
        return result;
    }
    // Several components: meta positions, then each component's layout around its own.
    std::vector<double> meta(size_t(n_comp * dim), 0.0);
    if (n_comp <= 2 * dim) {  // +-e_k, as umap-learn
        int64_t half = (n_comp + 1) / 2;
        for (int64_t c = 0; c < n_comp; ++c)
            meta[size_t(c * dim + (c % half))] = c < half ? 1.0 : -1.0;
    } else {  // PCA of the component centroids, scaled to max 1 (umap-learn: spectral)
        int64_t f = x.size(1);
        Tensor centroids = zeros({n_comp, f}, DType::f64);
        double* cp = centroids.data<double>();
        const float* xp = x.data<float>();
        for (int64_t i = 0; i < n; ++i)
            for (int64_t q = 0; q < f; ++q) cp[label[size_t(i)] * f + q] += xp[i * f + q];
        for (int64_t c = 0; c < n_comp; ++c)
            for (int64_t q = 0; q < f; ++q)
                cp[c * f + q] /= double(members[size_t(c)].size());
        int64_t k = std::min<int64_t>(dim, std::min<int64_t>(n_comp, f));
        Tensor z = contiguous(PCA({.n_components = k, .solver = PCASolver::full})
                                  .fit_transform(centroids));
        double mx = 0;
        for (int64_t c = 0; c < n_comp; ++c)
            for (int64_t q = 0; q < k; ++q) mx = std::max(mx, z.data<double>()[c * k + q]);
        for (int64_t c = 0; c < n_comp; ++c)
            for (int64_t q = 0; q < k; ++q)
                meta[size_t(c * dim + q)] = z.data<double>()[c * k + q] / (mx > 0 ? mx : 1);
    }
    for (int32_t c = 0; c < n_comp; ++c) {
        const double* center = &meta[size_t(c * dim)];
        double range = std::numeric_limits<double>::infinity();
        for (int32_t o = 0; o < n_comp; ++o) {
            double d2 = 0;
            for (int64_t q = 0; q < dim; ++q)
                d2 += (meta[size_t(o * dim + q)] - center[q]) * (meta[size_t(o * dim + q)] - center[q]);
            if (d2 > 0) range = std::min(range, std::sqrt(d2) / 2);
        }
        if (!std::isfinite(range)) range = 1;
        const auto& ids = members[size_t(c)];
        std::vector<double> emb;
        if (int64_t(ids.size()) < 2 * dim || int64_t(ids.size()) <= dim + 1 ||
            !spectral_component(subgraph(graph, row_ptr, ids, local), dim, emb)) {
            random_fill(ids, center, range);
            continue;
        }
        double mx = 0;
        for (double e : emb) mx = std::max(mx, std::fabs(e));
        double expansion = mx > 0 ? range / mx : 0;
        for (size_t r = 0; r < ids.size(); ++r)
            for (int64_t q = 0; q < dim; ++q)
                result[size_t(ids[r] * dim + q)] = float(emb[r * size_t(dim) + size_t(q)] * expansion + center[q]);
    }
    return result;
}

}  // namespace marrow::eval
