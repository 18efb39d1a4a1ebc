// An example evaluation report with every figure kind, for the Chromium rendering test
// (tests/eval/render_report_test.sh) and the README's screenshot. Data are synthetic and
// seeded (Philox via data::SampleRng): Gaussian blobs for the embedding, noisy one-vs-rest
// scores for the ROC / PR curves, synthetic blood-cell images for the montage.
//
//   report_example OUT_DIR                     writes OUT_DIR/report.html (+ metrics.jsonl, .svg)
//   report_example --check-screenshot PNG W H  checks a screenshot: size W x H, not blank
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image.h"
#include "data/synth_cell.h"
#include "data/transforms.h"
#include "eval/metrics.h"
#include "eval/plots.h"
#include "eval/report.h"

using namespace marrow;
namespace fs = std::filesystem;

namespace {

double normal(data::SampleRng& rng) {  // Box-Muller
    double u = std::max(rng.uniform(), 1e-12), v = rng.uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(2 * M_PI * v);
}

// One-vs-rest ROC and PR points of scores for the positive class (ties broken by index,
// enough for an example; the parity-tested curves are in eval/metrics).
eval::Curve roc_points(const std::vector<double>& score, const std::vector<bool>& pos,
                       const std::string& label, eval::Curve* pr) {
    std::vector<size_t> order(score.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] > score[b]; });
    double n_pos = double(std::count(pos.begin(), pos.end(), true)), n_neg = score.size() - n_pos;
    eval::Curve roc{.label = label, .x = {0}, .y = {0}};
    pr->label = label;
    double tp = 0, fp = 0, auc = 0, ap = 0, prev_recall = 0;
    for (size_t i : order) {
        (pos[i] ? tp : fp) += 1;
        double tpr = tp / n_pos, fpr = fp / n_neg;
        auc += (fpr - roc.x.back()) * (tpr + roc.y.back()) / 2;
        roc.x.push_back(fpr), roc.y.push_back(tpr);
        if (pos[i]) {
            ap += (tpr - prev_recall) * tp / (tp + fp);
            prev_recall = tpr;
        }
    }
    // PR points in sklearn's order: recall decreasing.
    std::vector<double> rec, prec;
    tp = fp = 0;
    for (size_t i : order) {
        (pos[i] ? tp : fp) += 1;
        rec.push_back(tp / n_pos), prec.push_back(tp / (tp + fp));
    }
    pr->x.assign(rec.rbegin(), rec.rend());
    pr->y.assign(prec.rbegin(), prec.rend());
    pr->x.push_back(0), pr->y.push_back(1);
    roc.area = auc;
    pr->area = ap;
    return roc;
}

std::string name_of(data::CellType type) {  // "neutrophil_band" -> "neutrophil band"
    std::string s(data::cell_type_name(type));
    std::replace(s.begin(), s.end(), '_', ' ');
    return s;
}

