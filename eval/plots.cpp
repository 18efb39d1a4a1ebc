// Figure kinds on the SVG writer (see plots.h).
#include "eval/plots.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tensor/error.h"

namespace marrow::eval {
namespace {

constexpr Rgb kChance{0x88, 0x88, 0x88}, kCellLine{0xff, 0xff, 0xff};

// Finite min and max of v (lo > hi when none is finite).
std::pair<double, double> finite_range(const std::vector<double>& v) {
    double lo = INFINITY, hi = -INFINITY;
    for (double a : v)
        if (std::isfinite(a)) lo = std::min(lo, a), hi = std::max(hi, a);
    return {lo, hi};
}

// Axis ticks from the options' limits where given, else from the data range.
std::vector<double> axis_ticks(double opt_lo, double opt_hi, double lo, double hi) {
    if (!std::isnan(opt_lo)) lo = opt_lo;
    if (!std::isnan(opt_hi)) hi = opt_hi;
    if (!(lo <= hi)) lo = 0, hi = 1;  // nothing finite to show
    return nice_ticks(lo, hi);
}

void check_same_size(const char* who, const std::string& what, size_t nx, size_t ny) {
    MARROW_CHECK(nx == ny, "{}: {}: {} x values but {} y values", who, what, nx, ny);
}

// A vertical colour bar right of the frame for values in [lo, hi].
void draw_colorbar(Svg& svg, const Frame& frame, Colormap map, double lo, double hi,
                   const std::string& title) {
    double x = frame.right() + 20, w = 14, top = frame.top(), h = frame.plot_height();
    constexpr int kSteps = 128;
    for (int i = 0; i < kSteps; ++i) {
        double t = (i + 0.5) / kSteps;  // bottom (0) to top (1)
        svg.rect(x, top + h * (1 - double(i + 1) / kSteps), w, h / kSteps + 0.6, colormap(map, t));
    }
    svg.rect_outline(x, top, w, h, {0x44, 0x44, 0x44}, 0.8);
    std::vector<double> ticks = nice_ticks(lo, hi);
    double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
    for (double t : ticks) {
        if (t < lo - 1e-12 * std::abs(step) || t > hi + 1e-12 * std::abs(step)) continue;
        double y = top + h * (1 - (t - lo) / (hi - lo));
        svg.line(x + w, y, x + w + 4, y, {0x44, 0x44, 0x44}, 1);
        svg.text(x + w + 7, y, format_tick(t, step),
                 {.size = 10.5, .color = {0x44, 0x44, 0x44}, .middle_baseline = true});
    }
    if (!title.empty())
        svg.text(x + w + 48, top + h / 2, title,
                 {.size = 11.5, .anchor = Anchor::kMiddle, .rotate = -90});
}

double colorbar_width(double lo, double hi, const std::string& title) {
    std::vector<double> ticks = nice_ticks(lo, hi);
    double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
    double widest = 0;
    for (double t : ticks) widest = std::max(widest, text_width(format_tick(t, step), 10.5));
    return 20 + 14 + 7 + std::max(widest, title.empty() ? 0.0 : 22.0) + (title.empty() ? 4 : 22);
}

uint64_t mix(uint64_t z) {  // splitmix64's finalizer
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// A polyline in pixels, and how to stroke it.
struct Line {
    std::vector<std::pair<double, double>> points{};
    Rgb color{};
    double width = 2;
    std::string dash{};
};

// Draws the lines (and dots: x, y, colour) on the frame's axes, with the legend inside the
// plot area where a corner is free of data, else outside.
Svg draw_lines(Frame& frame, const std::vector<Line>& lines,
               const std::vector<std::pair<std::pair<double, double>, Rgb>>& dots,
               const std::vector<LegendEntry>& legend) {
    auto [box_w, box_h] = Frame::legend_box_size(legend);
    std::optional<std::pair<double, double>> spot;
    if (!legend.empty()) {
        std::vector<std::vector<std::pair<double, double>>> obstacles;
        for (const Line& l : lines) obstacles.push_back(l.points);
        for (const auto& d : dots) obstacles.push_back({d.first});
        spot = frame.free_corner(box_w, box_h, obstacles);
        if (!spot) frame.set_legend_width(Frame::legend_width(legend));
    }
    Svg svg(frame.width(), frame.height());
    frame.draw_axes(svg);
    // Lines hugging the axis limits would be half hidden by the frame: the clip extends a
    // little past it.
    svg.begin_clip(frame.left() - 3, frame.top() - 3, frame.plot_width() + 6,
                   frame.plot_height() + 6);
    for (const Line& l : lines) svg.polyline(l.points, l.color, l.width, l.dash);
    for (const auto& d : dots) svg.circle(d.first.first, d.first.second, 3, d.second);
    svg.end_clip();
    if (spot)
        frame.draw_legend_box(svg, legend, spot->first, spot->second);
    else
        frame.draw_legend(svg, legend);
    return svg;
}

Svg curves_plot(const std::vector<Curve>& curves, PlotOptions options, const char* who,
                const char* area_name, bool steps, bool diagonal) {
    MARROW_CHECK(!curves.empty(), "{}: no curves", who);
    std::vector<LegendEntry> legend;
    for (size_t c = 0; c < curves.size(); ++c) {
        const Curve& cv = curves[c];
        check_same_size(who, cv.label, cv.x.size(), cv.y.size());
        MARROW_CHECK(!cv.x.empty(), "{}: curve '{}' has no points", who, cv.label);
        for (size_t i = 0; i < cv.x.size(); ++i)
            MARROW_CHECK(std::isfinite(cv.x[i]) && std::isfinite(cv.y[i]),
                         "{}: curve '{}' point {} is ({}, {})", who, cv.label, i, cv.x[i], cv.y[i]);
        legend.push_back({fmt::format("{} ({} = {:.3f})", cv.label, area_name, cv.area),
                          category_color(int64_t(c), int64_t(curves.size()))});
    }
    if (diagonal)
        legend.push_back({"chance (AUC = 0.5)", kChance, LegendEntry::Kind::kLine, "5 4"});
    if (std::isnan(options.x_min)) options.x_min = 0;
    if (std::isnan(options.x_max)) options.x_max = 1;
    if (std::isnan(options.y_min)) options.y_min = 0;
    if (std::isnan(options.y_max)) options.y_max = 1;
    Frame frame(options, nice_ticks(options.x_min, options.x_max),
                nice_ticks(options.y_min, options.y_max));
    std::vector<Line> lines;
    if (diagonal)
        lines.push_back(
            {{{frame.px(0), frame.py(0)}, {frame.px(1), frame.py(1)}}, kChance, 1.3, "5 4"});
    for (size_t c = 0; c < curves.size(); ++c) {
        const Curve& cv = curves[c];
        Line line{.color = legend[c].color};
        for (size_t i = 0; i < cv.x.size(); ++i) {
            if (steps && i > 0) line.points.emplace_back(frame.px(cv.x[i]), frame.py(cv.y[i - 1]));
            line.points.emplace_back(frame.px(cv.x[i]), frame.py(cv.y[i]));
        }
        lines.push_back(std::move(line));
    }
    return draw_lines(frame, lines, {}, legend);
}

}  // namespace

Svg line_plot(const std::vector<Series>& series, const PlotOptions& options) {
    MARROW_CHECK(!series.empty(), "line_plot: no series");
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    std::vector<LegendEntry> legend;
    std::vector<Rgb> colors;
    for (size_t s = 0; s < series.size(); ++s) {
        const Series& se = series[s];
        check_same_size("line_plot", se.label, se.x.size(), se.y.size());
        for (size_t i = 0; i < se.x.size(); ++i) {
            MARROW_CHECK(std::isfinite(se.x[i]), "line_plot: series '{}' x[{}] is {}", se.label, i,
                         se.x[i]);
            if (!std::isfinite(se.y[i])) continue;
            xlo = std::min(xlo, se.x[i]), xhi = std::max(xhi, se.x[i]);
            ylo = std::min(ylo, se.y[i]), yhi = std::max(yhi, se.y[i]);
        }
        colors.push_back(se.color.value_or(category_color(int64_t(s), int64_t(series.size()))));
        if (!se.label.empty())
            legend.push_back({se.label, colors.back(), LegendEntry::Kind::kLine, se.dash});
    }
    Frame frame(options, axis_ticks(options.x_min, options.x_max, xlo, xhi),
                axis_ticks(options.y_min, options.y_max, ylo, yhi));
    std::vector<Line> lines;
    std::vector<std::pair<std::pair<double, double>, Rgb>> dots;
    for (size_t s = 0; s < series.size(); ++s) {
        const Series& se = series[s];
        Line line{.color = colors[s], .dash = se.dash};
        auto flush = [&] {
            if (line.points.size() > 1) lines.push_back(line);
            line.points.clear();
        };
        for (size_t i = 0; i < se.x.size(); ++i) {
            if (!std::isfinite(se.y[i])) {  // a gap
                flush();
                continue;
            }
            if (se.steps && !line.points.empty())
                line.points.emplace_back(frame.px(se.x[i]), line.points.back().second);
            line.points.emplace_back(frame.px(se.x[i]), frame.py(se.y[i]));
            if (se.markers) dots.push_back({line.points.back(), colors[s]});
        }
        flush();
    }
    return draw_lines(frame, lines, dots, legend);
}

Svg roc_plot(const std::vector<Curve>& curves, PlotOptions options) {
    if (options.x_label.empty()) options.x_label = "False positive rate";
    if (options.y_label.empty()) options.y_label = "True positive rate";
    return curves_plot(curves, options, "roc_plot", "AUC", false, true);
}

Svg pr_plot(const std::vector<Curve>& curves, PlotOptions options) {
    if (options.x_label.empty()) options.x_label = "Recall";
    if (options.y_label.empty()) options.y_label = "Precision";
    return curves_plot(curves, options, "pr_plot", "AP", true, false);
}

namespace {

struct ScatterFrame {
    Frame frame;
    Svg svg;
};

ScatterFrame scatter_frame(const char* who, const std::vector<double>& x,
                           const std::vector<double>& y, size_t n_colors, const char* color_what,
                           const PlotOptions& options, double legend_w) {
    MARROW_CHECK(!x.empty(), "{}: no points", who);
    MARROW_CHECK(x.size() == y.size(), "{}: {} x values but {} y values", who, x.size(), y.size());
    MARROW_CHECK(n_colors == x.size(), "{}: {} points but {} {}", who, x.size(), n_colors,
                 color_what);
    for (size_t i = 0; i < x.size(); ++i)
        MARROW_CHECK(std::isfinite(x[i]) && std::isfinite(y[i]), "{}: point {} is ({}, {})", who, i,
                     x[i], y[i]);
    auto [xlo, xhi] = finite_range(x);
    auto [ylo, yhi] = finite_range(y);
    Frame frame(options, axis_ticks(options.x_min, options.x_max, xlo, xhi),
                axis_ticks(options.y_min, options.y_max, ylo, yhi), legend_w);
    Svg svg(frame.width(), frame.height());
    frame.draw_axes(svg);
    return {frame, svg};
}

std::vector<size_t> hashed_order(size_t n) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [](size_t a, size_t b) { return mix(a) < mix(b); });
    return order;
}

}  // namespace

