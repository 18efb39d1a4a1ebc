// eval metrics against scikit-learn 1.2.1 (fixture from tests/golden/gen/gen_metrics.py):
// every case's labels and scores with sklearn's confusion matrices, precision / recall / F1 /
// specificity per class and averaged for each of the case's label sets, classification_report
// text, Cohen's kappa (three weightings), log loss, one-vs-rest ROC AUC and average precision
// (per class, micro, macro, weighted), CLAM's NaN-aware AUC, and every class's ROC and PR
// curve points; also mean +- sd (ddof = 1) and numpy's percentile. Counts must be equal,
// real numbers within TolClass::metric (1e-12), NaN where sklearn gives NaN.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "eval/aggregate.h"
#include "eval/ranking_metrics.h"
#include "tensor/factory.h"
#include "tensor/safetensors.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::test;
using nlohmann::json;

namespace {

const SafetensorsFile& fixture() { return golden_fixture("metrics"); }

bool has(const std::string& key) { return fixture().tensors.count(key) > 0; }

const Tensor& get(const std::string& key) {
    return golden_tensor("metrics", key, "gen_metrics.py");
}

std::vector<double> reals(const std::string& key) {
    const Tensor& t = get(key);
    const double* v = t.data<double>();
    return std::vector<double>(v, v + t.numel());
}

std::vector<int64_t> ints(const std::string& key) {
    const Tensor& t = get(key);
    const int64_t* v = t.data<int64_t>();
    return std::vector<int64_t>(v, v + t.numel());
}

void check_close(const std::vector<double>& ours, const std::string& key) {
    Comparison cmp = compare(from_vector<double>(ours), from_vector<double>(reals(key)),
                             tolerance(TolClass::metric, DType::f64));
    INFO(key, ": ", cmp.detail);
    CHECK(cmp.ok);
}

void check_close(double ours, const std::string& key) {
    check_close(std::vector<double>{ours}, key);
}

struct Case {
    std::string name;
    json info;
};

std::vector<Case> cases() {
    std::vector<Case> out;
    for (const auto& [key, value] : fixture().metadata)
        if (key.starts_with("case.")) out.push_back({key.substr(5), json::parse(value)});
    return out;
}

std::vector<double> flat(const eval::RealMatrix& m) {
    std::vector<double> out;
    for (const auto& row : m) out.insert(out.end(), row.begin(), row.end());
    return out;
}

std::vector<int64_t> flat(const eval::ConfusionMatrix& m) {
    std::vector<int64_t> out;
    for (const auto& row : m) out.insert(out.end(), row.begin(), row.end());
    return out;
}

}  // namespace

TEST_CASE("metrics golden: the fixture holds the expected cases") {
    // 20 cases: random, imbalanced, ties, absent classes, perfect / constant / inverted scores,
    // a single class, hard probabilities, collinear ROC points, non-index labels.
    CHECK(cases().size() == 20);
    CHECK(fixture().metadata.at("sklearn") == "1.2.1");
}

TEST_CASE("metrics golden: label metrics equal sklearn's") {
    for (const Case& c : cases()) {
        const std::string& n = c.name;
        CAPTURE(n);
        std::vector<int64_t> y_true = ints(n + "/y_true"), y_pred = ints(n + "/y_pred");
        int64_t classes = c.info["num_classes"];
        check_close(eval::accuracy(y_true, y_pred), n + "/accuracy");
        check_close(eval::balanced_accuracy(y_true, y_pred), n + "/balanced_accuracy");
        if (classes > 0) {
            eval::ConfusionMatrix cm = eval::confusion_matrix(y_true, y_pred, classes);
            CHECK(flat(cm) == ints(n + "/cm"));
            CHECK(flat(eval::confusion_matrix_for_labels(
                      y_true, y_pred, eval::class_range(classes))) == ints(n + "/cm"));
            check_close(flat(eval::normalize_confusion(cm)), n + "/cm_true");
        }
        const json& label_sets = c.info["labels"];
        for (size_t j = 0; j < label_sets.size(); ++j) {
            std::vector<int64_t> labels;
            if (!label_sets[j].is_null()) labels = label_sets[j].get<std::vector<int64_t>>();
            std::string p = n + "/prf" + std::to_string(j);
            CAPTURE(p);
            eval::ClassificationReport r = eval::classification_report(y_true, y_pred, labels);
            std::vector<double> prec, rec, f1, spec;
            std::vector<int64_t> support;
            for (const auto& s : r.per_class) {
                prec.push_back(s.precision);
                rec.push_back(s.recall);
                f1.push_back(s.f1);
                spec.push_back(s.specificity);
                support.push_back(s.support);
            }
            check_close(prec, p + "/precision");
            check_close(rec, p + "/recall");
            check_close(f1, p + "/f1");
            check_close(spec, p + "/specificity");
            CHECK(support == ints(p + "/support"));
            std::vector<double> avg;
            for (const auto* a : {&r.micro, &r.macro, &r.weighted})
                avg.insert(avg.end(), {a->precision, a->recall, a->f1});
            check_close(avg, p + "/avg");
            // The scalar forms give the same numbers.
            CHECK(eval::f1_score(y_true, y_pred, eval::Average::weighted, labels) == r.weighted.f1);
            CHECK(eval::precision_score(y_true, y_pred, eval::Average::macro, labels) ==
                  r.macro.precision);
            CHECK(eval::recall_score(y_true, y_pred, eval::Average::micro, labels) ==
                  r.micro.recall);
            // sklearn's text, digits 2 for the default labels and 3 for the others.
            CHECK(r.to_string({}, j ? 3 : 2) ==
                  fixture().metadata.at("report." + n + "." + std::to_string(j)));
            check_close({eval::cohen_kappa(y_true, y_pred, eval::KappaWeights::none, labels),
                         eval::cohen_kappa(y_true, y_pred, eval::KappaWeights::linear, labels),
                         eval::cohen_kappa(y_true, y_pred, eval::KappaWeights::quadratic, labels)},
                        n + "/kappa" + std::to_string(j));
        }
    }
}

