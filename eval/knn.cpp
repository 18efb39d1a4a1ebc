// Exact kNN by blocked GEMM; see knn.h. References: sklearn/neighbors/_classification.py
// (KNeighborsClassifier.predict / predict_proba), facebookresearch/dino eval_knn.py
// (knn_classifier: the temperature vote).
//
// Ranking. Euclidean: ||q - x||^2 = ||q||^2 - 2 q.x + ||x||^2; ||q||^2 is the same for every
// x of one query, so rows rank by r = ||x||^2 - 2 q.x and d = sqrt(max(r + ||q||^2, 0)).
// Cosine: rows are divided by their norms first, so rank by r = -q.x and d = 1 + r.
// Search: each thread takes 384 queries at a time (packed once for the GEMM) and walks the
// training rows 512 at a time: one serial GEMM writes the (384, 512) score tile (768 KB in
// f32, near the core's L2; the buffer is reused, so no 60k x 10k matrix is ever allocated),
// then each query scans its 512 scores keeping its k best in a sorted list (a score is
// inserted only when it beats the current k-th, which after the first few thousand rows is
// rare: about one compare per score). The training rows are transposed once, so the GEMM
// packs each tile from contiguous row pieces (from the row-major rows it would gather with a
// stride of F: measured 41% of the time).
#include "eval/knn.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/features.h"
#include "tensor/cpu/gemm.h"
#include "tensor/factory.h"

namespace marrow::eval {

namespace {

// Rows scaled to unit L2 norm (a zero row stays zero, so its cosine similarity is 0).
Tensor unit_rows(const Tensor& x) {
    Tensor norms = sqrt(sum(x * x, {1}, true));
    return contiguous(x / where(eq(norms, 0.0), ones_like(norms), norms));
}

// Squared L2 norm of each row, accumulated in f64.
template <typename T>
std::vector<double> squared_norms(const T* x, int64_t rows, int64_t f) {
    std::vector<double> out(size_t(rows), 0.0);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows; ++i) {
        double s = 0;
        for (int64_t j = 0; j < f; ++j) s += double(x[i * f + j]) * double(x[i * f + j]);
        out[size_t(i)] = s;
    }
    return out;
}

// The k smallest ranks seen so far, ascending; equal ranks keep the earlier (lower) index.
struct TopK {
    int64_t k = 0, size = 0;
    double* rank = nullptr;
    int64_t* index = nullptr;

    double worst() const { return size < k ? INFINITY : rank[k - 1]; }
    void insert(double r, int64_t j) {
        int64_t at = size < k ? size : k - 1;
        while (at > 0 && rank[at - 1] > r) {  // shift the worse ones right
            rank[at] = rank[at - 1];
            index[at] = index[at - 1];
            --at;
        }
        rank[at] = r;
        index[at] = j;
        size = std::min(size + 1, k);
    }
};

constexpr int64_t kQueryTile = 384, kTrainTile = 512;

// 64-byte aligned scratch of n elements (the GEMM's packed operands).
template <typename T>
std::unique_ptr<T[], decltype(&std::free)> aligned_buffer(int64_t n) {
    size_t bytes = (size_t(n) * sizeof(T) + 63) / 64 * 64;
    return {static_cast<T*>(std::aligned_alloc(64, bytes)), &std::free};
}

// ranks (m, k) and indices (m, k) of the k nearest of the training rows to each row of q
// (m, f); xt: the training rows transposed, (f, n) row-major; bias: squared training norms
// (euclidean) or null (cosine, rows already unit).
template <typename T>
void search(const T* xt, int64_t n, const T* q, int64_t m, int64_t f, int64_t k,
            const double* bias, int64_t* out_index, double* out_rank) {
    const int64_t blocks = (m + kQueryTile - 1) / kQueryTile;
#pragma omp parallel
    {
        auto packed = aligned_buffer<T>(cpu::packed_a_size<T>(kQueryTile, f));
        auto tile = aligned_buffer<T>(kQueryTile * kTrainTile);
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < blocks; ++b) {
            const int64_t q0 = b * kQueryTile, rows = std::min(kQueryTile, m - q0);
            std::vector<TopK> best(static_cast<size_t>(rows));
            for (int64_t i = 0; i < rows; ++i)
                best[size_t(i)] = {k, 0, out_rank + (q0 + i) * k, out_index + (q0 + i) * k};
            // The block's queries are packed once; each training tile's columns of xt are
            // packed by the GEMM as contiguous row pieces.
            cpu::PackedA<T> a = cpu::pack_a_once<T>(rows, f, q + q0 * f, f, 1, packed.get());
            for (int64_t j0 = 0; j0 < n; j0 += kTrainTile) {
                const int64_t cols = std::min(kTrainTile, n - j0);
                cpu::gemm_serial_packed_a<T>(a, cols, xt + j0, n, 1, nullptr, tile.get(),
                                             kTrainTile, T(1), T(0));
                for (int64_t i = 0; i < rows; ++i) {
                    const T* s = tile.get() + i * kTrainTile;
                    TopK& top = best[size_t(i)];
                    double worst = top.worst();
                    for (int64_t j = 0; j < cols; ++j) {
                        double r = bias ? bias[j0 + j] - 2 * double(s[j]) : -double(s[j]);
                        if (r < worst) {
                            top.insert(r, j0 + j);
                            worst = top.worst();
                        }
                    }
                }
            }
        }
    }
}

}  // namespace

