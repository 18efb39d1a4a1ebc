// Trustworthiness and silhouette; see embedding_quality.h. References:
// sklearn/manifold/_t_sne.py (trustworthiness), sklearn/metrics/cluster/_unsupervised.py
// (silhouette_samples, silhouette_score).
#include "eval/embedding_quality.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/features.h"
#include "eval/metrics.h"

namespace marrow::eval {

namespace {

double sq_dist(const double* a, const double* b, int64_t d) {
    double s = 0;
    for (int64_t c = 0; c < d; ++c) s += (a[c] - b[c]) * (a[c] - b[c]);
    return s;
}

}  // namespace

double trustworthiness(const Tensor& x_in, const Tensor& emb_in, int64_t n_neighbors) {
    autograd::NoGradGuard no_grad;
    Tensor x = host_matrix(x_in, DType::f64, "trustworthiness", "x");
    Tensor e = host_matrix(emb_in, DType::f64, "trustworthiness", "x_embedded");
    const int64_t n = x.size(0), f = x.size(1), de = e.size(1);
    MARROW_CHECK(e.size(0) == n, "trustworthiness: x has {} samples but x_embedded has {}", n,
                 e.size(0));
    MARROW_CHECK(n_neighbors >= 1 && double(n_neighbors) < double(n) / 2,
                 "trustworthiness: n_neighbors ({}) should be >= 1 and less than n_samples / 2 "
                 "({})",
                 n_neighbors, double(n) / 2);
    const int64_t k = n_neighbors;
    const double* xp = x.data<double>();
    const double* ep = e.data<double>();
    std::vector<double> sq(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < f; ++c) sq[size_t(i)] += xp[i * f + c] * xp[i * f + c];
    Tensor xt = contiguous(transpose(x, 0, 1));
    const int64_t block = 512;
    double total = 0;
    for (int64_t s = 0; s < n; s += block) {
        int64_t rows = std::min(block, n - s);
        Tensor gram = contiguous(matmul(narrow(x, 0, s, rows), xt));  // (rows, N)
        const double* G = gram.data<double>();
#pragma omp parallel for schedule(static) reduction(+ : total)
        for (int64_t r = 0; r < rows; ++r) {
            int64_t i = s + r;
            // i's k nearest in the embedding (i itself excluded), ties by index.
            std::vector<std::pair<double, int64_t>> near;
            near.reserve(static_cast<size_t>(n));
            for (int64_t j = 0; j < n; ++j)
                if (j != i) near.push_back({sq_dist(ep + i * de, ep + j * de, de), j});
            std::partial_sort(near.begin(), near.begin() + k, near.end());
            // Squared distances in X as sklearn's euclidean_distances computes them.
            std::vector<double> dx(static_cast<size_t>(n));
            for (int64_t j = 0; j < n; ++j)
                dx[size_t(j)] = std::max(sq[size_t(i)] + sq[size_t(j)] - 2 * G[r * n + j], 0.0);
            for (int64_t c = 0; c < k; ++c) {
                int64_t j = near[size_t(c)].second;
                double dj = dx[size_t(j)];
                int64_t rank = 1;  // 1 + the points ahead of j in i's order (i is last)
                for (int64_t l = 0; l < n; ++l)
                    if (l != i && (dx[size_t(l)] < dj || (dx[size_t(l)] == dj && l < j))) ++rank;
                if (rank > k) total += double(rank - k);
            }
        }
    }
    double nd = double(n), kd = double(k);
    return 1.0 - total * (2.0 / (nd * kd * (2.0 * nd - 3.0 * kd - 1.0)));
}

double silhouette_score(const Tensor& x_in, const Tensor& labels_in) {
    autograd::NoGradGuard no_grad;
    Tensor x = host_matrix(x_in, DType::f64, "silhouette_score", "x");
    std::vector<int64_t> raw = labels_to_vector(labels_in, "labels");
    const int64_t n = x.size(0), f = x.size(1);
    MARROW_CHECK(int64_t(raw.size()) == n, "silhouette_score: x has {} samples but labels has {}",
                 n, raw.size());
    std::map<int64_t, int64_t> code;  // LabelEncoder: sorted distinct labels -> 0..L-1
    for (int64_t v : raw) code.emplace(v, 0);
    int64_t n_labels = 0;
    for (auto& [v, c] : code) c = n_labels++;
    MARROW_CHECK(n_labels >= 2 && n_labels <= n - 1,
                 "silhouette_score: number of labels is {}. Valid values are 2 to n_samples - 1 "
                 "= {} (inclusive)",
                 n_labels, n - 1);
    std::vector<int64_t> lab(static_cast<size_t>(n)), freq(static_cast<size_t>(n_labels), 0);
    for (int64_t i = 0; i < n; ++i) {
        lab[size_t(i)] = code[raw[size_t(i)]];
        ++freq[size_t(lab[size_t(i)])];
    }
    const double* xp = x.data<double>();
    double total = 0;
#pragma omp parallel for schedule(dynamic, 16) reduction(+ : total)
    for (int64_t i = 0; i < n; ++i) {
        std::vector<double> sums(static_cast<size_t>(n_labels), 0.0);
        for (int64_t j = 0; j < n; ++j)
            sums[size_t(lab[size_t(j)])] += std::sqrt(sq_dist(xp + i * f, xp + j * f, f));
        int64_t own = lab[size_t(i)];
        if (freq[size_t(own)] == 1) continue;  // silhouette 0
        double a = sums[size_t(own)] / double(freq[size_t(own)] - 1);
        double b = INFINITY;
        for (int64_t c = 0; c < n_labels; ++c)
            if (c != own) b = std::min(b, sums[size_t(c)] / double(freq[size_t(c)]));
        double m = std::max(a, b);
        total += m > 0 ? (b - a) / m : 0.0;  // 0 / 0 -> 0 (sklearn's nan_to_num)
    }
    return total / double(n);
}

}  // namespace marrow::eval
