// Score-based metrics; see ranking_metrics.h. References: sklearn 1.2.1
// sklearn/metrics/_ranking.py (_binary_clf_curve, roc_curve, precision_recall_curve, auc,
// roc_auc_score, _multiclass_roc_auc_score, average_precision_score), sklearn/metrics/_base.py
// (_average_binary_score), sklearn/metrics/_classification.py (log_loss), and
// mahmoodlab/CLAM utils/eval_utils.py (the NaN-aware per-class AUC).
#include "eval/ranking_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "autograd/ops.h"

namespace marrow::eval {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_binary(const char* op, const std::vector<int64_t>& y_true,
                  const std::vector<double>& y_score) {
    MARROW_CHECK(!y_true.empty(), "{}: empty input (no samples)", op);
    MARROW_CHECK(y_true.size() == y_score.size(), "{}: y_true has {} labels but y_score has {}", op,
                 y_true.size(), y_score.size());
    for (size_t i = 0; i < y_true.size(); ++i) {
        MARROW_CHECK(y_true[i] == 0 || y_true[i] == 1,
                     "{}: binary y_true must be 0 or 1, got {} at row {}", op, y_true[i], i);
        MARROW_CHECK(std::isfinite(y_score[i]), "{}: y_score is {} at row {}", op, y_score[i], i);
    }
}

void check_multiclass(const char* op, const std::vector<int64_t>& y_true,
                      const ScoreMatrix& scores) {
    MARROW_CHECK(!y_true.empty(), "{}: empty input (no samples)", op);
    MARROW_CHECK(int64_t(y_true.size()) == scores.rows,
                 "{}: y_true has {} labels but scores has {} rows", op, y_true.size(), scores.rows);
    MARROW_CHECK(scores.cols >= 2, "{}: scores needs at least 2 columns (classes), got {}", op,
                 scores.cols);
    for (size_t i = 0; i < y_true.size(); ++i)
        MARROW_CHECK(y_true[i] >= 0 && y_true[i] < scores.cols,
                     "{}: label {} at row {} is out of range [0, {}) (scores has {} columns)", op,
                     y_true[i], i, scores.cols, scores.cols);
    for (int64_t r = 0; r < scores.rows; ++r)
        for (int64_t c = 0; c < scores.cols; ++c)
            MARROW_CHECK(std::isfinite(scores(r, c)), "{}: scores is {} at row {}, column {}", op,
                         scores(r, c), r, c);
}

// sklearn's _binary_clf_curve: for each distinct score, from the highest down, the false and
// true positives among the samples scored at or above it. y_true must be checked 0/1.
struct ClfCurve {
    std::vector<double> fps, tps, thresholds;
};

ClfCurve binary_clf_curve(const std::vector<int64_t>& y_true, const std::vector<double>& score) {
    std::vector<size_t> order(score.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return score[a] > score[b]; });
    ClfCurve c;
    double tp = 0;
    for (size_t k = 0; k < order.size(); ++k) {
        tp += double(y_true[order[k]]);
        // The end of a run of equal scores is one threshold (sklearn: np.diff(score) != 0).
        if (k + 1 == order.size() || score[order[k + 1]] != score[order[k]]) {
            c.tps.push_back(tp);
            c.fps.push_back(double(k + 1) - tp);
            c.thresholds.push_back(score[order[k]]);
        }
    }
    return c;
}

// np.trapz(y, x) for increasing x.
double trapezoid(const std::vector<double>& x, const std::vector<double>& y) {
    double area = 0;
    for (size_t i = 1; i < x.size(); ++i) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0;
    return area;
}

// Class c's binary problem: (y_true == c) as 0/1.
std::vector<int64_t> one_vs_rest(const std::vector<int64_t>& y_true, int64_t c) {
    std::vector<int64_t> out(y_true.size());
    for (size_t i = 0; i < y_true.size(); ++i) out[i] = y_true[i] == c;
    return out;
}

std::vector<double> supports(const std::vector<int64_t>& y_true, int64_t num_classes) {
    std::vector<double> s(size_t(num_classes), 0);
    for (int64_t y : y_true) s[size_t(y)] += 1;
    return s;
}

// sklearn's _average_binary_score for macro and weighted: the plain or support-weighted mean
// of per-class values (a zero-weight class counts as 0, so its NaN cannot leak in).
double average_classes(const std::vector<double>& per_class, const std::vector<double>& weight,
                       Average average) {
    double sum = 0, wsum = 0;
    for (size_t c = 0; c < per_class.size(); ++c) {
        if (average == Average::macro) {
            sum += per_class[c];
        } else {
            sum += weight[c] == 0 ? 0.0 : per_class[c] * weight[c];
            wsum += weight[c];
        }
    }
    return average == Average::macro ? sum / double(per_class.size()) : sum / wsum;
}