int write_report(const fs::path& dir) {
    fs::create_directories(dir);
    const std::vector<std::string> names = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                            "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                            "Bag",         "Ankle boot"};
    const int k = int(names.size());
    eval::Report report("Example run: 20-NN on Fashion-MNIST-like features <synthetic & seeded>");
    report.add_metadata(
        nlohmann::json{{"run", "report_example"},
                       {"seed", 7},
                       {"protocol", {{"kind", "stratified 5-fold"}, {"repeats", 2}}},
                       {"features", "synthetic blobs (64-d)"},
                       {"code_version", "example"}});

    // Results: mean ± sd over 5 folds x 2 seeds (synthetic values).
    data::SampleRng rng(7, 0, 0, 0);
    eval::Table table{.columns = {"method", "accuracy", "balanced accuracy", "macro F1",
                                  "weighted F1", "ROC AUC (macro)"},
                      .caption = "mean ± sd over 5 folds × 2 seeds"};
    const std::vector<std::pair<std::string, double>> methods = {{"1-NN (L2)", 0.85},
                                                                 {"20-NN (cosine, T = 0.07)", 0.86},
                                                                 {"linear probe", 0.84},
                                                                 {"random forest", 0.877}};
    for (const auto& [m, base] : methods) {
        std::vector<std::string> row{m};
        for (int c = 0; c < 5; ++c) {
            std::vector<double> v;
            for (int f = 0; f < 10; ++f)
                v.push_back(base + (c == 4 ? 0.1 : 0) + 0.01 * normal(rng));
            eval::MeanSd ms = eval::mean_sd(v);
            row.push_back(eval::format_mean_sd(ms));
        }
        table.rows.push_back(row);
    }
    auto& results = report.section("Results");
    results.paragraph(
        "Every number below is synthetic: this page exercises each figure kind of "
        "marrow's report writer.");
    results.table(table);

    // Embedding: k Gaussian blobs; predictions = nearest blob centre (for the confusion matrix).
    std::vector<double> cx, cy, x, y, attention;
    std::vector<int64_t> label, pred;
    for (int c = 0; c < k; ++c) {
        cx.push_back(6 * std::cos(2 * M_PI * c / k) + 1.5 * normal(rng));
        cy.push_back(4 * std::sin(2 * M_PI * c / k) + 1.5 * normal(rng));
    }
    for (int i = 0; i < 1500; ++i) {
        int c = int(rng.integer(0, k));
        double px = cx[size_t(c)] + 1.1 * normal(rng), py = cy[size_t(c)] + 1.1 * normal(rng);
        x.push_back(px), y.push_back(py), label.push_back(c);
        int best = 0;
        double best_d = INFINITY;
        for (int j = 0; j < k; ++j) {
            double d = std::hypot(px - cx[size_t(j)], py - cy[size_t(j)]) + 0.8 * normal(rng);
            if (d < best_d) best_d = d, best = j;
        }
        pred.push_back(best);
        attention.push_back(std::exp(-0.15 * (px * px + py * py)));
    }
    auto& figs = report.section("Confusion matrix and per-class F1");
    eval::ConfusionMatrix cm = eval::confusion_matrix(label, pred, k);
    figs.figure(eval::confusion_matrix_plot(cm, names),
                "Rows: true class; columns: predicted "
                "class; cells: fraction of the row (count).");
    std::vector<double> f1, f1_sd;
    for (int c = 0; c < k; ++c) {
        double tp = double(cm[size_t(c)][size_t(c)]), row = 0, col = 0;
        for (int j = 0; j < k; ++j)
            row += double(cm[size_t(c)][size_t(j)]), col += double(cm[size_t(j)][size_t(c)]);
        f1.push_back(2 * tp / (row + col));
        f1_sd.push_back(0.01 + 0.02 * rng.uniform());
    }
    eval::PlotOptions bar{.title = "Per-class F1",
                          .x_label = "class",
                          .y_label = "F1",
                          .width = 500,
                          .height = 380,
                          .y_min = 0,
                          .y_max = 1};
    figs.figure(eval::bar_chart(names, f1, bar, f1_sd, 2), "Bars: F1; whiskers: ± sd over folds.");

    // ROC and PR: five classes, scores = noisy class evidence.
    const std::vector<std::string> five = {"neutrophil", "lymphocyte", "monocyte", "eosinophil",
                                           "blast <AML & \"MDS\">"};
    std::vector<eval::Curve> rocs, prs;
    for (int c = 0; c < 5; ++c) {
        std::vector<double> score;
        std::vector<bool> pos;
        for (int i = 0; i < 400; ++i) {
            bool p = rng.uniform() < 0.2;
            pos.push_back(p);
            score.push_back((p ? 1.0 + 0.35 * c : 0.0) + normal(rng));
        }
        eval::Curve pr;
        rocs.push_back(roc_points(score, pos, five[size_t(c)], &pr));
        prs.push_back(pr);
    }
    auto& curves = report.section("ROC and precision-recall curves (one vs rest)");
    eval::PlotOptions sq{.title = "ROC", .width = 360, .height = 360};
    curves.figure(eval::roc_plot(rocs, sq));
    sq.title = "Precision-recall";
    curves.figure(eval::pr_plot(prs, sq));

    auto& emb = report.section("Embedding");
    eval::PlotOptions sc{.title = "UMAP of the test features",
                         .x_label = "UMAP 1",
                         .y_label = "UMAP 2",
                         .width = 470,
                         .height = 420};
    eval::Svg scatter = eval::scatter_plot(x, y, label, names, sc);
    scatter.save(dir / "umap.svg");
    emb.figure(scatter, "Coloured by class (tab10).");
    sc.title = "Coloured by attention";
    emb.figure(eval::scatter_plot(x, y, attention, "attention", sc), "Viridis colour bar.");

    // Training curves: metrics.jsonl as the training apps write it (a null is a NaN loss).
    {
        std::ofstream m(dir / "metrics.jsonl");
        for (int step = 0; step <= 2000; step += 50) {
            double t = step / 2000.0;
            nlohmann::json j{{"step", step}, {"epoch", step / 400}, {"lr", 0.1 * (1 - t)}};
            j["train_loss"] =
                step == 850 ? nlohmann::json(nullptr)
                            : nlohmann::json(2.3 * std::exp(-3 * t) + 0.25 + 0.04 * normal(rng));
            if (step % 200 == 0)
                j["val_loss"] = 2.3 * std::exp(-2.6 * t) + 0.36 + 0.02 * normal(rng);
            m << j.dump() << "\n";
        }
    }
    auto& train = report.section("Training curves");
    eval::PlotOptions tc{.title = "Loss", .y_label = "cross-entropy", .width = 560, .height = 360};
    train.training_curves(dir / "metrics.jsonl", "step", {"train_loss", "val_loss"}, tc,
                          "From metrics.jsonl; the gap at step 850 is a NaN loss.");

    // Montage: the top cells by a synthetic attention score.
    std::vector<eval::MontageItem> cells;
    for (int i = 0; i < 16; ++i) {
        data::SampleRng cell_rng(11, 0, uint64_t(i), 0);
        data::CellSpec spec;
        spec.type = data::CellType(i % data::kNumCellTypes);
        data::Image im = data::render_cell(spec, 128, data::site_appearance(0, 0), cell_rng);
        cells.push_back(
            {im, "a = " + std::to_string(1.0 - 0.05 * i).substr(0, 4) + ", " + name_of(spec.type)});
    }
    auto& mont = report.section("Most-attended cells");
    mont.montage(cells, "Top 16 cells of patient P-017 by attention", 96);

    report.save(dir / "report.html");
    std::printf("wrote %s\n", (dir / "report.html").c_str());
    return 0;
}

