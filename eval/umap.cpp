// UMAP: curve fit, fuzzy simplicial set, SGD layout and the fit; see umap.h. Reference:
// umap-learn 0.5 umap_.py (find_ab_params, smooth_knn_dist, compute_membership_strengths,
// fuzzy_simplicial_set, make_epochs_per_sample, simplicial_set_embedding, noisy_scale_coords)
// and layouts.py (_optimize_layout_euclidean_single_epoch).
#include "eval/umap.h"

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/features.h"
#include "tensor/philox.h"

namespace marrow::eval {

std::pair<double, double> find_ab_params(double spread, double min_dist) {
    MARROW_CHECK(spread > 0 && min_dist >= 0 && min_dist <= spread,
                 "find_ab_params: need spread > 0 and 0 <= min_dist <= spread, got spread {} "
                 "and min_dist {}",
                 spread, min_dist);
    constexpr int kPoints = 300;
    std::vector<double> xs(kPoints), ys(kPoints);
    for (int i = 0; i < kPoints; ++i) {  // np.linspace(0, 3 spread, 300)
        xs[size_t(i)] = 3 * spread * double(i) / double(kPoints - 1);
        ys[size_t(i)] = xs[size_t(i)] < min_dist ? 1.0 : std::exp(-(xs[size_t(i)] - min_dist) / spread);
    }
    // Residuals r_i = 1 / (1 + a x^2b) - y_i and their Jacobian, for Levenberg-Marquardt.
    auto cost = [&](double a, double b) {
        double c = 0;
        for (int i = 0; i < kPoints; ++i) {
            double p = xs[size_t(i)] > 0 ? std::pow(xs[size_t(i)], 2 * b) : 0;
            double r = 1 / (1 + a * p) - ys[size_t(i)];
            c += r * r;
        }
        return c;
    };
    double a = 1, b = 1, lambda = 1e-3, c = cost(a, b);
    for (int it = 0; it < 500; ++it) {
        double jaa = 0, jab = 0, jbb = 0, ga = 0, gb = 0;
        for (int i = 0; i < kPoints; ++i) {
            double x = xs[size_t(i)];
            if (x <= 0) continue;  // f = 1 and both derivatives vanish at x = 0
            double p = std::pow(x, 2 * b);
            double f = 1 / (1 + a * p);
            double r = f - ys[size_t(i)];
            double da = -p * f * f;
            double db = -a * p * 2 * std::log(x) * f * f;
            jaa += da * da;
            jab += da * db;
            jbb += db * db;
            ga += da * r;
            gb += db * r;
        }
        bool improved = false;
        while (!improved && lambda < 1e12) {
            double maa = jaa * (1 + lambda), mbb = jbb * (1 + lambda);
            double det = maa * mbb - jab * jab;
            double step_a = -(mbb * ga - jab * gb) / det;
            double step_b = -(maa * gb - jab * ga) / det;
            double cn = cost(a + step_a, b + step_b);
            if (cn < c) {
                improved = true;
                double rel = std::fabs(step_a) / (std::fabs(a) + 1e-30) +
                             std::fabs(step_b) / (std::fabs(b) + 1e-30);
                a += step_a;
                b += step_b;
                c = cn;
                lambda = std::max(lambda / 10, 1e-15);
                if (rel < 1e-13) return {a, b};
            } else {
                lambda *= 10;
            }
        }
        if (!improved) break;  // at the minimum to rounding
    }
    return {a, b};
}

void smooth_knn_dist(const KnnGraph& knn, double local_connectivity, std::vector<float>& sigmas,
                     std::vector<float>& rhos) {
    constexpr double kTolerance = 1e-5, kMinScale = 1e-3;
    const int64_t n = knn.n, k = knn.k;
    MARROW_CHECK(n > 0 && k >= 2 && knn.distances.size() == size_t(n * k),
                 "smooth_knn_dist: need a kNN graph with N > 0 and k >= 2, got N = {}, k = {}",
                 n, k);
    const double target = std::log2(double(k));  // bandwidth 1
    double mean_all = 0;
    for (float d : knn.distances) mean_all += d;
    mean_all /= double(knn.distances.size());
    sigmas.assign(static_cast<size_t>(n), 0);
    rhos.assign(static_cast<size_t>(n), 0);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
        const float* d = &knn.distances[size_t(i * k)];
        std::vector<double> nonzero;
        for (int64_t j = 0; j < k; ++j)
            if (d[j] > 0) nonzero.push_back(d[j]);
        double rho = 0;
        if (double(nonzero.size()) >= local_connectivity) {
            int64_t index = int64_t(std::floor(local_connectivity));
            double interpolation = local_connectivity - double(index);
            if (index > 0) {
                rho = nonzero[size_t(index - 1)];
                if (interpolation > kTolerance)
                    rho += interpolation * (nonzero[size_t(index)] - nonzero[size_t(index - 1)]);
            } else {
                rho = interpolation * nonzero[0];
            }
        } else if (!nonzero.empty()) {
            rho = *std::max_element(nonzero.begin(), nonzero.end());
        }
        float rho_f = float(rho);  // umap-learn stores rho in float32, then reads it back
        double lo = 0, hi = INFINITY, mid = 1;
        for (int iter = 0; iter < 64; ++iter) {
            double psum = 0;
            for (int64_t j = 1; j < k; ++j) {
                double dd = double(d[j]) - double(rho_f);
                psum += dd > 0 ? std::exp(-(dd / mid)) : 1.0;
            }
            if (std::fabs(psum - target) < kTolerance) break;
            if (psum > target) {
                hi = mid;
                mid = (lo + hi) / 2;
            } else {
                lo = mid;
                mid = std::isinf(hi) ? mid * 2 : (lo + hi) / 2;
            }
        }
        double sigma = mid;
        if (rho_f > 0) {
            double mean_i = 0;
            for (int64_t j = 0; j < k; ++j) mean_i += d[j];
            mean_i /= double(k);
            sigma = std::max(sigma, kMinScale * mean_i);
        } else {
            sigma = std::max(sigma, kMinScale * mean_all);
        }
        sigmas[size_t(i)] = float(sigma);
        rhos[size_t(i)] = rho_f;
    }
}