// The flattened one-hot matrix and scores (sklearn's average='micro').
std::pair<std::vector<int64_t>, std::vector<double>> flatten(const std::vector<int64_t>& y_true,
                                                             const ScoreMatrix& scores) {
    std::pair<std::vector<int64_t>, std::vector<double>> out;
    out.first.reserve(scores.values.size());
    for (int64_t r = 0; r < scores.rows; ++r)
        for (int64_t c = 0; c < scores.cols; ++c) out.first.push_back(y_true[size_t(r)] == c);
    out.second = scores.values;
    return out;
}

// The ROC AUC of one checked binary problem; NaN when it holds one class only.
double binary_auc_or_nan(const std::vector<int64_t>& y_true, const std::vector<double>& score) {
    RocCurve roc = roc_curve(y_true, score);
    return trapezoid(roc.fpr, roc.tpr);  // NaN fpr or tpr with one class
}

}  // namespace

ScoreMatrix::ScoreMatrix(int64_t rows_, int64_t cols_, std::vector<double> values_)
    : rows(rows_), cols(cols_), values(std::move(values_)) {
    MARROW_CHECK(rows >= 0 && cols >= 0 && int64_t(values.size()) == rows * cols,
                 "ScoreMatrix: {} values for {} x {} scores", values.size(), rows, cols);
}

std::vector<double> ScoreMatrix::column(int64_t c) const {
    MARROW_CHECK(c >= 0 && c < cols, "ScoreMatrix::column: column {} of {}", c, cols);
    std::vector<double> out(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) out[size_t(r)] = (*this)(r, c);
    return out;
}

ScoreMatrix scores_from_tensor(const Tensor& scores, const char* what) {
    MARROW_CHECK(scores.dim() == 2 && is_floating(scores.dtype()),
                 "metrics: {} must be a 2-D floating tensor (N, C), got {} of shape {}", what,
                 scores.dtype(), scores.shape());
    Tensor host = contiguous(to(scores, Device::cpu(), DType::f64));
    const double* v = host.data<double>();
    return ScoreMatrix(host.size(0), host.size(1), std::vector<double>(v, v + host.numel()));
}

RocCurve roc_curve(const std::vector<int64_t>& y_true, const std::vector<double>& y_score,
                   bool drop_intermediate) {
    check_binary("roc_curve", y_true, y_score);
    ClfCurve c = binary_clf_curve(y_true, y_score);
    size_t n = c.fps.size();
    RocCurve roc;
    std::vector<double> fps{0}, tps{0};
    roc.thresholds.push_back(c.thresholds[0] + 1);  // the (0, 0) point, 1.2.1's max + 1
    for (size_t i = 0; i < n; ++i) {
        // Drop an interior point collinear with its neighbours: both second differences
        // (sklearn's np.diff(fps, 2), np.diff(tps, 2)) are zero. Counts are exact in double.
        if (drop_intermediate && n > 2 && i > 0 && i + 1 < n) {
            double dfps = (c.fps[i + 1] - c.fps[i]) - (c.fps[i] - c.fps[i - 1]);
            double dtps = (c.tps[i + 1] - c.tps[i]) - (c.tps[i] - c.tps[i - 1]);
            if (dfps == 0 && dtps == 0) continue;
        }
        fps.push_back(c.fps[i]);
        tps.push_back(c.tps[i]);
        roc.thresholds.push_back(c.thresholds[i]);
    }
    double neg = fps.back(), pos = tps.back();
    for (size_t i = 0; i < fps.size(); ++i) {
        roc.fpr.push_back(neg <= 0 ? kNaN : fps[i] / neg);
        roc.tpr.push_back(pos <= 0 ? kNaN : tps[i] / pos);
    }
    return roc;
}

PrCurve precision_recall_curve(const std::vector<int64_t>& y_true,
                               const std::vector<double>& y_score) {
    check_binary("precision_recall_curve", y_true, y_score);
    ClfCurve c = binary_clf_curve(y_true, y_score);
    PrCurve pr;
    double pos = c.tps.back();
    for (size_t k = c.tps.size(); k-- > 0;) {  // increasing thresholds
        double ps = c.tps[k] + c.fps[k];
        pr.precision.push_back(ps != 0 ? c.tps[k] / ps : 0.0);
        pr.recall.push_back(pos == 0 ? 1.0 : c.tps[k] / pos);  // no positives: recall 1
        pr.thresholds.push_back(c.thresholds[k]);
    }
    pr.precision.push_back(1.0);
    pr.recall.push_back(0.0);
    return pr;
}

double roc_auc(const std::vector<int64_t>& y_true, const std::vector<double>& y_score) {
    check_binary("roc_auc", y_true, y_score);
    bool pos = false, neg = false;
    for (int64_t y : y_true) (y ? pos : neg) = true;
    MARROW_CHECK(pos && neg,
                 "roc_auc: only one class ({}) present in y_true; ROC AUC is not defined then",
                 pos ? "positive" : "negative");
    return binary_auc_or_nan(y_true, y_score);
}

double average_precision(const std::vector<int64_t>& y_true, const std::vector<double>& y_score) {
    PrCurve pr = precision_recall_curve(y_true, y_score);
    // sklearn: -sum(diff(recall) * precision[:-1]); recall decreases along the curve.
    double sum = 0;
    for (size_t j = 0; j + 1 < pr.recall.size(); ++j)
        sum += (pr.recall[j + 1] - pr.recall[j]) * pr.precision[j];
    return -sum;
}

