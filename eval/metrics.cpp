// Classification metrics on labels; see metrics.h. References: sklearn 1.2.1
// sklearn/metrics/_classification.py (accuracy_score, confusion_matrix, balanced_accuracy_score,
// multilabel_confusion_matrix, precision_recall_fscore_support, classification_report,
// cohen_kappa_score).
#include "eval/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "autograd/ops.h"

namespace marrow::eval {

namespace {

void check_pair(const char* op, const std::vector<int64_t>& y_true,
                const std::vector<int64_t>& y_pred) {
    MARROW_CHECK(!y_true.empty(), "{}: empty input (no labels)", op);
    MARROW_CHECK(y_true.size() == y_pred.size(), "{}: y_true has {} labels but y_pred has {}", op,
                 y_true.size(), y_pred.size());
}

// Sorted union of the labels of both inputs (sklearn's unique_labels).
std::vector<int64_t> present_labels(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
    std::set<int64_t> s(a.begin(), a.end());
    s.insert(b.begin(), b.end());
    return {s.begin(), s.end()};
}

// Maps labels to their positions in a label list (-1: not listed).
class LabelIndex {
public:
    LabelIndex(const char* op, const std::vector<int64_t>& labels) {
        for (size_t i = 0; i < labels.size(); ++i) sorted_.emplace_back(labels[i], int64_t(i));
        std::sort(sorted_.begin(), sorted_.end());
        for (size_t i = 1; i < sorted_.size(); ++i)
            MARROW_CHECK(sorted_[i].first != sorted_[i - 1].first,
                         "{}: label {} is listed twice in labels", op, sorted_[i].first);
    }
    int64_t operator()(int64_t label) const {
        auto it = std::lower_bound(sorted_.begin(), sorted_.end(),
                                   std::pair<int64_t, int64_t>(label, INT64_MIN));
        return it != sorted_.end() && it->first == label ? it->second : -1;
    }

private:
    std::vector<std::pair<int64_t, int64_t>> sorted_;  // (label, position)
};

// a / b, or 0 when b == 0 (sklearn's _prf_divide with zero_division "warn" or 0).
double divide(double a, double b) { return b == 0 ? 0.0 : a / b; }

// F1 from precision and recall as sklearn writes it: (1 + 1) P R / (P + R), 0 when P + R = 0.
double f1_of(double p, double r) {
    double denom = p + r;
    return 2.0 * p * r / (denom == 0 ? 1.0 : denom);
}

// Per-class sufficient statistics over the listed labels (sklearn's
// multilabel_confusion_matrix): tp, predicted, true counts and the total sample count.
struct Counts {
    std::vector<double> tp, pred, truth;
    double n = 0;
};

Counts count_classes(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                     const std::vector<int64_t>& labels, const LabelIndex& index) {
    Counts c;
    size_t k = labels.size();
    c.tp.assign(k, 0);
    c.pred.assign(k, 0);
    c.truth.assign(k, 0);
    c.n = double(y_true.size());
    for (size_t i = 0; i < y_true.size(); ++i) {
        int64_t t = index(y_true[i]), p = index(y_pred[i]);
        if (t >= 0) c.truth[size_t(t)] += 1;
        if (p >= 0) c.pred[size_t(p)] += 1;
        if (t >= 0 && y_true[i] == y_pred[i]) c.tp[size_t(t)] += 1;
    }
    return c;
}

ClassScores scores_of(double tp, double pred, double truth, double n) {
    ClassScores s;
    s.precision = divide(tp, pred);
    s.recall = divide(tp, truth);
    s.f1 = f1_of(s.precision, s.recall);
    double fp = pred - tp, fn = truth - tp, tn = n - tp - fp - fn;
    s.specificity = divide(tn, tn + fp);
    s.support = int64_t(truth);
    return s;
}

}  // namespace

std::vector<int64_t> labels_to_vector(const Tensor& labels, const char* what) {
    MARROW_CHECK(labels.dim() == 1 && labels.dtype() == DType::i64,
                 "metrics: {} must be a 1-D int64 tensor of labels, got {} of shape {}", what,
                 labels.dtype(), labels.shape());
    Tensor host = contiguous(to(labels, Device::cpu()));
    const int64_t* v = host.data<int64_t>();
    return std::vector<int64_t>(v, v + host.numel());
}

std::vector<int64_t> class_range(int64_t num_classes) {
    MARROW_CHECK(num_classes >= 0, "class_range: num_classes must be >= 0, got {}", num_classes);
    std::vector<int64_t> out(static_cast<size_t>(num_classes));
    for (int64_t c = 0; c < num_classes; ++c) out[size_t(c)] = c;
    return out;
}

double accuracy(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred) {
    check_pair("accuracy", y_true, y_pred);
    int64_t correct = 0;
    for (size_t i = 0; i < y_true.size(); ++i) correct += y_true[i] == y_pred[i];
    return double(correct) / double(y_true.size());
}

double accuracy(const Tensor& y_true, const Tensor& y_pred) {
    return accuracy(labels_to_vector(y_true, "y_true"), labels_to_vector(y_pred, "y_pred"));
}

ConfusionMatrix confusion_matrix(const std::vector<int64_t>& y_true,
                                 const std::vector<int64_t>& y_pred, int64_t num_classes) {
    check_pair("confusion_matrix", y_true, y_pred);
    int64_t lo = std::min(*std::min_element(y_true.begin(), y_true.end()),
                          *std::min_element(y_pred.begin(), y_pred.end()));
    int64_t hi = std::max(*std::max_element(y_true.begin(), y_true.end()),
                          *std::max_element(y_pred.begin(), y_pred.end()));
    MARROW_CHECK(lo >= 0, "confusion_matrix: labels are class indices, got {}", lo);
    if (num_classes < 0) num_classes = hi + 1;
    MARROW_CHECK(hi < num_classes, "confusion_matrix: label {} is out of range [0, {})", hi,
                 num_classes);
    ConfusionMatrix m(size_t(num_classes), std::vector<int64_t>(size_t(num_classes), 0));
    for (size_t i = 0; i < y_true.size(); ++i) ++m[size_t(y_true[i])][size_t(y_pred[i])];
    return m;
}

ConfusionMatrix confusion_matrix(const Tensor& y_true, const Tensor& y_pred, int64_t num_classes) {
    return confusion_matrix(labels_to_vector(y_true, "y_true"), labels_to_vector(y_pred, "y_pred"),
                            num_classes);
}

ConfusionMatrix confusion_matrix_for_labels(const std::vector<int64_t>& y_true,
                                            const std::vector<int64_t>& y_pred,
                                            const std::vector<int64_t>& labels) {
    check_pair("confusion_matrix_for_labels", y_true, y_pred);
    std::vector<int64_t> listed = labels.empty() ? present_labels(y_true, y_pred) : labels;
    LabelIndex index("confusion_matrix_for_labels", listed);
    bool any = false;
    for (int64_t t : y_true) any = any || index(t) >= 0;
    MARROW_CHECK(any, "confusion_matrix_for_labels: none of the {} labels occurs in y_true",
                 listed.size());
    ConfusionMatrix m(listed.size(), std::vector<int64_t>(listed.size(), 0));
    for (size_t i = 0; i < y_true.size(); ++i) {
        int64_t t = index(y_true[i]), p = index(y_pred[i]);
        if (t >= 0 && p >= 0) ++m[size_t(t)][size_t(p)];  // others are left out, as sklearn
    }
    return m;
}

RealMatrix normalize_confusion(const ConfusionMatrix& counts, Normalize how) {
    size_t k = counts.size();
    std::vector<double> rows(k, 0), cols(k, 0);
    double total = 0;
    for (size_t i = 0; i < k; ++i) {
        MARROW_CHECK(counts[i].size() == k,
                     "normalize_confusion: row {} has {} columns, expected {}", i, counts[i].size(),
                     k);
        for (size_t j = 0; j < k; ++j) {
            rows[i] += double(counts[i][j]);
            cols[j] += double(counts[i][j]);
            total += double(counts[i][j]);
        }
    }
    RealMatrix out(k, std::vector<double>(k, 0));
    for (size_t i = 0; i < k; ++i)
        for (size_t j = 0; j < k; ++j) {
            double d = how == Normalize::true_rows      ? rows[i]
                       : how == Normalize::pred_columns ? cols[j]
                                                        : total;
            out[i][j] = divide(double(counts[i][j]), d);  // 0/0 -> 0 (sklearn's nan_to_num)
        }
    return out;
}

double balanced_accuracy(const ConfusionMatrix& confusion) {
    double recall_sum = 0;
    int64_t present = 0;
    for (size_t c = 0; c < confusion.size(); ++c) {
        MARROW_CHECK(confusion[c].size() == confusion.size(),
                     "balanced_accuracy: confusion matrix row {} has {} columns, expected {}", c,
                     confusion[c].size(), confusion.size());
        int64_t row = 0;
        for (int64_t v : confusion[c]) row += v;
        if (row == 0) continue;  // class absent from the truth: no recall (sklearn drops it)
        recall_sum += double(confusion[c][c]) / double(row);
        ++present;
    }
    MARROW_CHECK(present > 0, "balanced_accuracy: the confusion matrix holds no samples");
    return recall_sum / double(present);
}

double balanced_accuracy(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred) {
    return balanced_accuracy(confusion_matrix_for_labels(y_true, y_pred, {}));
}

double balanced_accuracy(const Tensor& y_true, const Tensor& y_pred) {
    return balanced_accuracy(labels_to_vector(y_true, "y_true"),
                             labels_to_vector(y_pred, "y_pred"));
}

ClassificationReport classification_report(const std::vector<int64_t>& y_true,
                                           const std::vector<int64_t>& y_pred,
                                           const std::vector<int64_t>& labels) {
    check_pair("classification_report", y_true, y_pred);
    std::vector<int64_t> present = present_labels(y_true, y_pred);
    ClassificationReport r;
    r.labels = labels.empty() ? present : labels;
    LabelIndex index("classification_report", r.labels);
    r.micro_is_accuracy = labels.empty() || std::set<int64_t>(labels.begin(), labels.end()) ==
                                                std::set<int64_t>(present.begin(), present.end());
    r.accuracy = accuracy(y_true, y_pred);
    Counts c = count_classes(y_true, y_pred, r.labels, index);

    // Per class, then the three averages of precision_recall_fscore_support.
    double tp_sum = 0, pred_sum = 0, true_sum = 0, k = double(r.labels.size());
    ClassScores sum, wsum;
    for (size_t i = 0; i < r.labels.size(); ++i) {
        ClassScores s = scores_of(c.tp[i], c.pred[i], c.truth[i], c.n);
        r.per_class.push_back(s);
        tp_sum += c.tp[i];
        pred_sum += c.pred[i];
        true_sum += c.truth[i];
        sum.precision += s.precision;
        sum.recall += s.recall;
        sum.f1 += s.f1;
        sum.specificity += s.specificity;
        wsum.precision += s.precision * c.truth[i];
        wsum.recall += s.recall * c.truth[i];
        wsum.f1 += s.f1 * c.truth[i];
        wsum.specificity += s.specificity * c.truth[i];
    }
    int64_t support = int64_t(true_sum);
    // micro: pooled counts; specificity pools TN and FP the same way.
    r.micro = scores_of(tp_sum, pred_sum, true_sum, 0);
    double fp_sum = pred_sum - tp_sum, tn_sum = 0;
    for (size_t i = 0; i < r.labels.size(); ++i)
        tn_sum += c.n - c.tp[i] - (c.pred[i] - c.tp[i]) - (c.truth[i] - c.tp[i]);
    r.micro.specificity = divide(tn_sum, tn_sum + fp_sum);
    r.macro = {sum.precision / k, sum.recall / k, sum.f1 / k, sum.specificity / k, support};
    if (true_sum == 0) {
        r.weighted = {0, 0, 0, 0, 0};  // sklearn: no support at all -> zero_division (0)
    } else {
        r.weighted = {wsum.precision / true_sum, wsum.recall / true_sum, wsum.f1 / true_sum,
                      wsum.specificity / true_sum, support};
    }
    r.micro.support = support;
    return r;
}

ClassificationReport classification_report(const Tensor& y_true, const Tensor& y_pred,
                                           const std::vector<int64_t>& labels) {
    return classification_report(labels_to_vector(y_true, "y_true"),
                                 labels_to_vector(y_pred, "y_pred"), labels);
}

std::string ClassificationReport::to_string(const std::vector<std::string>& names,
                                            int digits) const {
    MARROW_CHECK(names.empty() || names.size() == labels.size(),
                 "classification_report: {} names for {} labels", names.size(), labels.size());
    std::vector<std::string> rows_names;
    for (size_t i = 0; i < labels.size(); ++i)
        rows_names.push_back(names.empty() ? fmt::format("{}", labels[i]) : names[i]);
    size_t width = std::string("weighted avg").size();
    for (const auto& n : rows_names) width = std::max(width, n.size());
    width = std::max(width, size_t(std::max(digits, 0)));
    // The layout of sklearn's classification_report: right-aligned 9-wide columns.
    std::string out = fmt::format("{:>{}} ", "", width);
    for (const char* h : {"precision", "recall", "f1-score", "support"})
        out += fmt::format(" {:>9}", h);
    out += "\n\n";
    // sklearn quirk: when no sample is predicted right its counts become floats and the
    // supports print as "15.0"; we print the same.
    auto support = [&](int64_t n) {
        return accuracy == 0 ? fmt::format("{}.0", n) : fmt::format("{}", n);
    };
    auto row = [&](const std::string& name, const ClassScores& s) {
        out += fmt::format("{:>{}}  {:>9.{}f} {:>9.{}f} {:>9.{}f} {:>9}\n", name, width,
                           s.precision, digits, s.recall, digits, s.f1, digits, support(s.support));
    };
    for (size_t i = 0; i < labels.size(); ++i) row(rows_names[i], per_class[i]);
    out += "\n";
    if (micro_is_accuracy) {
        out += fmt::format("{:>{}}  {:>9} {:>9} {:>9.{}f} {:>9}\n", "accuracy", width, "", "",
                           micro.f1, digits, support(micro.support));
    } else {
        row("micro avg", micro);
    }
    row("macro avg", macro);
    row("weighted avg", weighted);
    return out;
}

namespace {

ClassScores averaged(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                     Average average, const std::vector<int64_t>& labels) {
    ClassificationReport r = classification_report(y_true, y_pred, labels);
    return average == Average::micro ? r.micro : average == Average::macro ? r.macro : r.weighted;
}

}  // namespace

double f1_score(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                Average average, const std::vector<int64_t>& labels) {
    return averaged(y_true, y_pred, average, labels).f1;
}

double precision_score(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                       Average average, const std::vector<int64_t>& labels) {
    return averaged(y_true, y_pred, average, labels).precision;
}

double recall_score(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                    Average average, const std::vector<int64_t>& labels) {
    return averaged(y_true, y_pred, average, labels).recall;
}

double cohen_kappa(const std::vector<int64_t>& y1, const std::vector<int64_t>& y2,
                   KappaWeights weights, const std::vector<int64_t>& labels) {
    check_pair("cohen_kappa", y1, y2);
    ConfusionMatrix o = confusion_matrix_for_labels(y1, y2, labels);
    size_t k = o.size();
    std::vector<double> sum0(k, 0), sum1(k, 0);  // column sums (y2), row sums (y1)
    double total = 0;
    for (size_t i = 0; i < k; ++i)
        for (size_t j = 0; j < k; ++j) {
            sum0[j] += double(o[i][j]);
            sum1[i] += double(o[i][j]);
            total += double(o[i][j]);
        }
    // sklearn: expected = outer(sum0, sum1) / total; k = sum(w * O) / sum(w * expected).
    double observed_w = 0, expected_w = 0;
    for (size_t i = 0; i < k; ++i)
        for (size_t j = 0; j < k; ++j) {
            double d = std::abs(double(i) - double(j));
            double w = weights == KappaWeights::none     ? (i == j ? 0.0 : 1.0)
                       : weights == KappaWeights::linear ? d
                                                         : d * d;
            observed_w += w * double(o[i][j]);
            expected_w += w * (sum0[i] * sum1[j] / total);
        }
    return 1.0 - observed_w / expected_w;  // 0/0 = NaN, as sklearn's
}

}  // namespace marrow::eval
