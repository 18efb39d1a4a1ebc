// Aggregation over runs and bootstrap resamples; see aggregate.h. References: numpy 1.24
// nanmean / nanstd(ddof=1) and percentile (method 'linear', numpy/lib/function_base.py _lerp).
#include "eval/aggregate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tensor/philox.h"

namespace marrow::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

MeanSd mean_sd(const std::vector<double>& values) {
    MeanSd m;
    double sum = 0;
    for (double v : values)
        if (!std::isnan(v)) {
            sum += v;
            ++m.n;
        }
    if (m.n == 0) return {kNaN, kNaN, 0};
    m.mean = sum / double(m.n);
    double ss = 0;  // two-pass: sum of squared deviations from the mean
    for (double v : values)
        if (!std::isnan(v)) ss += (v - m.mean) * (v - m.mean);
    m.sd = m.n < 2 ? kNaN : std::sqrt(ss / double(m.n - 1));
    return m;
}

std::string format_mean_sd(const MeanSd& m, int digits) {
    MARROW_CHECK(digits >= 0 && digits <= 12, "format_mean_sd: {} digits (0-12)", digits);
    if (std::isnan(m.mean)) return "n/a";
    if (std::isnan(m.sd)) return fmt::format("{:.{}f}", m.mean, digits);
    return fmt::format("{:.{}f} ± {:.{}f}", m.mean, digits, m.sd, digits);
}

double percentile(std::vector<double> values, double q) {
    MARROW_CHECK(!values.empty(), "percentile: empty input (no values)");
    MARROW_CHECK(q >= 0 && q <= 100, "percentile: q must lie in [0, 100], got {}", q);
    for (size_t i = 0; i < values.size(); ++i)
        MARROW_CHECK(!std::isnan(values[i]), "percentile: value {} is NaN", i);
    std::sort(values.begin(), values.end());
    double h = (q / 100) * double(values.size() - 1);  // numpy: virtual index q * (n - 1)
    size_t lo = size_t(std::floor(h));
    size_t hi = std::min(lo + 1, values.size() - 1);
    double t = h - double(lo), a = values[lo], b = values[hi];
    // numpy's _lerp: a + (b - a) t, computed from b when t >= 0.5 for symmetry.
    double diff = b - a;
    return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

std::vector<int64_t> bootstrap_indices(int64_t n, int64_t replicate, uint64_t seed) {
    MARROW_CHECK(n > 0 && n < (int64_t(1) << 32),
                 "bootstrap_indices: n must lie in [1, 2^32), got {}", n);
    MARROW_CHECK(replicate >= 0 && replicate < (int64_t(1) << 31),
                 "bootstrap_indices: replicate must lie in [0, 2^31), got {}", replicate);
    std::vector<int64_t> out(static_cast<size_t>(n));
    philox::Block block{};
    for (int64_t i = 0; i < n; ++i) {
        if (i % 4 == 0)
            block = philox::generate(seed, (uint64_t(replicate) << 32) + uint64_t(i / 4));
        out[size_t(i)] = int64_t((uint64_t(block.v[i % 4]) * uint64_t(n)) >> 32);
    }
    return out;
}

namespace {

void check_options(const char* op, const BootstrapOptions& o) {
    MARROW_CHECK(o.n_boot >= 1, "{}: n_boot must be >= 1, got {}", op, o.n_boot);
    MARROW_CHECK(o.alpha > 0 && o.alpha < 1, "{}: alpha must lie in (0, 1), got {}", op, o.alpha);
}

// Runs `metric_of(indices)` on every resample and forms the percentile interval.
template <typename F>
ConfidenceInterval bootstrap(const char* op, int64_t n, double estimate, const BootstrapOptions& o,
                             F metric_of) {
    ConfidenceInterval ci;
    ci.estimate = estimate;
    std::vector<double> stats;
    stats.reserve(size_t(o.n_boot));
    for (int64_t b = 0; b < o.n_boot; ++b) {
        double v = metric_of(bootstrap_indices(n, b, o.seed));
        if (!std::isnan(v)) stats.push_back(v);
    }
    ci.n_valid = int64_t(stats.size());
    MARROW_CHECK(!stats.empty(), "{}: the metric was NaN on all {} resamples", op, o.n_boot);
    ci.lower = percentile(stats, 100 * o.alpha / 2);
    ci.upper = percentile(stats, 100 * (1 - o.alpha / 2));
    return ci;
}

template <typename T>
std::vector<T> gather(const std::vector<T>& v, const std::vector<int64_t>& idx) {
    std::vector<T> out(idx.size());
    for (size_t i = 0; i < idx.size(); ++i) out[i] = v[size_t(idx[i])];
    return out;
}

}  // namespace

ConfidenceInterval bootstrap_ci(const LabelMetric& metric, const std::vector<int64_t>& y_true,
                                const std::vector<int64_t>& y_pred,
                                const BootstrapOptions& options) {
    check_options("bootstrap_ci", options);
    MARROW_CHECK(!y_true.empty(), "bootstrap_ci: empty input (no labels)");
    MARROW_CHECK(y_true.size() == y_pred.size(),
                 "bootstrap_ci: y_true has {} labels but y_pred "
                 "has {}",
                 y_true.size(), y_pred.size());
    return bootstrap("bootstrap_ci", int64_t(y_true.size()), metric(y_true, y_pred), options,
                     [&](const std::vector<int64_t>& idx) {
                         return metric(gather(y_true, idx), gather(y_pred, idx));
                     });
}

ConfidenceInterval bootstrap_ci(const ScoreMetric& metric, const std::vector<int64_t>& y_true,
                                const std::vector<int64_t>& y_pred, const ScoreMatrix& scores,
                                const BootstrapOptions& options) {
    check_options("bootstrap_ci", options);
    MARROW_CHECK(!y_true.empty(), "bootstrap_ci: empty input (no labels)");
    MARROW_CHECK(y_true.size() == y_pred.size() && int64_t(y_true.size()) == scores.rows,
                 "bootstrap_ci: y_true has {} labels, y_pred {} and scores {} rows", y_true.size(),
                 y_pred.size(), scores.rows);
    return bootstrap("bootstrap_ci", int64_t(y_true.size()), metric(y_true, y_pred, scores),
                     options, [&](const std::vector<int64_t>& idx) {
                         ScoreMatrix s;
                         s.rows = scores.rows;
                         s.cols = scores.cols;
                         s.values.resize(scores.values.size());
                         for (size_t i = 0; i < idx.size(); ++i)
                             std::copy_n(scores.values.begin() + idx[i] * scores.cols, scores.cols,
                                         s.values.begin() + int64_t(i) * scores.cols);
                         return metric(gather(y_true, idx), gather(y_pred, idx), s);
                     });
}

}  // namespace marrow::eval