Svg scatter_plot(const std::vector<double>& x, const std::vector<double>& y,
                 const std::vector<int64_t>& labels, const std::vector<std::string>& class_names,
                 const PlotOptions& options, double point_radius) {
    MARROW_CHECK(!class_names.empty(), "scatter_plot: no class names");
    const auto n_classes = int64_t(class_names.size());
    for (size_t i = 0; i < labels.size(); ++i)
        MARROW_CHECK(labels[i] >= 0 && labels[i] < n_classes,
                     "scatter_plot: label {} of point {} outside [0, {}) (the class names)",
                     labels[i], i, n_classes);
    std::vector<LegendEntry> legend;
    for (int64_t c = 0; c < n_classes; ++c)
        legend.push_back(
            {class_names[size_t(c)], category_color(c, n_classes), LegendEntry::Kind::kDot});
    auto [frame, svg] = scatter_frame("scatter_plot", x, y, labels.size(), "labels", options,
                                      Frame::legend_width(legend));
    svg.begin_clip(frame.left(), frame.top(), frame.plot_width(), frame.plot_height());
    for (size_t i : hashed_order(x.size()))
        svg.circle(frame.px(x[i]), frame.py(y[i]), point_radius, legend[size_t(labels[i])].color,
                   0.8);
    svg.end_clip();
    frame.draw_legend(svg, legend);
    return svg;
}

