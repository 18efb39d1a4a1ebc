// Exact kNN by blocked GEMM; see knn.h. References: sklearn/neighbors/_classification.py
// (KNeighborsClassifier.predict / predict_proba), facebookresearch/dino eval_knn.py
// (knn_classifier: the temperature vote).
//
// Ranking. Euclidean: ||q - x||^2 = ||q||^2 - 2 q.x + ||x||^2; ||q||^2 is the same for every
// x of one query, so rows rank by r = ||x||^2 - 2 q.x and d = sqrt(max(r + ||q||^2, 0)).
// Cosine: rows are divided by their norms first, so rank by r = -q.x and d = 1 + r.
// One block of queries (B, F) against all training rows: S = Q X' (B, N) by the GEMM, then
// each query row scans its N scores keeping the k best in a sorted list (a candidate is
// inserted only when it beats the current k-th, which after the first few hundred rows is
// rare, so the scan costs about one compare per score).
#include "eval/knn.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/features.h"
#include "tensor/factory.h"

namespace marrow::eval {

namespace {

// Rows scaled to unit L2 norm (a zero row stays zero, so its cosine similarity is 0).
Tensor unit_rows(const Tensor& x) {
    Tensor norms = sqrt(sum(x * x, {1}, true));
    return x / where(eq(norms, 0.0), ones_like(norms), norms);
}

template <typename T>
void select_block(const T* scores, int64_t rows, int64_t n, int64_t k, const double* bias,
                  int64_t* out_index, double* out_rank) {
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t i = 0; i < rows; ++i) {
        const T* s = scores + i * n;
        std::vector<double> best_rank;  // ascending, at most k
        std::vector<int64_t> best_index;
        best_rank.reserve(size_t(k) + 1);
        best_index.reserve(size_t(k) + 1);
        for (int64_t j = 0; j < n; ++j) {
            double r = bias ? bias[j] - 2 * double(s[j]) : -double(s[j]);
            if (int64_t(best_rank.size()) == k && !(r < best_rank.back())) continue;
            // upper_bound: an equal rank goes after the ones already there (lower index first)
            size_t at = size_t(std::upper_bound(best_rank.begin(), best_rank.end(), r) -
                               best_rank.begin());
            best_rank.insert(best_rank.begin() + ptrdiff_t(at), r);
            best_index.insert(best_index.begin() + ptrdiff_t(at), j);
            if (int64_t(best_rank.size()) > k) {
                best_rank.pop_back();
                best_index.pop_back();
            }
        }
        std::copy(best_rank.begin(), best_rank.end(), out_rank + i * k);
        std::copy(best_index.begin(), best_index.end(), out_index + i * k);
    }
}

}  // namespace

Neighbors kneighbors(const Tensor& train, const Tensor& query, int64_t k, KnnMetric metric,
                     int64_t memory_bytes) {
    autograd::NoGradGuard no_grad;
    check_features(train, "kneighbors", "train");
    check_features(query, "kneighbors", "query");
    MARROW_CHECK(train.size(1) == query.size(1),
                 "kneighbors: train has {} features (shape {}) but query has {} (shape {})",
                 train.size(1), train.shape(), query.size(1), query.shape());
    int64_t n = train.size(0), m = query.size(0);
    MARROW_CHECK(k >= 1 && k <= n, "kneighbors: k = {} must lie in [1, {}] (the training rows)",
                 k, n);
    MARROW_CHECK(memory_bytes > 0, "kneighbors: memory_bytes must be > 0, got {}",
                 memory_bytes);
    DType dt = train.dtype() == DType::f64 || query.dtype() == DType::f64 ? DType::f64
                                                                           : DType::f32;
    Tensor x = contiguous(to(train, Device::cpu(), dt));
    Tensor q = contiguous(to(query, Device::cpu(), dt));
    std::optional<Tensor> x_sq, q_sq;  // squared norms (f64) for the euclidean ranking
    if (metric == KnnMetric::cosine) {
        x = contiguous(unit_rows(x));
        q = contiguous(unit_rows(q));
    } else {
        x_sq = contiguous(sum(to(x, DType::f64) * to(x, DType::f64), {1}));
        q_sq = contiguous(sum(to(q, DType::f64) * to(q, DType::f64), {1}));
    }
    Tensor xt = transpose(x, 0, 1);  // (F, N): the GEMM packs it, no copy needed
    int64_t block = std::clamp<int64_t>(memory_bytes / (n * int64_t(dtype_size(dt))), 1, m);

    Neighbors out{empty({m, k}, DType::i64), empty({m, k}, DType::f64), metric};
    int64_t* index = out.indices.data<int64_t>();
    double* dist = out.distances.data<double>();
    const double* bias = x_sq ? x_sq->data<double>() : nullptr;
    for (int64_t start = 0; start < m; start += block) {
        int64_t rows = std::min(block, m - start);
        Tensor scores = mm(q.narrow(0, start, rows), xt);  // (rows, N) = Q X'
        if (dt == DType::f64)
            select_block(scores.data<double>(), rows, n, k, bias, index + start * k,
                         dist + start * k);
        else
            select_block(scores.data<float>(), rows, n, k, bias, index + start * k,
                         dist + start * k);
    }
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < k; ++j) {
            double& d = dist[i * k + j];
            d = metric == KnnMetric::cosine ? 1 + d
                                             : std::sqrt(std::max(d + q_sq->data<double>()[i], 0.0));
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
    return from_vector<int64_t>(pred);
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
    Neighbors nb = kneighbors(train_x_, x, options_.k, options_.metric, options_.memory_bytes);
    return knn_vote(nb, train_y_, options_.k, options_.vote, num_classes_);
}

Tensor KNeighborsClassifier::predict(const Tensor& x) const {
    return argmax_lowest(predict_proba(x));
}

}  // namespace marrow::eval
