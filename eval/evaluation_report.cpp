// The files of an evaluation run; see evaluation_report.h.
#include "eval/evaluation_report.h"

#include <fmt/format.h>
#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "eval/metrics.h"
#include "eval/pca.h"
#include "eval/plots.h"
#include "eval/report.h"
#include "eval/umap.h"
#include "tensor/factory.h"

namespace marrow::eval {

namespace {

// The headline metrics, in table order, with their column titles.
const std::vector<std::pair<std::string, std::string>> kColumns = {
    {"accuracy", "accuracy"},        {"balanced_accuracy", "balanced acc."},
    {"f1_macro", "macro F1"},        {"f1_weighted", "weighted F1"},
    {"roc_auc_macro", "ROC AUC"},    {"pr_auc_macro", "PR AUC"},
    {"cohen_kappa", "Cohen's kappa"}};

std::string method_title(const std::string& m) {
    if (m.starts_with("knn")) return m.substr(3) + "-NN";
    if (m == "logreg") return "logistic regression";
    if (m == "forest") return "random forest";
    return m;
}

std::string protocol_text(const ProtocolResult& r) {
    if (r.folds == 1)
        return r.repeats == 1 ? "the fixed train/test split"
                              : fmt::format("the fixed train/test split, {} repeats", r.repeats);
    return fmt::format("mean ± sd over {} {} folds × {} repeat{}", r.folds,
                       r.grouped ? "patient-grouped" : "stratified", r.repeats,
                       r.repeats == 1 ? "" : "s");
}

// The method with the best mean balanced accuracy (the figures of the examples section).
std::string best_method(const std::vector<SummaryRow>& rows) {
    const SummaryRow* best = &rows.front();
    for (const SummaryRow& row : rows)
        if (row.metrics.at("balanced_accuracy").mean > best->metrics.at("balanced_accuracy").mean)
            best = &row;
    return best->method;
}

std::string file_safe(const std::string& s) {
    std::string out;
    for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    return out;
}

// Percentile-bootstrap 95% intervals of the label metrics on each method's pooled test
// predictions (repeat 0): the uncertainty from the test rows, also with one fixed split.
using Intervals = std::map<std::string, std::map<std::string, ConfidenceInterval>>;
const std::vector<std::pair<std::string, LabelMetric>> kBootstrapped = {
    {"accuracy", [](const auto& t, const auto& p) { return accuracy(t, p); }},
    {"balanced_accuracy", [](const auto& t, const auto& p) { return balanced_accuracy(t, p); }},
    {"f1_macro", [](const auto& t, const auto& p) { return f1_score(t, p, Average::macro); }}};

Intervals bootstrap_intervals(const ProtocolResult& r, uint64_t seed) {
    Intervals out;
    for (const std::string& method : r.methods) {
        FoldResult p = pooled(r, method);
        for (const auto& [name, metric] : kBootstrapped)
            out[method][name] = bootstrap_ci(metric, p.y_true, p.y_pred,
                                             {.n_boot = 1000, .alpha = 0.05, .seed = seed});
    }
    return out;
}

void write_results_json(const std::filesystem::path& path, const ProtocolResult& r,
                        const Intervals& intervals) {
    nlohmann::json j = {{"protocol", protocol_text(r)},
                        {"folds", r.folds},
                        {"repeats", r.repeats},
                        {"classes", r.class_names},
                        {"methods", nlohmann::json::object()}};
    for (const SummaryRow& row : summarize(r)) {
        nlohmann::json m;
        for (const auto& [name, ms] : row.metrics) {
            auto num = [](double v) {
                return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
            };
            m[name] = {{"mean", num(ms.mean)}, {"sd", num(ms.sd)}, {"n", ms.n}};
        }
        nlohmann::json folds = nlohmann::json::array();
        for (const FoldResult& f : r.results)
            if (f.method == row.method) {
                nlohmann::json fold = {
                    {"repeat", f.repeat}, {"fold", f.fold}, {"seconds", f.seconds}};
                for (const auto& [name, v] : f.metrics)
                    fold[name] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
                folds.push_back(fold);
            }
        nlohmann::json ci;
        for (const auto& [name, c] : intervals.at(row.method))
            ci[name] = {{"estimate", c.estimate}, {"lower", c.lower}, {"upper", c.upper}};
        j["methods"][row.method] = {
            {"summary", m}, {"folds", folds}, {"bootstrap_ci95_pooled", ci}};
    }
    write_file_atomic(path.string(), j.dump(2) + "\n", "write_evaluation");
}

void write_predictions_csv(const std::filesystem::path& path, const FoldResult& p,
                           const std::vector<std::string>& names) {
    std::string csv = "row,true,predicted";
    for (const std::string& n : names) csv += ",p_" + file_safe(n);
    csv += "\n";
    for (size_t i = 0; i < p.rows.size(); ++i) {
        csv += fmt::format("{},{},{}", p.rows[i], p.y_true[i], p.y_pred[i]);
        for (int64_t c = 0; c < p.proba.cols; ++c)
            csv += fmt::format(",{:.6g}", p.proba(int64_t(i), c));
        csv += "\n";
    }
    write_file_atomic(path.string(), csv, "write_evaluation");
}

// The points of a curve that move it by more than `step` in x or y since the last point
// kept, plus both ends: what a ~350 px plot can show (a 10k-sample PR curve has 10k points).
std::pair<std::vector<double>, std::vector<double>> thin(const std::vector<double>& x,
                                                         const std::vector<double>& y,
                                                         double step = 0.002) {
    std::vector<double> tx, ty;
    for (size_t i = 0; i < x.size(); ++i) {
        bool keep = i == 0 || i + 1 == x.size() || std::abs(x[i] - tx.back()) > step ||
                    std::abs(y[i] - ty.back()) > step;
        if (keep) {
            tx.push_back(x[i]);
            ty.push_back(y[i]);
        }
    }
    return {tx, ty};
}

// One-vs-rest ROC and PR curves of every class present (and not alone) in y_true.
std::pair<std::vector<Curve>, std::vector<Curve>> class_curves(
    const FoldResult& p, const std::vector<std::string>& names) {
    std::vector<Curve> roc, pr;
    for (int64_t c = 0; c < p.proba.cols; ++c) {
        std::vector<int64_t> positive(p.y_true.size());
        for (size_t i = 0; i < positive.size(); ++i) positive[i] = p.y_true[i] == c;
        int64_t count = std::count(positive.begin(), positive.end(), 1);
        if (count == 0 || count == int64_t(positive.size())) continue;
        std::vector<double> score = p.proba.column(c);
        RocCurve rc = roc_curve(positive, score);
        PrCurve pc = precision_recall_curve(positive, score);
        auto [fpr, tpr] = thin(rc.fpr, rc.tpr);
        auto [recall, precision] = thin(pc.recall, pc.precision);
        roc.push_back({names[size_t(c)], fpr, tpr, roc_auc(positive, score)});
        pr.push_back({names[size_t(c)], recall, precision, average_precision(positive, score)});
    }
    return {roc, pr};
}

// Rows drawn at random (Philox, by seed) when there are more than `max_rows`.
std::vector<int64_t> subsample(int64_t n, int64_t max_rows, uint64_t seed) {
    if (n <= max_rows) {
        std::vector<int64_t> all(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) all[size_t(i)] = i;
        return all;
    }
    Generator gen(seed);
    Tensor perm = randperm(n, gen);
    std::vector<int64_t> rows(perm.data<int64_t>(), perm.data<int64_t>() + max_rows);
    std::sort(rows.begin(), rows.end());
    return rows;
}

std::pair<std::vector<double>, std::vector<double>> columns2(const Tensor& z) {
    Tensor h = contiguous(to(z, DType::f64));
    std::vector<double> x, y;
    for (int64_t i = 0; i < h.size(0); ++i) {
        x.push_back(h.data<double>()[i * 2]);
        y.push_back(h.data<double>()[i * 2 + 1]);
    }
    return {x, y};
}

data::Image to_image(const Tensor& images, int64_t row) {
    Tensor t = contiguous(images.narrow(0, row, 1).squeeze(0));  // (H, W) or (3, H, W)
    bool rgb = t.dim() == 3;
    int h = int(t.size(rgb ? 1 : 0)), w = int(t.size(rgb ? 2 : 1)), ch = rgb ? 3 : 1;
    data::Image img(h, w, ch);
    const uint8_t* src = t.data<uint8_t>();
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < ch; ++c)
                img.at(y, x, c) = src[rgb ? (size_t(c) * h + y) * w + x : size_t(y) * w + x];
    return img;
}

void add_embedding_section(Report& report, const std::filesystem::path& figures,
                           const LabelledFeatures& d, const EvaluationReportOptions& o) {
    std::vector<int64_t> rows = subsample(d.features.size(0), o.embedding_points, o.seed);
    Tensor x = index_select(to(d.features, Device::cpu()), 0, from_vector<int64_t>(rows));
    std::vector<int64_t> labels;
    for (int64_t r : rows) labels.push_back(d.labels[size_t(r)]);
    Section& s = report.section("Feature space");
    s.paragraph(fmt::format("{} of the {} rows{}, coloured by class.", rows.size(),
                            d.features.size(0),
                            int64_t(rows.size()) < d.features.size(0) ? " (drawn at random)" : ""));
    auto [px, py] = columns2(PCA({.n_components = 2, .seed = o.seed}).fit_transform(x));
    Svg pca = scatter_plot(px, py, labels, d.class_names,
                           {.title = "PCA", .x_label = "PC 1", .y_label = "PC 2"});
    pca.save(figures / "pca.svg");
    s.figure(pca, "The first two principal components.");
    if (o.umap) {
        auto [ux, uy] = columns2(UMAP({.seed = o.seed}).fit_transform(x));
        Svg umap = scatter_plot(ux, uy, labels, d.class_names,
                                {.title = "UMAP", .x_label = "UMAP 1", .y_label = "UMAP 2"});
        umap.save(figures / "umap.svg");
        s.figure(umap, "UMAP (n_neighbors 15, min_dist 0.1, euclidean).");
    }
}

}  // namespace

