// A small SVG writer for report figures: a document of shapes and escaped text (Svg), "nice"
// axis ticks (the 1-2-5 rule), and the axes frame every plot kind draws on (Frame: plot area,
// data-to-pixel mapping, grid, ticks, labels, title, and a legend outside the plot area so it
// never covers data). The plot kinds themselves are in eval/plots.h.
//
// Output is a standalone SVG 1.1 document (xmlns, escaped text) or the same <svg> element
// without the XML prolog for inline HTML. Coordinates are pixels, y down, printed with one
// decimal so a 20k-point scatter stays around a megabyte.
#pragma once
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eval/colormap.h"
#include "tensor/file_io.h"  // write_file_atomic: reports, figures, results

namespace marrow::eval {

// Text with & < > " ' replaced by entities, safe in XML/HTML text and attribute values.
std::string xml_escape(std::string_view text);

enum class Anchor { kStart, kMiddle, kEnd };

struct TextStyle {
    double size = 12;
    Anchor anchor = Anchor::kStart;
    bool bold = false;
    Rgb color{0x22, 0x22, 0x22};
    double rotate = 0;             // degrees, about the text's anchor point
    bool middle_baseline = false;  // vertically centred on y instead of sitting on it
};

// An SVG document under construction; shapes are appended in drawing order.
class Svg {
public:
    Svg(double width, double height);

    double width() const { return width_; }
    double height() const { return height_; }

    void rect(double x, double y, double w, double h, Rgb fill, double opacity = 1.0);
    void rect_outline(double x, double y, double w, double h, Rgb stroke, double stroke_width);
    void line(double x1, double y1, double x2, double y2, Rgb stroke, double stroke_width,
              std::string_view dash = {});
    // A polyline through the points (pixels); no-op for fewer than two points.
    void polyline(const std::vector<std::pair<double, double>>& points, Rgb stroke,
                  double stroke_width, std::string_view dash = {});
    void circle(double cx, double cy, double r, Rgb fill, double opacity = 1.0);
    void text(double x, double y, std::string_view text, const TextStyle& style = {});
    // A clipping viewport: shapes drawn until end_clip() are cut at the rectangle (a nested
    // <svg>, which needs no element id, so many figures can share one HTML page).
    void begin_clip(double x, double y, double w, double h);
    void end_clip();

    // The standalone document: XML prolog, xmlns, width/height/viewBox, a white background.
    std::string document() const;
    // The <svg> element alone, for inline HTML (same content, no prolog).
    std::string element() const;
    // document() written to a temporary file and renamed.
    void save(const std::filesystem::path& path) const;

private:
    double width_, height_;
    std::string body_;
    int open_clips_ = 0;
};

// Tick positions for an axis covering [lo, hi] with about `target` intervals: the step is
// 1, 2 or 5 times a power of ten (Heckbert's "nice numbers", Graphics Gems 1990), the first
// tick is the largest multiple of the step <= lo and the last the smallest >= hi, so the
// ticks enclose the data ("loose" labelling). [0, 0.93] -> 0, 0.2, ..., 1.0;
// [0, 1] -> 0, 0.2, ..., 1.0; [3, 97] -> 0, 20, ..., 100. lo == hi widens to lo +- 1 (or
// +- 10% of |lo|). Non-finite or lo > hi is an error.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);

// A tick label with as many decimals as the step needs (0.2 -> "0.2", 5 -> "5", 0.05 ->
// "0.05"); "-0" prints as "0"; magnitudes >= 1e6 or steps < 1e-4 use exponent notation.
std::string format_tick(double value, double step);

// Width of `text` in pixels at `size`, estimated (0.6 em a character, DejaVu Sans-like);
// used to lay out margins and legends.
double text_width(std::string_view text, double size);

// One legend row: a line (optionally dashed), a filled square, or a dot, and its label.
struct LegendEntry {
    enum class Kind { kLine, kSquare, kDot };
    std::string label{};
    Rgb color{};
    Kind kind = Kind::kLine;
    std::string dash{};  // for kLine
};

// Figure options shared by all plot kinds.
struct PlotOptions {
    std::string title{}, x_label{}, y_label{};
    double width = 520, height = 380;  // of the plot area plus axes; a legend adds width
    // Axis limits; NaN (the default) means: from the data, widened to nice ticks.
    double x_min = std::numeric_limits<double>::quiet_NaN();
    double x_max = std::numeric_limits<double>::quiet_NaN();
    double y_min = std::numeric_limits<double>::quiet_NaN();
    double y_max = std::numeric_limits<double>::quiet_NaN();
};

// The axes of one plot: computes margins from the labels, maps data to pixels, and draws the
// frame. Create it on an Svg sized by Frame::figure_size.
class Frame {
public:
    // x_ticks / y_ticks: the tick positions (their first and last are the axis limits).
    // legend_width: room reserved right of the plot area (0: none).
    Frame(const PlotOptions& options, std::vector<double> x_ticks, std::vector<double> y_ticks,
          double legend_width = 0);

    // Categorical axes: label i sits at the centre of [i, i + 1] (the axis then spans
    // [0, labels.size()], whatever the ticks said); rotate: degrees, e.g. -40 for long names.
    void set_x_categories(std::vector<std::string> labels, double rotate = 0);
    void set_y_categories(std::vector<std::string> labels);
    void set_grid(bool grid) { grid_ = grid; }

    double width() const;   // of the whole figure
    double height() const;  // of the whole figure
    double left() const { return left_; }
    double top() const { return top_; }
    double plot_width() const { return plot_w_; }
    double plot_height() const { return plot_h_; }
    double right() const { return left_ + plot_w_; }
    double bottom() const { return top_ + plot_h_; }

    double px(double x) const;  // data x -> pixel column
    double py(double y) const;  // data y -> pixel row

    // Background, grid, axis lines, ticks, tick labels, axis labels and title.
    void draw_axes(Svg& svg) const;
    // The legend, top-aligned right of the plot area.
    void draw_legend(Svg& svg, const std::vector<LegendEntry>& entries,
                     const std::string& title = {}) const;

    // Room a legend of these entries needs right of the plot area.
    static double legend_width(const std::vector<LegendEntry>& entries,
                               const std::string& title = {});
    // Reserves that room (changes width(), not the plot area).
    void set_legend_width(double width) { legend_w_ = width; }

    // A legend inside the plot area, in a box, when one fits without touching the data:
    // legend_box_size gives the box, free_corner the first corner (lower right, upper right,
    // lower left, upper left: matplotlib's loc="best" idea) whose box no polyline (pixel
    // points) crosses, draw_legend_box draws it there.
    static std::pair<double, double> legend_box_size(const std::vector<LegendEntry>& entries);
    std::optional<std::pair<double, double>> free_corner(
        double box_w, double box_h,
        const std::vector<std::vector<std::pair<double, double>>>& lines) const;
    void draw_legend_box(Svg& svg, const std::vector<LegendEntry>& entries, double x,
                         double y) const;

private:
    void layout();

    PlotOptions options_;
    std::vector<double> x_ticks_, y_ticks_;
    std::vector<std::string> x_labels_, y_labels_;
    double x_rotate_ = 0;
    double legend_w_;
    bool grid_ = true;
    double left_ = 0, top_ = 0, plot_w_ = 0, plot_h_ = 0, bottom_margin_ = 0;
};

}  // namespace marrow::eval