Neighbors kneighbors(const Tensor& train, const Tensor& query, int64_t k, KnnMetric metric) {
    autograd::NoGradGuard no_grad;
    check_features(train, "kneighbors", "train");
    check_features(query, "kneighbors", "query");
    MARROW_CHECK(train.size(1) == query.size(1),
                 "kneighbors: train has {} features (shape {}) but query has {} (shape {})",
                 train.size(1), train.shape(), query.size(1), query.shape());
    int64_t n = train.size(0), m = query.size(0);
    MARROW_CHECK(k >= 1 && k <= n, "kneighbors: k = {} must lie in [1, {}] (the training rows)",
                 k, n);
    DType dt = train.dtype() == DType::f64 || query.dtype() == DType::f64 ? DType::f64
                                                                           : DType::f32;
    Tensor x = contiguous(to(train, Device::cpu(), dt));
    Tensor q = contiguous(to(query, Device::cpu(), dt));
    if (metric == KnnMetric::cosine) {
        x = unit_rows(x);
        q = unit_rows(q);
    }
    Neighbors out{empty({m, k}, DType::i64), empty({m, k}, DType::f64), metric};
    int64_t* index = out.indices.data<int64_t>();
    double* dist = out.distances.data<double>();
    std::vector<double> x_sq, q_sq;  // squared norms, for the euclidean ranking
    int64_t f = x.size(1);
    auto run = [&](auto tag) {
        using T = decltype(tag);
        if (metric == KnnMetric::euclidean) {
            x_sq = squared_norms(x.data<T>(), n, f);
            q_sq = squared_norms(q.data<T>(), m, f);
        }
        Tensor xt = contiguous(transpose(x, 0, 1));  // (F, N)
        search(xt.data<T>(), n, q.data<T>(), m, f, k, x_sq.empty() ? nullptr : x_sq.data(),
               index, dist);
    };
    if (dt == DType::f64)
        run(double{});
    else
        run(float{});
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < k; ++j) {
            double& d = dist[i * k + j];
            d = metric == KnnMetric::cosine ? 1 + d : std::sqrt(std::max(d + q_sq[size_t(i)], 0.0));
        }
    return out;
}

