// PCA; see pca.h. Reference: sklearn/decomposition/_pca.py (_fit_full, _fit_truncated),
// sklearn/utils/extmath.py (randomized_svd, randomized_range_finder, svd_flip).
#include "eval/pca.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/dense_linalg.h"
#include "eval/features.h"
#include "tensor/random.h"

namespace marrow::eval {

namespace {

std::vector<double> to_vector(const Tensor& t) {
    Tensor c = contiguous(t);
    const double* p = c.data<double>();
    return std::vector<double>(p, p + c.numel());
}

Tensor from_matrix(const std::vector<double>& v, int64_t rows, int64_t cols) {
    return from_vector<double>(v, Shape{rows, cols});
}

// Top-k eigenpairs (descending) of the symmetric n x n Gram matrix g: values clamped at 0
// (rounding can make a zero eigenvalue slightly negative) and vectors as k x n rows.
void top_eigen(const Tensor& g, int64_t k, std::vector<double>& values,
               std::vector<double>& rows) {
    int64_t n = g.size(0);
    std::vector<double> w, v;
    linalg::symmetric_eigen(to_vector(g), n, w, v);
    values.assign(size_t(k), 0);
    rows.assign(size_t(k * n), 0);
    for (int64_t c = 0; c < k; ++c) {
        int64_t src = n - 1 - c;
        values[size_t(c)] = std::max(w[size_t(src)], 0.0);
        for (int64_t r = 0; r < n; ++r) rows[size_t(c * n + r)] = v[size_t(r * n + src)];
    }
}

// The exact SVD's top k: singular values s (k) and right singular vectors vt (k x F) of xc.
void svd_full(const Tensor& xc, int64_t k, std::vector<double>& s, std::vector<double>& vt,
              std::vector<double>& all_sq) {
    int64_t n = xc.size(0), f = xc.size(1);
    int64_t m = std::min(n, f);
    std::vector<double> lambda, vecs;
    if (f <= n) {  // F x F covariance: its eigenvectors are the right singular vectors
        top_eigen(matmul(transpose(xc, 0, 1), xc), m, lambda, vecs);
        vt.assign(vecs.begin(), vecs.begin() + k * f);
    } else {  // N x N Gram: left singular vectors u, then v = Xc^T u / s
        top_eigen(matmul(xc, transpose(xc, 0, 1)), m, lambda, vecs);
        Tensor u = from_matrix(std::vector<double>(vecs.begin(), vecs.begin() + k * n), k, n);
        vt = to_vector(matmul(u, xc));  // (k, F) = U_k^T Xc = S V^T
        for (int64_t c = 0; c < k; ++c) {
            double sc = std::sqrt(lambda[size_t(c)]);
            double inv = sc > 0 ? 1 / sc : 0;  // a zero singular value has no direction
            for (int64_t j = 0; j < f; ++j) vt[size_t(c * f + j)] *= inv;
        }
    }
    all_sq = lambda;
    s.assign(size_t(k), 0);
    for (int64_t c = 0; c < k; ++c) s[size_t(c)] = std::sqrt(lambda[size_t(c)]);
}

// m: (rows, cols) tensor; returns an orthonormal basis of the columns of m as a tensor.
Tensor orth(const Tensor& m) {
    std::vector<double> a = to_vector(m);
    linalg::orthonormalize_columns(a, m.size(0), m.size(1));
    return from_matrix(a, m.size(0), m.size(1));
}

// sklearn's randomized_svd on xc (never transposed here: the caller passes Xc or Xc^T):
// returns the top k singular values and the k right singular vectors of `a` as rows (k x C)
// together with the left ones as rows (k x R).
void svd_randomized(const Tensor& a, int64_t k, int oversamples, int power_iterations,
                    uint64_t seed, std::vector<double>& s, std::vector<double>& ut,
                    std::vector<double>& vt) {
    int64_t rows = a.size(0), cols = a.size(1);
    int64_t r = std::min(k + oversamples, std::min(rows, cols));
    Generator gen(seed);
    Tensor q = randn({cols, r}, DType::f64, Device::cpu(), gen);
    Tensor at = transpose(a, 0, 1);
    for (int it = 0; it < power_iterations; ++it) {
        q = orth(matmul(a, q));
        q = orth(matmul(at, q));
    }
    q = orth(matmul(a, q));                       // (rows, r)
    Tensor b = matmul(transpose(q, 0, 1), a);     // (r, cols)
    Tensor bbt = matmul(b, transpose(b, 0, 1));   // (r, r)
    std::vector<double> lambda, w;                // B B^T = W diag(lambda) W^T
    top_eigen(bbt, r, lambda, w);                 // rows of w: left vectors of B
    s.assign(size_t(k), 0);
    std::vector<double> wk(w.begin(), w.begin() + k * r);
    for (int64_t c = 0; c < k; ++c) s[size_t(c)] = std::sqrt(lambda[size_t(c)]);
    Tensor wkt = from_matrix(wk, k, r);
    vt = to_vector(matmul(wkt, b));                         // (k, cols) = S V^T
    ut = to_vector(matmul(wkt, transpose(q, 0, 1)));        // (k, rows) = (Q W)^T
    for (int64_t c = 0; c < k; ++c) {
        double inv = s[size_t(c)] > 0 ? 1 / s[size_t(c)] : 0;
        for (int64_t j = 0; j < cols; ++j) vt[size_t(c * cols + j)] *= inv;
    }
}

}  // namespace

PCA::PCA(PCAOptions options) : options_(options) {
    MARROW_CHECK(options.n_components == -1 || options.n_components >= 1,
                 "PCA: n_components must be >= 1 (or -1 for min(N, F)), got {}",
                 options.n_components);
    MARROW_CHECK(options.n_oversamples >= 0, "PCA: n_oversamples must be >= 0, got {}",
                 options.n_oversamples);
    MARROW_CHECK(options.iterated_power >= -1,
                 "PCA: iterated_power must be >= 0 (or -1 for auto), got {}",
                 options.iterated_power);
}

PCA& PCA::fit(const Tensor& x_in) {
    autograd::NoGradGuard no_grad;
    Tensor x = host_matrix(x_in, DType::f64, "PCA.fit", "x");
    int64_t n = x.size(0), f = x.size(1), m = std::min(n, f);
    MARROW_CHECK(n >= 2, "PCA.fit: need at least 2 samples (variances use N - 1), got {}", n);
    int64_t k = options_.n_components < 0 ? m : options_.n_components;
    MARROW_CHECK(k <= m,
                 "PCA.fit: n_components = {} must be between 1 and min(n_samples, n_features) = "
                 "min({}, {}) = {}",
                 k, n, f, m);
    PCASolver solver = options_.solver;
    if (solver == PCASolver::automatic)
        solver = std::max(n, f) <= 500 ? PCASolver::full
                 : double(k) < 0.8 * double(m) ? PCASolver::randomized
                                               : PCASolver::full;
    fitted_solver_ = solver;

    Tensor mu = marrow::mean(x, {0}, true);  // (1, F)
    Tensor xc = contiguous(x - mu);
    std::vector<double> s, vt;
    double total_var = 0;  // sum of the per-feature variances (ddof = 1)
    {
        const double* p = xc.data<double>();
        for (int64_t i = 0; i < n; ++i)
            for (int64_t j = 0; j < f; ++j) total_var += p[i * f + j] * p[i * f + j];
        total_var /= double(n - 1);
    }
    if (solver == PCASolver::full) {
        std::vector<double> all_sq;
        svd_full(xc, k, s, vt, all_sq);
        // sklearn: total = sum of all S^2 / (N - 1) (= the trace above, up to rounding), and
        // the noise variance the mean of the discarded S^2 / (N - 1).
        double all = 0, rest = 0;
        for (size_t c = 0; c < all_sq.size(); ++c) {
            all += all_sq[c];
            if (int64_t(c) >= k) rest += all_sq[c];
        }
        total_var = all / double(n - 1);
        noise_variance_ = k < m ? rest / double(n - 1) / double(m - k) : 0.0;
    } else {
        int power = options_.iterated_power >= 0 ? options_.iterated_power
                    : double(k) < 0.1 * double(m) ? 7
                                                  : 4;
        std::vector<double> ut;
        if (n < f) {  // sklearn transposes: the right vectors of Xc^T are Xc's left ones
            std::vector<double> v_of_t;
            svd_randomized(transpose(xc, 0, 1), k, options_.n_oversamples, power, options_.seed,
                           s, vt, v_of_t);
        } else {
            svd_randomized(xc, k, options_.n_oversamples, power, options_.seed, s, ut, vt);
        }
        double kept = 0;
        for (int64_t c = 0; c < k; ++c) kept += s[size_t(c)] * s[size_t(c)] / double(n - 1);
        noise_variance_ = k < m ? (total_var - kept) / double(m - k) : 0.0;
    }

    // svd_flip (u_based_decision): the largest-|score| sample of each component scores > 0.
    Tensor comps = from_matrix(vt, k, f);
    Tensor scores = contiguous(matmul(xc, transpose(comps, 0, 1)));  // (N, K) = U S
    const double* sp = scores.data<double>();
    for (int64_t c = 0; c < k; ++c) {
        int64_t best = 0;
        for (int64_t i = 1; i < n; ++i)
            if (std::fabs(sp[i * k + c]) > std::fabs(sp[best * k + c])) best = i;
        if (sp[best * k + c] < 0)
            for (int64_t j = 0; j < f; ++j) vt[size_t(c * f + j)] = -vt[size_t(c * f + j)];
    }

    std::vector<double> ev(static_cast<size_t>(k)), ratio(static_cast<size_t>(k));
    for (int64_t c = 0; c < k; ++c) {
        ev[size_t(c)] = s[size_t(c)] * s[size_t(c)] / double(n - 1);
        ratio[size_t(c)] = ev[size_t(c)] / total_var;
    }
    components_ = from_matrix(vt, k, f);
    mean_ = reshape(mu, {f});
    explained_variance_ = from_vector<double>(ev);
    explained_variance_ratio_ = from_vector<double>(ratio);
    singular_values_ = from_vector<double>(s);
    return *this;
}

Tensor PCA::transform(const Tensor& x_in) const {
    MARROW_CHECK(fitted(), "PCA.transform: the model is not fitted (call fit first)");
    autograd::NoGradGuard no_grad;
    Tensor x = host_matrix(x_in, DType::f64, "PCA.transform", "x");
    MARROW_CHECK(x.size(1) == components_->size(1),
                 "PCA.transform: x has {} features (shape {}), the model was fit on {}",
                 x.size(1), x.shape(), components_->size(1));
    Tensor z = matmul(x - *mean_, transpose(*components_, 0, 1));
    if (options_.whiten) z = z / sqrt(*explained_variance_);
    return to(z, x_in.dtype());
}

Tensor PCA::inverse_transform(const Tensor& z_in) const {
    MARROW_CHECK(fitted(), "PCA.inverse_transform: the model is not fitted (call fit first)");
    autograd::NoGradGuard no_grad;
    Tensor z = host_matrix(z_in, DType::f64, "PCA.inverse_transform", "z");
    MARROW_CHECK(z.size(1) == components_->size(0),
                 "PCA.inverse_transform: z has {} columns (shape {}), the model has {} "
                 "components",
                 z.size(1), z.shape(), components_->size(0));
    Tensor comps = *components_;
    if (options_.whiten) comps = comps * reshape(sqrt(*explained_variance_), {-1, 1});
    return to(matmul(z, comps) + *mean_, z_in.dtype());
}

const Tensor& PCA::components() const {
    MARROW_CHECK(fitted(), "PCA.components: the model is not fitted (call fit first)");
    return *components_;
}
const Tensor& PCA::mean() const {
    MARROW_CHECK(fitted(), "PCA.mean: the model is not fitted (call fit first)");
    return *mean_;
}
const Tensor& PCA::explained_variance() const {
    MARROW_CHECK(fitted(), "PCA.explained_variance: the model is not fitted (call fit first)");
    return *explained_variance_;
}
const Tensor& PCA::explained_variance_ratio() const {
    MARROW_CHECK(fitted(),
                 "PCA.explained_variance_ratio: the model is not fitted (call fit first)");
    return *explained_variance_ratio_;
}
const Tensor& PCA::singular_values() const {
    MARROW_CHECK(fitted(), "PCA.singular_values: the model is not fitted (call fit first)");
    return *singular_values_;
}
double PCA::noise_variance() const {
    MARROW_CHECK(fitted(), "PCA.noise_variance: the model is not fitted (call fit first)");
    return noise_variance_;
}

}  // namespace marrow::eval