TEST_CASE("metrics golden: score metrics and curves equal sklearn's") {
    int score_cases = 0, auc_errors = 0;
    for (const Case& c : cases()) {
        const std::string& n = c.name;
        if (!has(n + "/scores")) continue;
        ++score_cases;
        CAPTURE(n);
        std::vector<int64_t> y_true = ints(n + "/y_true");
        eval::ScoreMatrix s = eval::scores_from_tensor(get(n + "/scores"), "scores");
        check_close(eval::log_loss(y_true, s), n + "/log_loss");

        if (c.info.contains("roc_auc_error")) {
            ++auc_errors;
            CHECK_THROWS_AS(eval::roc_auc_ovr(y_true, s, eval::Average::macro), Error);
            CHECK_THROWS_AS(eval::roc_auc_ovr(y_true, s, eval::Average::weighted), Error);
        }
        if (has(n + "/roc_auc_per_class")) {
            check_close(eval::roc_auc_per_class(y_true, s), n + "/roc_auc_per_class");
            if (!c.info.contains("roc_auc_error")) {
                check_close({eval::roc_auc_ovr(y_true, s, eval::Average::micro),
                             eval::roc_auc_ovr(y_true, s, eval::Average::macro),
                             eval::roc_auc_ovr(y_true, s, eval::Average::weighted)},
                            n + "/roc_auc");
            }
        } else {
            CHECK_THROWS_AS(eval::roc_auc_per_class(y_true, s), Error);
        }
        if (c.info.contains("roc_auc_micro_error"))
            CHECK_THROWS_AS(eval::roc_auc_ovr(y_true, s, eval::Average::micro), Error);
        else
            check_close(eval::roc_auc_ovr(y_true, s, eval::Average::micro), n + "/roc_auc_micro");

        eval::NanAwareAuc nan_aware = eval::roc_auc_ovr_nan_aware(y_true, s);
        std::vector<double> nan_aware_all = nan_aware.per_class;
        nan_aware_all.push_back(nan_aware.macro);
        check_close(nan_aware_all, n + "/roc_auc_nan");

        check_close(eval::average_precision_per_class(y_true, s), n + "/ap_per_class");
        check_close({eval::average_precision_ovr(y_true, s, eval::Average::micro),
                     eval::average_precision_ovr(y_true, s, eval::Average::macro),
                     eval::average_precision_ovr(y_true, s, eval::Average::weighted)},
                    n + "/ap");

        for (int64_t k = 0; k < s.cols; ++k) {
            std::vector<int64_t> y(y_true.size());
            for (size_t i = 0; i < y.size(); ++i) y[i] = y_true[i] == k;
            std::string key = n + "/roc" + std::to_string(k);
            eval::RocCurve roc = eval::roc_curve(y, s.column(k));
            check_close(roc.fpr, key + "/fpr");
            check_close(roc.tpr, key + "/tpr");
            check_close(roc.thresholds, key + "/thresholds");
            key = n + "/pr" + std::to_string(k);
            eval::PrCurve pr = eval::precision_recall_curve(y, s.column(k));
            check_close(pr.precision, key + "/precision");
            check_close(pr.recall, key + "/recall");
            check_close(pr.thresholds, key + "/thresholds");
        }
    }
    CHECK(score_cases == 18);
    CHECK(auc_errors == 4);  // unnormalized rows, a class absent (twice), one class in y_true
}

TEST_CASE("metrics golden: the Tensor forms equal sklearn's") {
    Tensor y = get("random_c3/y_true"), s = get("random_c3/scores");
    check_close({eval::roc_auc_ovr(y, s, eval::Average::micro),
                 eval::roc_auc_ovr(y, s, eval::Average::macro),
                 eval::roc_auc_ovr(y, s, eval::Average::weighted)},
                "random_c3/roc_auc");
    check_close({eval::average_precision_ovr(y, s, eval::Average::micro),
                 eval::average_precision_ovr(y, s, eval::Average::macro),
                 eval::average_precision_ovr(y, s, eval::Average::weighted)},
                "random_c3/ap");
    check_close(eval::log_loss(y, s), "random_c3/log_loss");
    check_close(eval::accuracy(y, get("random_c3/y_pred")), "random_c3/accuracy");
}

TEST_CASE("aggregate golden: mean +- sd (ddof = 1, NaN skipped) and numpy's percentile") {
    for (const char* k : {"folds5", "folds5x3", "with_nan", "two"}) {
        std::string key = std::string("agg/") + k;
        CAPTURE(key);
        eval::MeanSd m = eval::mean_sd(reals(key + "/values"));
        check_close({m.mean, m.sd}, key + "/mean_sd");
    }
    std::vector<double> v = reals("agg/percentile/values"), q = reals("agg/percentile/q"), out;
    for (double qi : q) out.push_back(eval::percentile(v, qi));
    check_close(out, "agg/percentile/out");
}