FuzzyGraph fuzzy_simplicial_set(const KnnGraph& knn, double set_op_mix_ratio,
                                double local_connectivity) {
    MARROW_CHECK(set_op_mix_ratio >= 0 && set_op_mix_ratio <= 1,
                 "fuzzy_simplicial_set: set_op_mix_ratio must lie in [0, 1], got {}",
                 set_op_mix_ratio);
    std::vector<float> sigmas, rhos;
    smooth_knn_dist(knn, local_connectivity, sigmas, rhos);
    const int64_t n = knn.n, k = knn.k;
    // Directed memberships (compute_membership_strengths), as (row, col, value, transposed).
    struct Entry {
        int32_t r, c;
        float v;
        bool t;
    };
    std::vector<Entry> entries;
    entries.reserve(size_t(2 * n * k));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < k; ++j) {
            int32_t c = knn.indices[size_t(i * k + j)];
            if (c < 0 || c == i) continue;  // the point itself has membership 0
            double dd = double(knn.distances[size_t(i * k + j)]) - double(rhos[size_t(i)]);
            float v = dd <= 0 || sigmas[size_t(i)] == 0
                          ? 1.0f
                          : float(std::exp(-(dd / double(sigmas[size_t(i)]))));
            if (v == 0) continue;  // eliminate_zeros
            entries.push_back({int32_t(i), c, v, false});
            entries.push_back({c, int32_t(i), v, true});
        }
    std::sort(entries.begin(), entries.end(), [](const Entry& x, const Entry& y) {
        return x.r != y.r ? x.r < y.r : x.c != y.c ? x.c < y.c : x.t < y.t;
    });
    // result = mix (A + A^T - A o A^T) + (1 - mix) A o A^T, in float32 as scipy computes it.
    FuzzyGraph g;
    g.n = n;
    const float mix = float(set_op_mix_ratio);
    for (size_t e = 0; e < entries.size();) {
        float a = 0, b = 0;
        size_t f = e;
        for (; f < entries.size() && entries[f].r == entries[e].r && entries[f].c == entries[e].c; ++f)
            (entries[f].t ? b : a) += entries[f].v;
        float prod = a * b;
        float v = mix * ((a + b) - prod) + (1.0f - mix) * prod;
        if (v != 0) {
            g.rows.push_back(entries[e].r);
            g.cols.push_back(entries[e].c);
            g.vals.push_back(v);
        }
        e = f;
    }
    return g;
}