Svg scatter_plot(const std::vector<double>& x, const std::vector<double>& y,
                 const std::vector<double>& values, const std::string& value_label,
                 const PlotOptions& options, double point_radius) {
    for (size_t i = 0; i < values.size(); ++i)
        MARROW_CHECK(std::isfinite(values[i]), "scatter_plot: value of point {} is {}", i,
                     values[i]);
    auto [vlo, vhi] = finite_range(values);
    if (!(vlo < vhi)) vhi = vlo + 1;  // constant (or none): the bar still has a range
    auto [frame, svg] = scatter_frame("scatter_plot", x, y, values.size(), "values", options,
                                      colorbar_width(vlo, vhi, value_label));
    svg.begin_clip(frame.left(), frame.top(), frame.plot_width(), frame.plot_height());
    for (size_t i : hashed_order(x.size()))
        svg.circle(frame.px(x[i]), frame.py(y[i]), point_radius,
                   viridis((values[i] - vlo) / (vhi - vlo)), 0.85);
    svg.end_clip();
    draw_colorbar(svg, frame, Colormap::kViridis, vlo, vhi, value_label);
    return svg;
}

Svg confusion_matrix_plot(const ConfusionMatrix& matrix,
                          const std::vector<std::string>& class_names,
                          const ConfusionOptions& options) {
    const size_t n = matrix.size();
    MARROW_CHECK(n > 0, "confusion_matrix_plot: empty matrix");
    MARROW_CHECK(class_names.size() == n,
                 "confusion_matrix_plot: {} class names for a {}x{} matrix", class_names.size(), n,
                 n);
    int64_t max_count = 0;
    std::vector<int64_t> row_sum(n, 0);
    for (size_t r = 0; r < n; ++r) {
        MARROW_CHECK(matrix[r].size() == n, "confusion_matrix_plot: row {} has {} entries, not {}",
                     r, matrix[r].size(), n);
        for (int64_t v : matrix[r]) {
            MARROW_CHECK(v >= 0, "confusion_matrix_plot: negative count {} in row {}", v, r);
            row_sum[r] += v;
            max_count = std::max(max_count, v);
        }
    }
    // Cells of 22-70 px, square; long class names rotate on the x axis.
    double cell = std::clamp(440.0 / double(n), 22.0, 70.0);
    size_t longest = 0;
    for (const auto& s : class_names) longest = std::max(longest, s.size());
    double rotate = double(longest) * 6.6 > cell - 4 ? -40 : 0;
    PlotOptions po{.title = options.title, .x_label = "Predicted label", .y_label = "True label"};
    double vmax = options.normalize_rows ? 1.0 : double(std::max<int64_t>(max_count, 1));
    std::string bar_title = options.normalize_rows ? "fraction of row" : "count";
    double bar_w = colorbar_width(0, vmax, bar_title);
    auto make_frame = [&](double w, double h) {
        po.width = w, po.height = h;
        Frame f(po, {0, 1}, {0, 1}, bar_w);
        f.set_grid(false);
        f.set_x_categories(class_names, rotate);
        f.set_y_categories(class_names);
        return f;
    };
    Frame probe = make_frame(400, 400);
    Frame frame = make_frame(probe.left() + cell * double(n) + 18,
                             probe.top() + cell * double(n) + (probe.height() - probe.bottom()));
    Svg svg(frame.width(), frame.height());
    double fsize = std::min(12.5, cell * 0.27);
    bool two_lines = options.normalize_rows && options.show_counts && cell >= 34;
    for (size_t r = 0; r < n; ++r) {
        for (size_t c = 0; c < n; ++c) {
            int64_t count = matrix[r][c];
            double frac = row_sum[r] > 0 ? double(count) / double(row_sum[r]) : 0.0;
            double v = options.normalize_rows ? frac : double(count) / vmax;
            Rgb bg = colormap(options.colormap, v);
            double x = frame.px(double(c)), y = frame.py(double(r));
            svg.rect(x, y, cell, cell, bg);
            TextStyle ts{.size = fsize,
                         .anchor = Anchor::kMiddle,
                         .color = contrasting_text(bg),
                         .middle_baseline = true};
            std::string main =
                options.normalize_rows ? fmt::format("{:.2f}", frac) : fmt::format("{}", count);
            if (two_lines) {
                svg.text(x + cell / 2, y + cell / 2 - fsize * 0.55, main, ts);
                ts.size = fsize * 0.85;
                svg.text(x + cell / 2, y + cell / 2 + fsize * 0.65, fmt::format("({})", count), ts);
            } else {
                svg.text(x + cell / 2, y + cell / 2, main, ts);
            }
        }
    }
    // Thin white lines between cells keep equal colours apart.
    for (size_t i = 1; i < n; ++i) {
        svg.line(frame.px(double(i)), frame.top(), frame.px(double(i)), frame.bottom(), kCellLine,
                 0.8);
        svg.line(frame.left(), frame.py(double(i)), frame.right(), frame.py(double(i)), kCellLine,
                 0.8);
    }
    frame.draw_axes(svg);
    draw_colorbar(svg, frame, options.colormap, 0, vmax, bar_title);
    return svg;
}