Tensor knn_vote(const Neighbors& neighbors, const Tensor& train_labels, int64_t k,
                const KnnVoteOptions& vote, int64_t num_classes) {
    int64_t m = neighbors.indices.size(0), width = neighbors.indices.size(1);
    MARROW_CHECK(k >= 1 && k <= width, "knn_vote: k = {} must lie in [1, {}] (the search's k)",
                 k, width);
    MARROW_CHECK(num_classes >= 1, "knn_vote: num_classes must be >= 1, got {}", num_classes);
    MARROW_CHECK(vote.vote != KnnVote::temperature || neighbors.metric == KnnMetric::cosine,
                 "knn_vote: the temperature vote weighs cosine similarities; search with "
                 "KnnMetric::cosine");
    MARROW_CHECK(vote.temperature > 0, "knn_vote: temperature must be > 0, got {}",
                 vote.temperature);
    std::vector<int64_t> labels =
        check_labels(train_labels, train_labels.dim() == 1 ? train_labels.size(0) : -1,
                     "knn_vote", num_classes);
    const int64_t* index = neighbors.indices.data<int64_t>();
    for (int64_t i = 0; i < m * width; ++i)
        MARROW_CHECK(index[i] >= 0 && index[i] < int64_t(labels.size()),
                     "knn_vote: neighbour row {} but only {} training labels (labels of "
                     "another training set?)",
                     index[i], labels.size());
    Tensor proba = zeros({m, num_classes}, DType::f64);
    const double* dist = neighbors.distances.data<double>();
    double* p = proba.data<double>();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m; ++i) {
        const int64_t* nb = index + i * width;
        const double* d = dist + i * width;
        double* row = p + i * num_classes;
        // sklearn's distance weights: 1/d, but if any neighbour is at distance 0, those
        // neighbours alone vote (weight 1 each).
        bool exact = vote.vote == KnnVote::distance && std::any_of(d, d + k, [](double v) {
                         return v == 0;
                     });
        double total = 0;
        for (int64_t j = 0; j < k; ++j) {
            double w = 1;
            if (vote.vote == KnnVote::distance) w = exact ? double(d[j] == 0) : 1 / d[j];
            if (vote.vote == KnnVote::temperature) w = std::exp((1 - d[j]) / vote.temperature);
            row[labels[size_t(nb[j])]] += w;
            total += w;
        }
        for (int64_t c = 0; c < num_classes; ++c) row[c] /= total;
    }
    return proba;
}

Tensor argmax_lowest(const Tensor& proba) {
    MARROW_CHECK(proba.dim() == 2 && proba.dtype() == DType::f64,
                 "argmax_lowest: expected (M, C) f64 probabilities, got {} of shape {}",
                 proba.dtype(), proba.shape());
    Tensor p = contiguous(proba);
    int64_t m = p.size(0), c = p.size(1);
    std::vector<int64_t> pred(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) {
        const double* row = p.data<double>() + i * c;
        pred[size_t(i)] = std::max_element(row, row + c) - row;  // first of equal maxima
    }
    return from_vector<int64_t>(pred, {m});  // (M), also for one row
}

KNeighborsClassifier::KNeighborsClassifier(KNeighborsOptions options)
    : options_(options), train_x_(zeros({0})), train_y_(zeros({0})) {
    MARROW_CHECK(options.k >= 1, "KNeighborsClassifier: k must be >= 1, got {}", options.k);
}

KNeighborsClassifier& KNeighborsClassifier::fit(const Tensor& x, const Tensor& y,
                                                int64_t num_classes) {
    check_features(x, "KNeighborsClassifier.fit");
    std::vector<int64_t> labels = check_labels(y, x.size(0), "KNeighborsClassifier.fit",
                                               num_classes);
    MARROW_CHECK(options_.k <= x.size(0),
                 "KNeighborsClassifier.fit: k = {} but only {} training rows", options_.k,
                 x.size(0));
    num_classes_ =
        num_classes >= 0 ? num_classes : 1 + *std::max_element(labels.begin(), labels.end());
    train_x_ = x;
    train_y_ = y;
    fitted_ = true;
    return *this;
}

Tensor KNeighborsClassifier::predict_proba(const Tensor& x) const {
    MARROW_CHECK(fitted_, "KNeighborsClassifier.predict_proba: the model is not fitted");
    Neighbors nb = kneighbors(train_x_, x, options_.k, options_.metric);
    return knn_vote(nb, train_y_, options_.k, options_.vote, num_classes_);
}

Tensor KNeighborsClassifier::predict(const Tensor& x) const {
    return argmax_lowest(predict_proba(x));
}

}  // namespace marrow::eval
