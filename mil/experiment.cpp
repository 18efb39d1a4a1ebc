#include "mil/experiment.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "autograd/ops.h"
#include "data/image.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "eval/svg.h"
#include "eval/umap.h"
#include "tensor/error.h"
#include "tensor/file_io.h"

namespace marrow::mil {

namespace {

// The first seed's test predictions (each bag once), their bag indices in row.bags and, when
// the CV explained them, their explanations.
struct FirstSeedTests {
    std::vector<BagPrediction> preds;
    std::vector<size_t> index;
    std::vector<CellExplanation> explanations;
};
FirstSeedTests first_seed_tests(const EncoderRow& row) {
    FirstSeedTests out;
    if (row.cv.runs.empty()) return out;
    const uint64_t seed = row.cv.runs.front().seed;
    for (const MilFoldRun& r : row.cv.runs) {
        if (r.seed != seed) continue;
        for (size_t i = 0; i < r.test.size(); ++i) {
            out.preds.push_back(r.predictions[i]);
            out.index.push_back(size_t(r.test[i]));
            if (!r.explanations.empty()) out.explanations.push_back(r.explanations[i]);
        }
    }
    return out;
}

nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

std::string cell(const std::map<std::string, eval::MeanSd>& s, const std::string& key) {
    auto it = s.find(key);
    return it == s.end() ? "-" : eval::format_mean_sd(it->second, 3);
}

}  // namespace

EncoderRow evaluate_encoder(const std::string& encoder, std::vector<Bag> bags,
                            const std::vector<std::string>& class_names,
                            const MilCvOptions& options, const CvProgress& progress) {
    EncoderRow row;
    row.encoder = encoder;
    row.cv = run_mil_cv(bags, class_names, options, progress);
    row.bags = std::move(bags);
    return row;
}

void analyze_cells(EncoderRow& row, const CellAnnotations& cells, int64_t umap_cells,
                   uint64_t seed) {
    MARROW_CHECK(cells.cell_type.size() == row.bags.size(),
                 "analyze_cells: annotations for {} bags, the row has {}", cells.cell_type.size(),
                 row.bags.size());
    FirstSeedTests tests = first_seed_tests(row);
    const std::vector<BagPrediction>& preds = tests.preds;
    std::vector<std::vector<std::string>> types;
    std::vector<std::vector<bool>> diagnostic;
    bool any_diagnostic = false;
    for (size_t b : tests.index) {
        types.push_back(cells.cell_type[b]);
        diagnostic.push_back(cells.diagnostic[b]);
        any_diagnostic |= std::find(diagnostic.back().begin(), diagnostic.back().end(), true) !=
                          diagnostic.back().end();
    }
    row.attention_by_cell_type = attention_by_cell_type(preds, types);
    if (any_diagnostic)
        row.audit = attention_audit(preds, diagnostic, int64_t(row.cv.class_names.size()));

    // UMAP of up to umap_cells cells, evenly spaced over all bags' cells
    std::vector<std::pair<size_t, int64_t>> all;
    for (size_t b = 0; b < row.bags.size(); ++b)
        for (int64_t i = 0; i < row.bags[b].instances.size(0); ++i) all.emplace_back(b, i);
    const int64_t n = std::min<int64_t>(umap_cells, int64_t(all.size()));
    if (n <= 16 || row.bags.front().instances.dim() != 2) return;  // UMAP needs > 15 neighbours
    std::set<std::string> names;
    for (const auto& t : cells.cell_type) names.insert(t.begin(), t.end());
    row.umap_classes.assign(names.begin(), names.end());
    std::vector<Tensor> rows;
    row.umap_labels.clear();
    for (int64_t k = 0; k < n; ++k) {
        auto [b, i] = all[size_t(k * int64_t(all.size()) / n)];
        rows.push_back(narrow(row.bags[b].instances, 0, i, 1));
        const std::string& type = cells.cell_type[b][size_t(i)];
        row.umap_labels.push_back(
            std::lower_bound(row.umap_classes.begin(), row.umap_classes.end(), type) -
            row.umap_classes.begin());
    }
    eval::UMAP umap({.seed = seed});
    Tensor e = contiguous(to(umap.fit_transform(to(cat(rows, 0), DType::f32)), DType::f64));
    row.umap_x.clear();
    row.umap_y.clear();
    for (int64_t k = 0; k < n; ++k) {
        row.umap_x.push_back(e.data<double>()[2 * k]);
        row.umap_y.push_back(e.data<double>()[2 * k + 1]);
    }
}

void write_attention(const std::filesystem::path& path, const EncoderRow& row) {
    FirstSeedTests tests = first_seed_tests(row);
    std::vector<Bag> bags;
    for (size_t b : tests.index) bags.push_back(row.bags[b]);
    bool explained = !tests.explanations.empty() && tests.explanations.size() == tests.preds.size();
    write_attention_csv(path, bags, tests.preds, row.cv.class_names,
                        explained ? &tests.explanations : nullptr);
}

nlohmann::json results_json(const std::vector<EncoderRow>& rows) {
    nlohmann::json out = nlohmann::json::array();
    for (const EncoderRow& r : rows) {
        nlohmann::json by_type = nlohmann::json::object();
        for (const auto& [t, m] : r.attention_by_cell_type)
            by_type[t] = {{"mean", number(m.mean)}, {"sd", number(m.sd)}, {"n", m.n}};
        out.push_back(
            {{"encoder", r.encoder},
             {"bags", r.bags.size()},
             {"cross_validation", r.cv.to_json()},
             {"attention_audit", r.audit ? r.audit->to_json(r.cv.class_names) : nlohmann::json()},
             {"relative_attention_by_cell_type", by_type}});
    }
    return out;
}

void write_results(const std::filesystem::path& run_dir, const std::vector<EncoderRow>& rows) {
    write_file_atomic((run_dir / "results.json").string(), results_json(rows).dump(2) + "\n",
                      "write_results");
}

void write_report(const std::filesystem::path& run_dir, const std::vector<EncoderRow>& rows,
                  const ReportOptions& options) {
    eval::Report report(options.title);
    if (std::filesystem::exists(run_dir / "run.json"))
        report.add_metadata(
            nlohmann::json::parse(read_file((run_dir / "run.json").string(), "write_report")));
    // Table 1: one row per encoder
    eval::Table table{{"encoder", "macro F1", "balanced accuracy", "ROC AUC (macro)",
                       "PR AUC (macro)", "weighted F1", "accuracy", "runs"},
                      {},
                      "mean +- sd over folds x seeds; each run a fresh model on the training "
                      "folds, early-stopped on the validation fold, scored on the test fold"};
    for (const EncoderRow& r : rows) {
        const auto& s = r.cv.summary;
        table.rows.push_back({r.encoder, cell(s, "f1_macro"), cell(s, "balanced_accuracy"),
                              cell(s, "roc_auc_macro"), cell(s, "pr_auc_macro"),
                              cell(s, "f1_weighted"), cell(s, "accuracy"),
                              std::to_string(r.cv.runs.size())});
    }
    report.section("Patient-level classification").table(table);

    bool audited =
        std::any_of(rows.begin(), rows.end(), [](const auto& r) { return bool(r.audit); });
    if (audited) {
        const auto& classes = rows.front().cv.class_names;
        eval::Table audit{{"encoder"},
                          {},
                          "ROC AUC of the attention (the head of the patient's class) for "
                          "diagnostic vs other cells, per patient; mean +- sd over the patients "
                          "of a class with both kinds of cell (first seed's test folds)"};
        for (const auto& c : classes) audit.columns.push_back(c);
        audit.columns.push_back("all");
        for (const EncoderRow& r : rows) {
            std::vector<std::string> line{r.encoder};
            for (size_t c = 0; c < classes.size(); ++c)
                line.push_back(r.audit && c < r.audit->per_class.size() && r.audit->per_class[c].n
                                   ? eval::format_mean_sd(r.audit->per_class[c], 3)
                                   : "-");
            line.push_back(r.audit ? eval::format_mean_sd(r.audit->overall, 3) : "-");
            audit.rows.push_back(line);
        }
        report.section("Attention audit").table(audit);
    }

    for (const EncoderRow& r : rows) {
        auto& s =
            report.section(fmt::format("{}: {} on {} bags", r.encoder, r.cv.model, r.bags.size()));
        if (r.cv.runs.empty()) continue;
        const uint64_t seed = r.cv.runs.front().seed;
        PooledPredictions pooled = pooled_predictions(r.cv, seed);
        const auto& classes = r.cv.class_names;
        const int64_t k = int64_t(classes.size());
        s.figure(eval::confusion_matrix_plot(
                     eval::confusion_matrix(pooled.y_true, pooled.y_pred, k), classes),
                 fmt::format("Test folds pooled (seed {}): every patient once", seed));
        std::vector<eval::Curve> curves;
        for (int64_t c = 0; c < k; ++c) {
            std::vector<int64_t> y;
            for (int64_t t : pooled.y_true) y.push_back(t == c ? 1 : 0);
            if (std::count(y.begin(), y.end(), 1) == 0 || std::count(y.begin(), y.end(), 0) == 0)
                continue;
            std::vector<double> score = pooled.proba.column(c);
            eval::RocCurve roc = eval::roc_curve(y, score);
            curves.push_back({classes[size_t(c)], roc.fpr, roc.tpr, eval::roc_auc(y, score)});
        }
        if (!curves.empty())
            s.figure(eval::roc_plot(curves, {.title = "One-vs-rest ROC (test folds pooled)"}));
        const MilFoldRun& first = r.cv.runs.front();
        std::vector<eval::Series> loss = {{"train", {}, {}}, {"validation", {}, {}}};
        for (const EpochRecord& e : first.training.epochs) {
            loss[0].x.push_back(double(e.epoch + 1));
            loss[0].y.push_back(e.train_loss);
            loss[1].x.push_back(double(e.epoch + 1));
            loss[1].y.push_back(e.val_loss);
        }
        s.figure(
            eval::line_plot(
                loss, {.title = "Cross-entropy per epoch", .x_label = "epoch", .y_label = "loss"}),
            fmt::format("Seed {}, fold {}: best epoch {}", first.seed, first.fold,
                        first.training.best_epoch + 1));
        if (!r.attention_by_cell_type.empty()) {
            std::vector<std::string> types;
            std::vector<double> mean, sd;
            for (const auto& [t, m] : r.attention_by_cell_type) {
                types.push_back(t);
                mean.push_back(m.mean);
                sd.push_back(std::isfinite(m.sd) ? m.sd : 0);
            }
            s.figure(eval::bar_chart(types, mean,
                                     {.title = "Relative attention by cell type",
                                      .y_label = "attention x N (1 = uniform)"},
                                     sd, 2),
                     "Mean +- sd over the cells of each type, in the head of the patient's class");
        }
        if (!r.umap_x.empty())
            s.figure(eval::scatter_plot(r.umap_x, r.umap_y, r.umap_labels, r.umap_classes,
                                        {.title = "UMAP of the cell features"}),
                     fmt::format("{} cells, coloured by cell type", r.umap_x.size()));
        if (options.top_k > 0 && options.images) {
            FirstSeedTests tests = first_seed_tests(r);
            const std::vector<BagPrediction>& preds = tests.preds;
            const std::vector<size_t>& index = tests.index;
            for (int64_t c = 0; c < k; ++c) {
                std::vector<std::tuple<double, size_t, int64_t>> cells;  // (a x N, bag, cell)
                for (size_t j = 0; j < preds.size(); ++j) {
                    if (preds[j].label != c) continue;
                    Tensor a = contiguous(to(preds[j].attention, DType::f64));
                    int64_t n = a.size(1), head = head_for_class(a, c);
                    for (int64_t i = 0; i < n; ++i)
                        cells.emplace_back(a.data<double>()[head * n + i] * double(n), index[j], i);
                }
                std::sort(cells.begin(), cells.end(), std::greater<>());
                std::vector<eval::MontageItem> items;
                std::string unreadable;
                for (const auto& [v, b, i] : cells) {
                    if (int(items.size()) >= options.top_k) break;
                    const Bag& bag = r.bags[b];
                    if (bag.instance_names.empty()) break;
                    try {  // a moved dataset costs the montage, not the report
                        items.push_back({data::read_image(bag.instance_names[size_t(i)]),
                                         fmt::format("{} a*N={:.1f}", bag.id, v)});
                    } catch (const std::exception& e) {
                        unreadable = e.what();
                        break;
                    }
                }
                if (!items.empty())
                    s.montage(items, fmt::format("Most attended cells of {} patients",
                                                 classes[size_t(c)]));
                if (!unreadable.empty())
                    s.paragraph("Most attended cells not shown: " + unreadable);
            }
        }
    }
    report.save(run_dir / "report.html");
}

}  // namespace marrow::mil
