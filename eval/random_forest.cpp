// Random forest classifier; see random_forest.h. References: sklearn/ensemble/_forest.py
// (BaseForest.fit, _parallel_build_trees, _generate_sample_indices, predict_proba,
// feature_importances_) and sklearn/tree/_classes.py (BaseDecisionTree.fit's option checks).
#include "eval/random_forest.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>

#include "autograd/ops.h"
#include "eval/metrics.h"

namespace marrow::eval {

int64_t MaxFeatures::resolve(int64_t n_features) const {
    switch (kind) {
        case Kind::sqrt:
            return std::max<int64_t>(1, int64_t(std::sqrt(double(n_features))));
        case Kind::log2:
            return std::max<int64_t>(1, int64_t(std::log2(double(n_features))));
        case Kind::fraction:
            MARROW_CHECK(value > 0 && value <= 1,
                         "RandomForestClassifier: max_features fraction must be in (0, 1], "
                         "got {}",
                         value);
            return std::max<int64_t>(1, int64_t(value * double(n_features)));
        case Kind::count:
            MARROW_CHECK(value >= 1 && value <= double(n_features),
                         "RandomForestClassifier: max_features must be in [1, {}] (the number "
                         "of features), got {}",
                         n_features, int64_t(value));
            return int64_t(value);
        case Kind::all:
            return n_features;
    }
    return n_features;
}

RandomForestClassifier::RandomForestClassifier(RandomForestOptions options) : options_(options) {
    MARROW_CHECK(options.n_estimators >= 1,
                 "RandomForestClassifier: n_estimators must be >= 1, got {}", options.n_estimators);
    MARROW_CHECK(options.max_depth == -1 || options.max_depth >= 1,
                 "RandomForestClassifier: max_depth must be >= 1 or -1 (unlimited), got {}",
                 options.max_depth);
    MARROW_CHECK(options.min_samples_split >= 2,
                 "RandomForestClassifier: min_samples_split must be >= 2, got {}",
                 options.min_samples_split);
    MARROW_CHECK(options.min_samples_leaf >= 1,
                 "RandomForestClassifier: min_samples_leaf must be >= 1, got {}",
                 options.min_samples_leaf);
    MARROW_CHECK(options.n_threads >= 0,
                 "RandomForestClassifier: n_threads must be >= 0 (0: OpenMP's default), got {}",
                 options.n_threads);
}

Tensor RandomForestClassifier::prepare(const Tensor& x, const char* op) const {
    MARROW_CHECK(x.dim() == 2 && is_floating(x.dtype()),
                 "RandomForestClassifier.{}: x must be a 2-D floating tensor (N, F), got {} of "
                 "shape {}",
                 op, x.dtype(), x.shape());
    if (fitted())
        MARROW_CHECK(x.size(1) == n_features_,
                     "RandomForestClassifier.{}: x has {} features (shape {}), the forest was "
                     "fit on {}",
                     op, x.size(1), x.shape(), n_features_);
    MARROW_CHECK(x.size(0) > 0 && x.size(1) > 0,
                 "RandomForestClassifier.{}: empty input x of shape {}", op, x.shape());
    Tensor xf = contiguous(to(detach(x), Device::cpu(), DType::f32));
    const float* p = xf.data<float>();
    const int64_t n = xf.size(0), f = xf.size(1);
    int64_t first_bad = n;  // the lowest row holding a NaN or an infinity
#pragma omp parallel for schedule(static) reduction(min : first_bad)
    for (int64_t i = 0; i < n; ++i) {
        bool finite = true;
        for (int64_t j = 0; j < f; ++j) finite &= std::isfinite(p[i * f + j]);
        if (!finite) first_bad = std::min(first_bad, i);
    }
    if (first_bad < n) {
        const float* row = p + first_bad * f;
        int64_t j = std::find_if(row, row + f, [](float v) { return !std::isfinite(v); }) - row;
        fail("RandomForestClassifier.{}: x[{}, {}] is {} (row {} is not finite)", op, first_bad, j,
             row[j], first_bad);
    }
    return xf;
}

RandomForestClassifier& RandomForestClassifier::fit(const Tensor& x, const Tensor& y,
                                                    int64_t num_classes) {
    MARROW_CHECK(x.dim() == 2 && y.dim() == 1,
                 "RandomForestClassifier.fit: x must be (N, F) and y (N), got x {} and y {}",
                 x.shape(), y.shape());
    MARROW_CHECK(x.size(0) == y.size(0),
                 "RandomForestClassifier.fit: x has {} samples but y has {} labels", x.size(0),
                 y.size(0));
    MARROW_CHECK(y.dtype() == DType::i64, "RandomForestClassifier.fit: y must be int64, got {}",
                 y.dtype());
    trees_.clear();
    Tensor xf = prepare(x, "fit");
    const int64_t n = xf.size(0), f = xf.size(1);
    MARROW_CHECK(n < (int64_t(1) << 31),
                 "RandomForestClassifier.fit: {} samples, at most 2^31 - 1 supported", n);
    std::vector<int64_t> labels = labels_to_vector(y, "y");
    int64_t lo = *std::min_element(labels.begin(), labels.end());
    int64_t hi = *std::max_element(labels.begin(), labels.end());
    MARROW_CHECK(lo >= 0, "RandomForestClassifier.fit: labels are class indices, got {}", lo);
    if (num_classes < 0) num_classes = hi + 1;
    MARROW_CHECK(hi < num_classes,
                 "RandomForestClassifier.fit: label {} is out of range [0, {}) (num_classes)", hi,
                 num_classes);

    TreeGrowOptions grow;
    grow.max_features = options_.max_features.resolve(f);
    grow.max_depth = options_.max_depth < 0 ? INT64_MAX : options_.max_depth;
    grow.min_samples_leaf = options_.min_samples_leaf;
    grow.min_samples_split = std::max(options_.min_samples_split, 2 * options_.min_samples_leaf);
    grow.histogram_min_samples = options_.histogram_min_samples;
    grow.block_max_samples = options_.block_max_samples;
    const TreeTrainingSet data = TreeTrainingSet::build(xf.data<float>(), n, f, labels.data(),
                                                        num_classes, options_.bin_features);

    const int64_t n_trees = options_.n_estimators;
    std::vector<DecisionTree> trees(static_cast<size_t>(n_trees));
    std::exception_ptr error;
    const int threads = options_.n_threads > 0 ? options_.n_threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t t = 0; t < n_trees; ++t) {
        try {
            // sklearn's _generate_sample_indices: n draws with replacement, as counts.
            std::vector<int32_t> weight(size_t(n), options_.bootstrap ? 0 : 1);
            if (options_.bootstrap) {
                PhiloxStream draws(options_.seed, uint64_t(2 * t));
                for (int64_t i = 0; i < n; ++i) ++weight[size_t(draws.uniform_int(0, n))];
            }
            PhiloxStream features(options_.seed, uint64_t(2 * t + 1));
            trees[size_t(t)].fit(data, weight, grow, features);
        } catch (...) {
#pragma omp critical(marrow_forest_error)
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
    trees_ = std::move(trees);
    n_classes_ = num_classes;
    n_features_ = f;
    return *this;
}

Tensor RandomForestClassifier::predict_proba(const Tensor& x) const {
    MARROW_CHECK(fitted(),
                 "RandomForestClassifier.predict_proba: the forest is not fitted "
                 "(call fit first)");
    Tensor xf = prepare(x, "predict_proba");
    const int64_t m = xf.size(0), f = n_features_, C = n_classes_;
    Tensor out = zeros({m, C}, DType::f64);
    const float* px = xf.data<float>();
    double* po = out.data<double>();
    // Blocks of rows, trees in order within a row: the sum is the same on any thread count.
    constexpr int64_t kBlock = 256;
    const int threads = options_.n_threads > 0 ? options_.n_threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t b = 0; b < (m + kBlock - 1) / kBlock; ++b) {
        const int64_t r0 = b * kBlock, r1 = std::min(m, r0 + kBlock);
        for (const DecisionTree& tree : trees_)
            for (int64_t r = r0; r < r1; ++r) tree.add_proba(px + r * f, po + r * C);
        for (int64_t i = r0 * C; i < r1 * C; ++i) po[i] /= double(trees_.size());
    }
    return out;
}

Tensor RandomForestClassifier::predict(const Tensor& x) const {
    Tensor proba = predict_proba(x);
    const int64_t m = proba.size(0), C = proba.size(1);
    const double* p = proba.data<double>();
    std::vector<int64_t> pred(static_cast<size_t>(m));
    for (int64_t r = 0; r < m; ++r) {
        int64_t best = 0;
        for (int64_t c = 1; c < C; ++c)
            if (p[r * C + c] > p[r * C + best]) best = c;
        pred[size_t(r)] = best;
    }
    return from_vector<int64_t>(pred, {m});
}

Tensor RandomForestClassifier::feature_importances() const {
    MARROW_CHECK(fitted(),
                 "RandomForestClassifier.feature_importances: the forest is not "
                 "fitted (call fit first)");
    std::vector<double> mean(size_t(n_features_), 0.0);
    int64_t used = 0;
    for (const DecisionTree& tree : trees_) {
        if (tree.node_count() <= 1) continue;
        for (int64_t f = 0; f < n_features_; ++f)
            mean[size_t(f)] += tree.feature_importances()[size_t(f)];
        ++used;
    }
    double total = 0;
    for (double& v : mean) total += (v /= double(std::max<int64_t>(used, 1)));
    if (total > 0)
        for (double& v : mean) v /= total;
    return from_vector<double>(mean, {n_features_});
}

}  // namespace marrow::eval
