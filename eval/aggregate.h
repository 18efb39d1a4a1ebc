// Aggregating a metric over runs and resamples: mean +- sd over folds x seeds, numpy's
// percentile, and percentile-bootstrap confidence intervals of any metric.
//
// The sd is the sample standard deviation (ddof = 1: divide by n - 1), the one published
// "mean +- s.d." tables and pandas' DataFrame.std() use (numpy's np.std defaults to ddof = 0,
// which is smaller by sqrt((n - 1) / n)). NaN values (a fold where a metric is undefined) are
// skipped, as pandas' skipna and CLAM's nanmean do; n says how many values were used.
//
//   eval::MeanSd f1 = eval::mean_sd(per_fold_and_seed_f1);        // 0.86 +- 0.05 (n = 15)
//   auto ci = eval::bootstrap_ci(
//       [](const auto& t, const auto& p) { return eval::balanced_accuracy(t, p); },
//       y_true, y_pred, {.n_boot = 1000, .alpha = 0.05, .seed = 0});
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eval/ranking_metrics.h"

namespace marrow::eval {

struct MeanSd {
    double mean = 0;  // NaN when no value is finite
    double sd = 0;    // ddof = 1; NaN when fewer than two values
    int64_t n = 0;    // values used (NaN skipped)
};

// Mean and sample sd (ddof = 1) of the non-NaN values (numpy nanmean, nanstd(ddof=1)).
// Infinite values are kept (they make the mean and sd inf/NaN, as numpy's).
MeanSd mean_sd(const std::vector<double>& values);

// "0.860 ± 0.050" with `digits` decimals (the sd omitted when NaN: "0.860"; "n/a" when the
// mean is NaN).
std::string format_mean_sd(const MeanSd& m, int digits = 3);

// The q-th percentile, q in [0, 100], with numpy.percentile's default (method 'linear'):
// the sorted values at position (n - 1) q / 100, interpolated between neighbours.
// Empty input or NaN values are errors.
double percentile(std::vector<double> values, double q);

struct BootstrapOptions {
    int64_t n_boot = 1000;  // resamples
    double alpha = 0.05;    // the interval covers 1 - alpha: percentiles alpha/2, 1 - alpha/2
    uint64_t seed = 0;      // Philox key: the same seed gives the same resamples anywhere
};

struct ConfidenceInterval {
    double estimate = 0;  // the metric on the whole sample
    double lower = 0;     // percentile 100 * alpha / 2 of the resampled metrics
    double upper = 0;     // percentile 100 * (1 - alpha / 2)
    int64_t n_valid = 0;  // resamples whose metric was not NaN (the others are left out)
};

// A metric of labels (e.g. balanced_accuracy) or of labels and scores (e.g. roc_auc_ovr).
using LabelMetric =
    std::function<double(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred)>;
using ScoreMetric =
    std::function<double(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                         const ScoreMatrix& scores)>;

// Percentile bootstrap: n_boot resamples of the N samples drawn with replacement (the same
// rows of y_true, y_pred and scores together), the metric on each, and the alpha/2 and
// 1 - alpha/2 percentiles of those values. A resample whose metric is NaN (e.g. the NaN-aware
// AUC of a resample without positives) is left out and counted; a metric that throws on a
// resample (roc_auc_ovr with a class missing) propagates its error, so pass a NaN-returning
// metric where small samples can lose a class. Runs on one thread, in resample order.
ConfidenceInterval bootstrap_ci(const LabelMetric& metric, const std::vector<int64_t>& y_true,
                                const std::vector<int64_t>& y_pred,
                                const BootstrapOptions& options = {});
ConfidenceInterval bootstrap_ci(const ScoreMetric& metric, const std::vector<int64_t>& y_true,
                                const std::vector<int64_t>& y_pred, const ScoreMatrix& scores,
                                const BootstrapOptions& options = {});

// The sample indices of resample `replicate` (n indices in [0, n), with replacement): Philox
// 4x32-10 keyed by seed, counter (replicate << 32) + i / 4, lane i % 4, index =
// (32-bit draw * n) >> 32.
std::vector<int64_t> bootstrap_indices(int64_t n, int64_t replicate, uint64_t seed);

}  // namespace marrow::eval