std::string summary_table(const ProtocolResult& r) {
    std::string out = fmt::format("{:<22}", "method");
    for (const auto& [key, title] : kColumns) out += fmt::format("{:>16}", title);
    out += "\n";
    for (const SummaryRow& row : summarize(r)) {
        out += fmt::format("{:<22}", method_title(row.method));
        for (const auto& [key, title] : kColumns)
            out += fmt::format("{:>16}", format_mean_sd(row.metrics.at(key)));
        out += "\n";
    }
    return out + "(" + protocol_text(r) + ")\n";
}

void write_evaluation(const std::filesystem::path& run_dir, const ProtocolResult& r,
                      const LabelledFeatures& d, const nlohmann::json& run_json,
                      const EvaluationReportOptions& o) {
    autograd::NoGradGuard no_grad;
    std::filesystem::path figures = run_dir / "figures";
    std::filesystem::create_directories(figures);
    Intervals intervals = bootstrap_intervals(r, o.seed);
    write_results_json(run_dir / "results.json", r, intervals);
    std::vector<SummaryRow> summary = summarize(r);

    std::string what = "features";
    if (run_json.is_object() && run_json.contains("flags"))
        what = run_json["flags"].value("features", what);
    Report report("Evaluation: " + what);
    if (run_json.is_object()) report.add_metadata(run_json);
    Table table{.columns = {"method"}, .rows = {}, .caption = protocol_text(r)};
    for (const auto& [key, title] : kColumns) table.columns.push_back(title);
    table.columns.push_back("seconds / fit");
    for (const SummaryRow& row : summary) {
        std::vector<std::string> cells = {method_title(row.method)};
        for (const auto& [key, title] : kColumns)
            cells.push_back(format_mean_sd(row.metrics.at(key)));
        double seconds = 0;
        int fits = 0;
        for (const FoldResult& f : r.results)
            if (f.method == row.method) seconds += f.seconds, ++fits;
        cells.push_back(fmt::format("{:.2f}", seconds / fits));
        table.rows.push_back(cells);
    }
    Table ci_table{.columns = {"method"},
                   .rows = {},
                   .caption =
                       "95% percentile-bootstrap intervals: 1000 resamples of the "
                       "pooled test predictions (repeat 0)"};
    for (const auto& [name, metric] : kBootstrapped)
        for (const auto& [key, title] : kColumns)
            if (key == name) ci_table.columns.push_back(title);
    for (const std::string& method : r.methods) {
        std::vector<std::string> cells = {method_title(method)};
        for (const auto& [name, metric] : kBootstrapped) {
            const ConfidenceInterval& c = intervals.at(method).at(name);
            cells.push_back(fmt::format("{:.3f} [{:.3f}, {:.3f}]", c.estimate, c.lower, c.upper));
        }
        ci_table.rows.push_back(cells);
    }
    report.section("Results").table(table).table(ci_table).paragraph(
        "ROC AUC: one-vs-rest, the mean over the classes present in a test fold (CLAM's "
        "NaN-aware mean); PR AUC: average precision, one-vs-rest, macro mean. Figures below: "
        "the test predictions of every fold pooled (repeat 0).");

    for (const std::string& method : r.methods) {
        FoldResult p = pooled(r, method);
        write_predictions_csv(run_dir / ("predictions_" + method + ".csv"), p, r.class_names);
        Section& s = report.section(method_title(method));
        Svg cm = confusion_matrix_plot(
            confusion_matrix(p.y_true, p.y_pred, int64_t(r.class_names.size())), r.class_names,
            {.title = "Confusion matrix, " + method_title(method)});
        cm.save(figures / ("confusion_" + method + ".svg"));
        s.figure(cm,
                 "Rows: true class; columns: predicted class; cells: fraction of the row "
                 "(count).");
        ClassificationReport cr =
            classification_report(p.y_true, p.y_pred, class_range(int64_t(r.class_names.size())));
        std::vector<double> f1;
        for (const ClassScores& c : cr.per_class) f1.push_back(c.f1);
        Svg bars = bar_chart(
            r.class_names, f1,
            {.title = "Per-class F1", .x_label = "class", .y_label = "F1", .y_min = 0, .y_max = 1});
        bars.save(figures / ("f1_" + method + ".svg"));
        s.figure(bars);
        auto [roc, pr] = class_curves(p, r.class_names);
        if (!roc.empty()) {
            Svg roc_svg = roc_plot(roc, {.title = "ROC, " + method_title(method)});
            Svg pr_svg = pr_plot(pr, {.title = "Precision-recall, " + method_title(method),
                                      .x_label = "Recall",
                                      .y_label = "Precision"});
            roc_svg.save(figures / ("roc_" + method + ".svg"));
            pr_svg.save(figures / ("pr_" + method + ".svg"));
            s.figure(roc_svg).figure(pr_svg);
        }
    }

    if (o.embedding_points > 0) add_embedding_section(report, figures, d, o);

    if (d.images && o.montage_size > 0) {
        std::string method = best_method(summary);
        FoldResult p = pooled(r, method);
        std::vector<std::pair<double, size_t>> errors;  // (confidence, position)
        for (size_t i = 0; i < p.rows.size(); ++i)
            if (p.y_pred[i] != p.y_true[i]) errors.push_back({p.proba(int64_t(i), p.y_pred[i]), i});
        std::stable_sort(errors.begin(), errors.end(),
                         [](const auto& a, const auto& b) { return a.first > b.first; });
        errors.resize(std::min<size_t>(errors.size(), size_t(o.montage_size)));
        std::vector<MontageItem> items;
        for (const auto& [confidence, i] : errors)
            items.push_back({to_image(*d.images, p.rows[i]),
                             fmt::format("{} → {} ({:.2f})", r.class_names[size_t(p.y_true[i])],
                                         r.class_names[size_t(p.y_pred[i])], confidence)});
        report.section("Most confident errors")
            .paragraph(fmt::format("The {} test images {} got most confidently wrong: true → "
                                   "predicted (probability of the prediction).",
                                   items.size(), method_title(method)))
            .montage(items, {}, 56);
    }
    report.save(run_dir / "report.html");
}

}  // namespace marrow::eval
