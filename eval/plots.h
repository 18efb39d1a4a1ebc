// The figure kinds of an evaluation report, each returned as an Svg (save() it as a standalone
// .svg or embed element() in HTML): line plots, ROC and precision-recall curves, scatter
// plots coloured by class or by a value, confusion-matrix heatmaps and bar charts. They follow
// matplotlib / scikit-learn's displays (RocCurveDisplay, PrecisionRecallDisplay,
// ConfusionMatrixDisplay) in what they show; the drawing is ours (eval/svg.h).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/colormap.h"
#include "eval/metrics.h"
#include "eval/svg.h"

namespace marrow::eval {

// One line of a line plot. Non-finite y values break the line (a NaN loss shows as a gap).
struct Series {
    std::string label{};
    std::vector<double> x{}, y{};  // same length
    std::optional<Rgb> color{};    // default: tab10 by series index
    std::string dash{};            // SVG stroke-dasharray, e.g. "6 4"; empty: solid
    bool steps = false;            // matplotlib's drawstyle="steps-post"
    bool markers = false;          // a dot at each finite point
};

// Several series against shared axes, with a legend of the labelled series.
Svg line_plot(const std::vector<Series>& series, const PlotOptions& options);

// A ROC or precision-recall curve of one class: its points and the area to print in the
// legend (ROC AUC or average precision).
struct Curve {
    std::string label{};
    std::vector<double> x{}, y{};  // ROC: fpr, tpr; PR: recall, precision (sklearn's *_curve order)
    double area = 0;
};

// One-vs-rest ROC curves (sklearn.metrics.roc_curve points) on [0, 1]^2 with the chance
// diagonal; legend "label (AUC = 0.953)". Default axis labels: false / true positive rate.
Svg roc_plot(const std::vector<Curve>& curves, PlotOptions options = {});

// Precision-recall curves (sklearn.metrics.precision_recall_curve points) drawn as steps,
// as PrecisionRecallDisplay does; legend "label (AP = 0.912)".
Svg pr_plot(const std::vector<Curve>& curves, PlotOptions options = {});

// Points (x[i], y[i]) coloured by class labels[i] in [0, class_names.size()) (tab10 up to 10
// classes, tab20 beyond), legend of class names; e.g. a UMAP of embeddings. Points are drawn
// in a fixed shuffled order (by a hash of the index), so no class hides under the last one.
Svg scatter_plot(const std::vector<double>& x, const std::vector<double>& y,
                 const std::vector<int64_t>& labels, const std::vector<std::string>& class_names,
                 const PlotOptions& options, double point_radius = 2.5);

// Points coloured by a continuous value through viridis, with a colour bar titled
// value_label.
Svg scatter_plot(const std::vector<double>& x, const std::vector<double>& y,
                 const std::vector<double>& values, const std::string& value_label,
                 const PlotOptions& options, double point_radius = 2.5);

struct ConfusionOptions {
    bool normalize_rows = true;  // colour and print each row divided by its count
    bool show_counts = true;     // print the counts (below the fraction when normalized)
    Colormap colormap = Colormap::kViridis;  // ConfusionMatrixDisplay's default
    std::string title = "Confusion matrix";
};

// Heatmap of a confusion matrix as sklearn's ConfusionMatrixDisplay: rows the true class
// ("True label", top to bottom), columns the predicted class ("Predicted label"), each cell
// coloured by its value (row fraction in [0, 1] or count in [0, max]) with the value printed
// in a contrasting colour, and a colour bar. class_names.size() must equal the matrix size.
Svg confusion_matrix_plot(const ConfusionMatrix& matrix,
                          const std::vector<std::string>& class_names,
                          const ConfusionOptions& options = {});

// Vertical bars, one per category (e.g. per-class F1), value printed above each bar with
// `decimals` decimals; errors (optional, same length): +- error bars (e.g. sd over folds).
Svg bar_chart(const std::vector<std::string>& categories, const std::vector<double>& values,
              const PlotOptions& options, const std::vector<double>& errors = {}, int decimals = 3);

}  // namespace marrow::eval
