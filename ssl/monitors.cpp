// Collapse and NaN monitors; see monitors.h for the formulas and their sources.
#include "ssl/monitors.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/dense_linalg.h"
#include "eval/metrics.h"

namespace marrow::ssl {

namespace {

// A (B, K) floating tensor as a contiguous CPU float64 copy (no graph is recorded).
Tensor host_matrix(const Tensor& t, const char* what) {
    MARROW_CHECK(t.dim() == 2 && is_floating(t.dtype()),
                 "{}: expected a (B, K) floating tensor, got {} of shape {}", what, t.dtype(),
                 t.shape());
    MARROW_CHECK(t.size(0) >= 1 && t.size(1) >= 1, "{}: empty tensor of shape {}", what, t.shape());
    autograd::NoGradGuard no_grad;
    return t.to(Device::cpu(), DType::f64).contiguous();
}

// -sum p ln p of one row (0 ln 0 = 0).
double row_entropy(const double* p, int64_t k) {
    double h = 0;
    for (int64_t j = 0; j < k; ++j)
        if (p[j] > 0) h -= p[j] * std::log(p[j]);
    return h;
}

Tensor checked_probs(const Tensor& probs, const char* what) {
    Tensor q = host_matrix(probs, what);
    int64_t b = q.size(0), k = q.size(1);
    const double* p = q.data<double>();
    for (int64_t i = 0; i < b; ++i) {
        double s = 0;
        for (int64_t j = 0; j < k; ++j) {
            MARROW_CHECK(p[i * k + j] >= 0, "{}: probabilities expected, row {} has {} at {}", what,
                         i, p[i * k + j], j);
            s += p[i * k + j];
        }
        MARROW_CHECK(std::abs(s - 1) <= 1e-3,
                     "{}: probabilities expected (rows summing to 1), row {} sums to {} (softmax "
                     "the logits first)",
                     what, i, s);
    }
    return q;
}

}  // namespace

double mean_entropy(const Tensor& probs) {
    Tensor q = checked_probs(probs, "mean_entropy");
    int64_t b = q.size(0), k = q.size(1);
    double h = 0;
    for (int64_t i = 0; i < b; ++i) h += row_entropy(q.data<double>() + i * k, k);
    return h / double(b);
}

double kl_to_uniform(const Tensor& probs) {
    Tensor q = checked_probs(probs, "kl_to_uniform");
    int64_t b = q.size(0), k = q.size(1);
    std::vector<double> mean(size_t(k), 0.0);
    const double* p = q.data<double>();
    for (int64_t i = 0; i < b; ++i)
        for (int64_t j = 0; j < k; ++j) mean[size_t(j)] += p[i * k + j] / double(b);
    // KL(m || u) = sum m ln(m K) = ln K - H(m); clamped at 0 against rounding.
    return std::max(0.0, std::log(double(k)) - row_entropy(mean.data(), k));
}

double embedding_std(const Tensor& z) {
    Tensor x = host_matrix(z, "embedding_std");
    int64_t b = x.size(0), d = x.size(1);
    MARROW_CHECK(b >= 2, "embedding_std: needs a batch of at least 2 rows, got shape {}",
                 z.shape());
    std::vector<double> hat(size_t(b * d));
    const double* p = x.data<double>();
    for (int64_t i = 0; i < b; ++i) {
        double n = 0;
        for (int64_t j = 0; j < d; ++j) n += p[i * d + j] * p[i * d + j];
        n = std::max(std::sqrt(n), 1e-12);  // F.normalize's eps
        for (int64_t j = 0; j < d; ++j) hat[size_t(i * d + j)] = p[i * d + j] / n;
    }
    double total = 0;
    for (int64_t j = 0; j < d; ++j) {
        double mean = 0;
        for (int64_t i = 0; i < b; ++i) mean += hat[size_t(i * d + j)];
        mean /= double(b);
        double var = 0;
        for (int64_t i = 0; i < b; ++i) {
            double dv = hat[size_t(i * d + j)] - mean;
            var += dv * dv;
        }
        total += std::sqrt(var / double(b - 1));  // torch.std's unbiased default
    }
    return total / double(d);
}

double effective_rank(const Tensor& z) {
    Tensor x = host_matrix(z, "effective_rank");
    int64_t b = x.size(0), d = x.size(1);
    // The nonzero singular values of z are the square roots of the eigenvalues of the smaller
    // Gram matrix: z z^T (B x B) or z^T z (d x d).
    autograd::NoGradGuard no_grad;
    Tensor gram = (b <= d ? matmul(x, x.t()) : matmul(x.t(), x)).contiguous();
    int64_t n = std::min(b, d);
    std::vector<double> a(gram.data<double>(), gram.data<double>() + n * n), values, vectors;
    eval::linalg::symmetric_eigen(a, n, values, vectors);
    double top = 0;
    for (double& v : values) {
        v = std::sqrt(std::max(v, 0.0));  // rounding can leave tiny negative eigenvalues
        top = std::max(top, v);
    }
    if (top <= 0) return 1;  // all-zero embeddings: one (degenerate) direction at most
    // Singular values below 1e-5 * top are zero: the Gram's eigenvalues carry rounding errors
    // of ~ n eps top^2, which the square root lifts to ~ 1e-7 * top; a real direction that
    // weak adds nothing measurable to the entropy.
    double sum = 0;
    for (double& v : values) {
        if (v <= 1e-5 * top) v = 0;
        sum += v;
    }
    double h = 0;
    for (double v : values)
        if (v > 0) h -= v / sum * std::log(v / sum);
    return std::exp(h);
}

CollapseDetector::CollapseDetector(CollapseThresholds thresholds) : thresholds_(thresholds) {
    MARROW_CHECK(thresholds_.patience >= 1, "CollapseDetector: patience must be >= 1, got {}",
                 thresholds_.patience);
}

void CollapseDetector::check(const std::string& signal, bool crossed, double value,
                             double threshold, int64_t epoch, const std::string& what,
                             std::vector<CollapseWarning>& out) {
    auto it = std::find_if(state_.begin(), state_.end(),
                           [&](const auto& s) { return s.first == signal; });
    if (it == state_.end()) it = state_.insert(state_.end(), {signal, State{}});
    State& s = it->second;
    if (!crossed) {
        s = State{};
        return;
    }
    if (s.run++ == 0) s.since = epoch;
    if (s.fired || s.run < thresholds_.patience) return;
    s.fired = true;
    CollapseWarning w{signal, value, threshold, s.since, ""};
    w.message = fmt::format(
        "collapse warning: {} (signal {}: value {:.6g}, threshold {:.6g}; "
        "since epoch {})",
        what, signal, value, threshold, s.since);
    out.push_back(w);
    warnings_.push_back(w);
}

std::vector<CollapseWarning> CollapseDetector::update(const CollapseSignals& s) {
    const CollapseThresholds& t = thresholds_;
    std::vector<CollapseWarning> out;
    if (s.embedding_std) {
        MARROW_CHECK(s.dim > 0, "CollapseDetector: embedding_std given without dim");
        double thr = t.std_fraction / std::sqrt(double(s.dim));
        check("embedding_std", *s.embedding_std < thr, *s.embedding_std, thr, s.epoch,
              fmt::format("the embeddings stopped varying (std of l2-normalized embeddings "
                          "far below 1/sqrt(d) = {:.4g})",
                          1 / std::sqrt(double(s.dim))),
              out);
    }
    if (s.effective_rank) {
        MARROW_CHECK(s.dim > 0, "CollapseDetector: effective_rank given without dim");
        const int64_t span = s.rows > 0 ? std::min(s.rows, s.dim) : s.dim;
        double thr = std::max(t.rank_min, t.rank_fraction * double(span));
        check("effective_rank", *s.effective_rank < thr, *s.effective_rank, thr, s.epoch,
              fmt::format("the embeddings span few directions (effective rank of d = {})", s.dim),
              out);
    }
    if (s.teacher_entropy) {
        MARROW_CHECK(s.ln_k, "CollapseDetector: teacher_entropy given without ln_k");
        double thr = (1 - t.uniform_margin) * *s.ln_k;
        const std::string what =
            s.sinkhorn_codes
                ? fmt::format("the Sinkhorn codes are uniform over the K prototypes (entropy "
                              "at ln K = {:.4f}): the prototypes do not tell the images apart "
                              "(lower epsilon or the lr, check the prototypes' freeze)",
                              *s.ln_k)
                : fmt::format("the teacher is uniform over its K outputs (entropy at ln K = "
                              "{:.4f}): centering dominates (lower the teacher temperature, "
                              "check the head)",
                              *s.ln_k);
        check("teacher_uniform", *s.teacher_entropy >= thr, *s.teacher_entropy, thr, s.epoch,
              what, out);
    }
    if (s.teacher_kl_uniform && !s.sinkhorn_codes) {
        MARROW_CHECK(s.ln_k, "CollapseDetector: teacher_kl_uniform given without ln_k");
        const double outputs = std::exp(*s.ln_k - *s.teacher_kl_uniform);
        check("teacher_onehot", outputs < t.onehot_outputs, outputs, t.onehot_outputs, s.epoch,
              fmt::format("the teacher sends every image to the same few of its {:.0f} outputs "
                          "(exp of the batch-mean entropy): sharpening dominates (check the "
                          "centering, raise the teacher temperature)",
                          std::exp(*s.ln_k)),
              out);
    }
    if (!s.teacher_entropy && s.loss && s.ln_k) {
        const bool at_ln_k = std::abs(*s.loss - *s.ln_k) <= t.uniform_margin * *s.ln_k;
        check("loss_at_ln_k", at_ln_k, *s.loss, *s.ln_k, s.epoch,
              fmt::format("the loss sits at ln K = {:.4f}, the value of uniform outputs", *s.ln_k),
              out);
    }
    return out;
}

void check_finite(const Tensor& t, int64_t step, const std::string& term,
                  const std::string& tensor_name) {
    if (!is_floating(t.dtype()) || t.numel() == 0) return;
    autograd::NoGradGuard no_grad;
    if (all(isfinite(t)).item() != 0) return;
    Tensor h = t.to(Device::cpu(), DType::f64).contiguous();
    const double* p = h.data<double>();
    int64_t first = -1, bad = 0;
    for (int64_t i = 0; i < h.numel(); ++i)
        if (!std::isfinite(p[i])) {
            if (first < 0) first = i;
            ++bad;
        }
    // The flat index as a multi-index (row-major), e.g. (3, 17).
    std::vector<int64_t> index(size_t(t.dim()));
    for (int64_t d = t.dim() - 1, r = first; d >= 0; --d) {
        index[size_t(d)] = r % t.size(d);
        r /= t.size(d);
    }
    throw NonFiniteError(fmt::format(
        "non-finite value at step {}, loss term '{}', tensor '{}' of shape {}: {} at index ({}); "
        "{} of {} "
        "elements non-finite",
        step, term, tensor_name, t.shape(), p[first], fmt::join(index, ", "), bad, t.numel()));
}

double knn_monitor_accuracy(const Tensor& train_x, const Tensor& train_y, const Tensor& query_x,
                            const Tensor& query_y, const KnnMonitorOptions& options) {
    MARROW_CHECK(options.k >= 1, "knn_monitor: k must be >= 1, got {}", options.k);
    MARROW_CHECK(train_x.dim() == 2 && train_x.size(0) >= 1 && query_x.dim() == 2 &&
                     train_x.size(1) == query_x.size(1),
                 "knn_monitor: train (N, D) and query (M, D) features expected, got {} and {}",
                 train_x.shape(), query_x.shape());
    std::vector<int64_t> ty = eval::labels_to_vector(train_y, "knn_monitor train labels");
    std::vector<int64_t> qy = eval::labels_to_vector(query_y, "knn_monitor query labels");
    MARROW_CHECK(int64_t(ty.size()) == train_x.size(0) && int64_t(qy.size()) == query_x.size(0),
                 "knn_monitor: {} train rows with {} labels, {} query rows with {} labels",
                 train_x.size(0), ty.size(), query_x.size(0), qy.size());
    if (qy.empty()) return 0;
    int64_t classes = 1;
    for (int64_t l : ty) classes = std::max(classes, l + 1);
    for (int64_t l : qy) classes = std::max(classes, l + 1);
    int64_t k = std::min(options.k, train_x.size(0));
    bool dino = options.vote == KnnMonitorVote::dino;
    eval::Neighbors nb = eval::kneighbors(
        train_x, query_x, k, dino ? eval::KnnMetric::cosine : eval::KnnMetric::euclidean);
    Tensor proba = eval::knn_vote(
        nb, train_y.to(Device::cpu(), DType::i64), k,
        {.vote = dino ? eval::KnnVote::temperature : eval::KnnVote::uniform}, classes);
    std::vector<int64_t> pred = eval::labels_to_vector(eval::argmax_lowest(proba), "knn_monitor");
    int64_t right = 0;
    for (size_t i = 0; i < qy.size(); ++i) right += pred[i] == qy[i];
    return double(right) / double(qy.size());
}

double knn_monitor_accuracy(const Tensor& x, const Tensor& y, const KnnMonitorOptions& options) {
    MARROW_CHECK(x.dim() == 2 && x.size(0) >= 5,
                 "knn_monitor: needs (N >= 5, D) features to hold out every 5th row, got {}",
                 x.shape());
    std::vector<int64_t> train, query;
    for (int64_t i = 0; i < x.size(0); ++i) (i % 5 == 4 ? query : train).push_back(i);
    auto rows = [](const Tensor& t, const std::vector<int64_t>& idx) {
        return index_select(t, 0, from_vector(idx, {int64_t(idx.size())}).to(t.device()));
    };
    autograd::NoGradGuard no_grad;
    return knn_monitor_accuracy(rows(x, train), rows(y, train), rows(x, query), rows(y, query),
                                options);
}

}  // namespace marrow::ssl