namespace {

// Per-vertex random stream for negative samples (umap-learn keeps a Tausworthe state per
// vertex): splitmix64 seeded from Philox(seed, vertex).
inline uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

inline float clip4(float v) { return v > 4.0f ? 4.0f : (v < -4.0f ? -4.0f : v); }

// One epoch of umap-learn's _optimize_layout_euclidean_single_epoch (move_other = True).
// DIM > 0 fixes the dimension at compile time (2 is the common case); 0 reads `dim`.
struct LayoutState {
    std::vector<double> eps, next, eps_neg, next_neg;
    std::vector<uint64_t> rng;
};

template <int DIM>
void layout_epoch(float* y, int64_t dim_rt, const FuzzyGraph& graph, LayoutState& st, int epoch,
                  float alpha, float a, float b, float gamma) {
    const int64_t dim = DIM > 0 ? DIM : dim_rt;
    const int64_t n = graph.n, m = int64_t(graph.vals.size());
    const int32_t* head = graph.rows.data();
    const int32_t* tail = graph.cols.data();
    const double ep = double(epoch);
    for (int64_t e = 0; e < m; ++e) {
        if (st.next[size_t(e)] > ep) continue;
        int64_t j = head[e], k = tail[e];
        float* cur = y + j * dim;
        float* oth = y + k * dim;
        float d2 = 0;
        for (int64_t q = 0; q < dim; ++q) d2 += (cur[q] - oth[q]) * (cur[q] - oth[q]);
        float coeff = 0;
        if (d2 > 0) {
            float pb = std::pow(d2, b);  // d^2b; d^2(b - 1) = pb / d2
            coeff = (-2.0f * a * b * pb / d2) / (a * pb + 1.0f);
        }
        for (int64_t q = 0; q < dim; ++q) {
            float g = clip4(coeff * (cur[q] - oth[q]));
            cur[q] += g * alpha;
            oth[q] -= g * alpha;
        }
        st.next[size_t(e)] += st.eps[size_t(e)];
        int64_t n_neg = int64_t((ep - st.next_neg[size_t(e)]) / st.eps_neg[size_t(e)]);
        for (int64_t p = 0; p < n_neg; ++p) {
            uint64_t r = splitmix64(st.rng[size_t(j)]);
            int64_t kk = int64_t(((r >> 32) * uint64_t(n)) >> 32);
            const float* other = y + kk * dim;
            float dn = 0;
            for (int64_t q = 0; q < dim; ++q) dn += (cur[q] - other[q]) * (cur[q] - other[q]);
            if (dn > 0) {
                float c = 2.0f * gamma * b / ((0.001f + dn) * (a * std::pow(dn, b) + 1.0f));
                for (int64_t q = 0; q < dim; ++q) cur[q] += clip4(c * (cur[q] - other[q])) * alpha;
            }
            // dn == 0 (the vertex itself or a coincident point): no force, as umap-learn
        }
        st.next_neg[size_t(e)] += double(n_neg) * st.eps_neg[size_t(e)];
    }
}

}  // namespace

void optimize_layout(std::vector<float>& emb, int64_t dim, const FuzzyGraph& graph,
                     int n_epochs, double a_d, double b_d, const UMAPOptions& options) {
    const int64_t n = graph.n, m = int64_t(graph.vals.size());
    MARROW_CHECK(emb.size() == size_t(n * dim) && n_epochs >= 0,
                 "optimize_layout: embedding has {} values for N = {} and dim = {}", emb.size(),
                 n, dim);
    if (m == 0 || n_epochs == 0) return;
    // make_epochs_per_sample: an edge of weight w is sampled every max_w / w epochs.
    float wmax = *std::max_element(graph.vals.begin(), graph.vals.end());
    LayoutState st;
    st.eps.resize(size_t(m));
    st.next.resize(size_t(m));
    st.eps_neg.resize(size_t(m));
    st.next_neg.resize(size_t(m));
    for (int64_t e = 0; e < m; ++e) {
        double samples = double(n_epochs) * (double(graph.vals[size_t(e)]) / double(wmax));
        st.eps[size_t(e)] = samples > 0 ? double(n_epochs) / samples : -1.0;
        st.next[size_t(e)] = st.eps[size_t(e)];
        st.eps_neg[size_t(e)] = st.eps[size_t(e)] / double(options.negative_sample_rate);
        st.next_neg[size_t(e)] = st.eps_neg[size_t(e)];
    }
    st.rng.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) {
        philox::Block blk = philox::generate(options.seed ^ 0x7f4a7c15ull, uint64_t(i));
        st.rng[size_t(i)] = (uint64_t(blk.v[0]) << 32) | blk.v[1];
    }
    const float a = float(a_d), b = float(b_d), gamma = float(options.repulsion_strength);
    double alpha = options.learning_rate;
    for (int epoch = 0; epoch < n_epochs; ++epoch) {
        if (dim == 2)
            layout_epoch<2>(emb.data(), dim, graph, st, epoch, float(alpha), a, b, gamma);
        else
            layout_epoch<0>(emb.data(), dim, graph, st, epoch, float(alpha), a, b, gamma);
        alpha = options.learning_rate * (1.0 - double(epoch) / double(n_epochs));
    }
}