std::vector<double> roc_auc_per_class(const std::vector<int64_t>& y_true,
                                      const ScoreMatrix& scores) {
    check_multiclass("roc_auc_per_class", y_true, scores);
    std::vector<double> s = supports(y_true, scores.cols);
    std::vector<double> out;
    for (int64_t c = 0; c < scores.cols; ++c) {
        MARROW_CHECK(s[size_t(c)] > 0 && s[size_t(c)] < double(y_true.size()),
                     "roc_auc: class {} is {} y_true ({} of {} samples): its one-vs-rest ROC AUC "
                     "is not defined (roc_auc_ovr_nan_aware gives NaN for it)",
                     c, s[size_t(c)] == 0 ? "absent from" : "all of", s[size_t(c)], y_true.size());
        out.push_back(binary_auc_or_nan(one_vs_rest(y_true, c), scores.column(c)));
    }
    return out;
}

double roc_auc_ovr(const std::vector<int64_t>& y_true, const ScoreMatrix& scores, Average average) {
    check_multiclass("roc_auc_ovr", y_true, scores);
    if (scores.cols >= 3) {
        // sklearn's _multiclass_roc_auc_score: np.allclose(1, scores.sum(axis=1)).
        for (int64_t r = 0; r < scores.rows; ++r) {
            double sum = 0;
            for (int64_t c = 0; c < scores.cols; ++c) sum += scores(r, c);
            MARROW_CHECK(std::abs(1 - sum) <= 1e-8 + 1e-5 * std::abs(sum),
                         "roc_auc_ovr: scores must be probabilities summing to 1 over the {} "
                         "classes (as sklearn's multiclass roc_auc_score), row {} sums to {}",
                         scores.cols, r, sum);
        }
    }
    if (average == Average::micro) {
        auto [y, s] = flatten(y_true, scores);
        return roc_auc(y, s);
    }
    return average_classes(roc_auc_per_class(y_true, scores), supports(y_true, scores.cols),
                           average);
}

double roc_auc_ovr(const Tensor& y_true, const Tensor& scores, Average average) {
    return roc_auc_ovr(labels_to_vector(y_true, "y_true"), scores_from_tensor(scores, "scores"),
                       average);
}

NanAwareAuc roc_auc_ovr_nan_aware(const std::vector<int64_t>& y_true, const ScoreMatrix& scores) {
    check_multiclass("roc_auc_ovr_nan_aware", y_true, scores);
    NanAwareAuc out;
    double sum = 0, n = 0;
    for (int64_t c = 0; c < scores.cols; ++c) {
        double auc = binary_auc_or_nan(one_vs_rest(y_true, c), scores.column(c));
        bool absent = std::find(y_true.begin(), y_true.end(), c) == y_true.end();
        if (absent) auc = kNaN;  // CLAM skips the class; roc_curve would warn and give NaN too
        out.per_class.push_back(auc);
        if (!std::isnan(auc)) {
            sum += auc;
            n += 1;
        }
    }
    out.macro = n > 0 ? sum / n : kNaN;
    return out;
}

std::vector<double> average_precision_per_class(const std::vector<int64_t>& y_true,
                                                const ScoreMatrix& scores) {
    check_multiclass("average_precision_per_class", y_true, scores);
    std::vector<double> out;
    for (int64_t c = 0; c < scores.cols; ++c)
        out.push_back(average_precision(one_vs_rest(y_true, c), scores.column(c)));
    return out;
}

double average_precision_ovr(const std::vector<int64_t>& y_true, const ScoreMatrix& scores,
                             Average average) {
    check_multiclass("average_precision_ovr", y_true, scores);
    if (average == Average::micro) {
        auto [y, s] = flatten(y_true, scores);
        return average_precision(y, s);
    }
    return average_classes(average_precision_per_class(y_true, scores),
                           supports(y_true, scores.cols), average);
}

double average_precision_ovr(const Tensor& y_true, const Tensor& scores, Average average) {
    return average_precision_ovr(labels_to_vector(y_true, "y_true"),
                                 scores_from_tensor(scores, "scores"), average);
}

double log_loss(const std::vector<int64_t>& y_true, const ScoreMatrix& proba) {
    check_multiclass("log_loss", y_true, proba);
    const double eps = std::numeric_limits<double>::epsilon();  // 1.2.1: finfo(float64).eps
    double total = 0;
    for (int64_t r = 0; r < proba.rows; ++r) {
        double sum = 0;
        for (int64_t c = 0; c < proba.cols; ++c) sum += std::clamp(proba(r, c), eps, 1 - eps);
        double p = std::clamp(proba(r, y_true[size_t(r)]), eps, 1 - eps) / sum;
        total += -std::log(p);
    }
    return total / double(proba.rows);
}

double log_loss(const Tensor& y_true, const Tensor& proba) {
    return log_loss(labels_to_vector(y_true, "y_true"), scores_from_tensor(proba, "proba"));
}

}  // namespace marrow::eval