Svg bar_chart(const std::vector<std::string>& categories, const std::vector<double>& values,
              const PlotOptions& options, const std::vector<double>& errors, int decimals) {
    MARROW_CHECK(!categories.empty(), "bar_chart: no categories");
    MARROW_CHECK(values.size() == categories.size(), "bar_chart: {} categories but {} values",
                 categories.size(), values.size());
    MARROW_CHECK(errors.empty() || errors.size() == values.size(),
                 "bar_chart: {} values but {} errors", values.size(), errors.size());
    double lo = 0, hi = 0;
    for (size_t i = 0; i < values.size(); ++i) {
        MARROW_CHECK(std::isfinite(values[i]), "bar_chart: value of '{}' (bar {}) is {}",
                     categories[i], i, values[i]);
        double e = errors.empty() ? 0 : std::abs(errors[i]);
        lo = std::min(lo, values[i] - e), hi = std::max(hi, values[i] + e);
    }
    size_t longest = 0;
    for (const auto& s : categories) longest = std::max(longest, s.size());
    double slot = (options.width - 80) / double(categories.size());
    double rotate = double(longest) * 6.6 > slot - 4 ? -40 : 0;
    // Headroom for the value printed above the tallest bar.
    Frame frame(options, {0, 1},
                axis_ticks(options.y_min, options.y_max, lo, hi + 0.1 * (hi - lo)));
    frame.set_x_categories(categories, rotate);
    Svg svg(frame.width(), frame.height());
    frame.draw_axes(svg);
    Rgb color = tab10(0), ink{0x33, 0x33, 0x33};
    double w = frame.px(1) - frame.px(0);
    for (size_t i = 0; i < values.size(); ++i) {
        double x0 = frame.px(double(i) + 0.15), x1 = frame.px(double(i) + 0.85);
        double y0 = frame.py(0), y1 = frame.py(values[i]);
        svg.rect(x0, std::min(y0, y1), x1 - x0, std::abs(y1 - y0), color, 0.9);
        double label_y = std::min(y0, y1);
        if (!errors.empty()) {
            double xm = (x0 + x1) / 2, ea = frame.py(values[i] + std::abs(errors[i])),
                   eb = frame.py(values[i] - std::abs(errors[i]));
            svg.line(xm, ea, xm, eb, ink, 1.2);
            svg.line(xm - w * 0.08, ea, xm + w * 0.08, ea, ink, 1.2);
            svg.line(xm - w * 0.08, eb, xm + w * 0.08, eb, ink, 1.2);
            label_y = std::min(label_y, ea);
        }
        // The value above the bar (and its whisker), or inside the bar's top when that would
        // leave the plot area.
        double fs = std::min(11.0, w * 0.3);
        std::string value = fmt::format("{:.{}f}", values[i], decimals);
        if (label_y - 4 - fs >= frame.top())
            svg.text((x0 + x1) / 2, label_y - 4, value,
                     {.size = fs, .anchor = Anchor::kMiddle, .color = ink});
        else
            svg.text(x0 + (x1 - x0) * (errors.empty() ? 0.5 : 0.3), std::min(y0, y1) + fs + 3,
                     value, {.size = fs, .anchor = Anchor::kMiddle, .color = {0xff, 0xff, 0xff}});
    }
    return svg;
}

}  // namespace marrow::eval