UMAP::UMAP(UMAPOptions options) : options_(options) {
    MARROW_CHECK(options.n_neighbors >= 2, "UMAP: n_neighbors must be >= 2, got {}",
                 options.n_neighbors);
    MARROW_CHECK(options.n_components >= 1, "UMAP: n_components must be >= 1, got {}",
                 options.n_components);
    MARROW_CHECK(options.negative_sample_rate >= 0 && options.learning_rate > 0,
                 "UMAP: need negative_sample_rate >= 0 and learning_rate > 0, got {} and {}",
                 options.negative_sample_rate, options.learning_rate);
    std::tie(a_, b_) = find_ab_params(options.spread, options.min_dist);
}

Tensor UMAP::fit_transform(const Tensor& x_in) {
    autograd::NoGradGuard no_grad;
    Tensor x = host_matrix(x_in, DType::f32, "UMAP.fit_transform", "x");
    const int64_t n = x.size(0), dim = options_.n_components;
    MARROW_CHECK(n > options_.n_neighbors,
                 "UMAP.fit_transform: need more points (N = {}) than n_neighbors ({})", n,
                 options_.n_neighbors);
    auto t0 = std::chrono::steady_clock::now();
    auto stage = [&](const char* what) {
        if (!options_.verbose) return;
        auto t1 = std::chrono::steady_clock::now();
        fmt::print(stderr, "UMAP: {} {:.3f} s\n", what, std::chrono::duration<double>(t1 - t0).count());
        t0 = t1;
    };
    KnnGraph knn = n < options_.exact_knn_max
                       ? exact_knn(x, options_.n_neighbors, options_.metric)
                       : nn_descent(x, options_.n_neighbors, options_.metric,
                                    {.seed = options_.seed});
    stage(n < options_.exact_knn_max ? "exact kNN" : "NN-descent kNN");
    graph_ = fuzzy_simplicial_set(knn, options_.set_op_mix_ratio, options_.local_connectivity);
    stage("fuzzy simplicial set");
    int n_epochs = options_.n_epochs >= 0 ? options_.n_epochs : (n <= 10000 ? 500 : 200);
    // simplicial_set_embedding: drop edges too weak to be sampled once in n_epochs.
    if (!graph_.vals.empty()) {
        float wmax = *std::max_element(graph_.vals.begin(), graph_.vals.end());
        float cut = wmax / float(n_epochs > 10 ? n_epochs : 200);
        FuzzyGraph kept;
        kept.n = n;
        for (size_t e = 0; e < graph_.vals.size(); ++e)
            if (graph_.vals[e] >= cut) {
                kept.rows.push_back(graph_.rows[e]);
                kept.cols.push_back(graph_.cols[e]);
                kept.vals.push_back(graph_.vals[e]);
            }
        graph_ = std::move(kept);
    }
    std::vector<float> emb;
    uint64_t counter = 0;
    auto draw = [&]() {  // Philox uniforms in [0, 1) for the initialization
        return philox::to_unit_double(
            philox::generate(options_.seed ^ 0x1d872b41ull, counter++).v[0]);
    };
    if (options_.spectral_init) {
        emb = spectral_layout(graph_, x, dim, options_.seed);
        // noisy_scale_coords: max |coordinate| 10, plus N(0, 1e-4) noise (Box-Muller).
        float mx = 0;
        for (float v : emb) mx = std::max(mx, std::fabs(v));
        float expansion = mx > 0 ? 10.0f / mx : 1.0f;
        for (float& v : emb) {
            double u1 = 1 - draw(), u2 = draw();
            v = v * expansion +
                float(1e-4 * std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307179586 * u2));
        }
    } else {
        emb.resize(size_t(n * dim));
        for (float& v : emb) v = float(-10 + 20 * draw());
    }
    // Scale each coordinate to [0, 10].
    for (int64_t q = 0; q < dim; ++q) {
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < n; ++i) {
            lo = std::min(lo, emb[size_t(i * dim + q)]);
            hi = std::max(hi, emb[size_t(i * dim + q)]);
        }
        float scale = hi > lo ? 10.0f / (hi - lo) : 0.0f;
        for (int64_t i = 0; i < n; ++i)
            emb[size_t(i * dim + q)] = (emb[size_t(i * dim + q)] - lo) * scale;
    }
    stage("initialization");
    optimize_layout(emb, dim, graph_, n_epochs, a_, b_, options_);
    stage("SGD layout");
    embedding_ = from_vector<float>(emb, Shape{n, dim});
    return *embedding_;
}

const Tensor& UMAP::embedding() const {
    MARROW_CHECK(embedding_, "UMAP.embedding: not fitted (call fit_transform first)");
    return *embedding_;
}

}  // namespace marrow::eval