// The screenshot is W x H, and not blank: luminance variance above a floor, many distinct
// colours, a fair share of non-white pixels.
int check_screenshot(const fs::path& png, int width, int height) {
    data::Image im = data::read_image(png);
    std::printf("screenshot %s: %dx%d\n", png.c_str(), im.width, im.height);
    if (im.width != width || im.height != height) {
        std::printf("FAIL: expected %dx%d\n", width, height);
        return 1;
    }
    double sum = 0, sum2 = 0;
    size_t non_white = 0, n = size_t(im.width) * size_t(im.height);
    std::set<uint32_t> colors;
    for (int yy = 0; yy < im.height; ++yy)
        for (int xx = 0; xx < im.width; ++xx) {
            uint8_t r = im.at(yy, xx, 0), g = im.at(yy, xx, 1), b = im.at(yy, xx, 2);
            double l = 0.299 * r + 0.587 * g + 0.114 * b;
            sum += l, sum2 += l * l;
            non_white += l < 235;
            colors.insert(uint32_t(r) << 16 | uint32_t(g) << 8 | b);
        }
    double mean = sum / double(n), var = sum2 / double(n) - mean * mean;
    double frac = double(non_white) / double(n);
    std::printf(
        "luminance variance %.1f (floor 200), distinct colours %zu (floor 200), "
        "non-white pixels %.3f (floor 0.05)\n",
        var, colors.size(), frac);
    bool ok = var > 200 && colors.size() > 200 && frac > 0.05;
    std::printf("%s\n", ok ? "screenshot OK" : "FAIL: the screenshot looks blank");
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc == 5 && std::string(argv[1]) == "--check-screenshot")
            return check_screenshot(argv[2], std::stoi(argv[3]), std::stoi(argv[4]));
        if (argc == 2) return write_report(argv[1]);
        std::fprintf(stderr,
                     "usage: report_example OUT_DIR | report_example --check-screenshot PNG W H\n");
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "report_example: %s\n", e.what());
        return 1;
    }
}
