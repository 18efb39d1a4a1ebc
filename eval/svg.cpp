// SVG document, nice ticks and the axes frame (see svg.h).
#include "eval/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "tensor/error.h"

namespace marrow::eval {
namespace {

constexpr double kTickSize = 11, kLabelSize = 12.5, kTitleSize = 14.5, kLegendSize = 11.5;
constexpr Rgb kAxisColor{0x44, 0x44, 0x44}, kGridColor{0xe3, 0xe3, 0xe3};

std::string num(double v) {
    std::string s = fmt::format("{:.1f}", v);
    if (s.size() > 2 && s.ends_with(".0")) s.resize(s.size() - 2);
    return s == "-0" ? "0" : s;
}

const char* anchor_name(Anchor a) {
    return a == Anchor::kStart ? "start" : a == Anchor::kMiddle ? "middle" : "end";
}

// Heckbert's nicenum: a 1-2-5 number near x (rounded or the next one up).
double nice_number(double x, bool round) {
    double e = std::floor(std::log10(x));
    double f = x / std::pow(10.0, e);
    double nf;
    if (round)
        nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    else
        nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
    return nf * std::pow(10.0, e);
}

}  // namespace

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// ---- Svg ----

Svg::Svg(double width, double height) : width_(width), height_(height) {
    MARROW_CHECK(width > 0 && height > 0 && std::isfinite(width) && std::isfinite(height),
                 "Svg: size {} x {} (must be positive)", width, height);
}

void Svg::rect(double x, double y, double w, double h, Rgb fill, double opacity) {
    body_ += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}")", num(x), num(y),
                         num(w), num(h), to_hex(fill));
    if (opacity < 1) body_ += fmt::format(R"( fill-opacity="{:.2f}")", opacity);
    body_ += "/>\n";
}

void Svg::rect_outline(double x, double y, double w, double h, Rgb stroke, double stroke_width) {
    body_ += fmt::format(
        R"(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{}" stroke-width="{}"/>)"
        "\n",
        num(x), num(y), num(w), num(h), to_hex(stroke), stroke_width);
}

void Svg::line(double x1, double y1, double x2, double y2, Rgb stroke, double stroke_width,
               std::string_view dash) {
    body_ += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="{}")",
                         num(x1), num(y1), num(x2), num(y2), to_hex(stroke), stroke_width);
    if (!dash.empty()) body_ += fmt::format(R"( stroke-dasharray="{}")", xml_escape(dash));
    body_ += "/>\n";
}

void Svg::polyline(const std::vector<std::pair<double, double>>& points, Rgb stroke,
                   double stroke_width, std::string_view dash) {
    if (points.size() < 2) return;
    body_ += R"(<polyline fill="none" stroke-linejoin="round" points=")";
    for (size_t i = 0; i < points.size(); ++i) {
        if (i) body_ += ' ';
        body_ += num(points[i].first);
        body_ += ',';
        body_ += num(points[i].second);
    }
    body_ += fmt::format(R"(" stroke="{}" stroke-width="{}")", to_hex(stroke), stroke_width);
    if (!dash.empty()) body_ += fmt::format(R"( stroke-dasharray="{}")", xml_escape(dash));
    body_ += "/>\n";
}

void Svg::circle(double cx, double cy, double r, Rgb fill, double opacity) {
    body_ += fmt::format(R"(<circle cx="{}" cy="{}" r="{}" fill="{}")", num(cx), num(cy), r,
                         to_hex(fill));
    if (opacity < 1) body_ += fmt::format(R"( fill-opacity="{:.2f}")", opacity);
    body_ += "/>\n";
}

void Svg::text(double x, double y, std::string_view text, const TextStyle& style) {
    body_ += fmt::format(R"(<text x="{}" y="{}" font-size="{}" fill="{}")", num(x), num(y),
                         style.size, to_hex(style.color));
    if (style.anchor != Anchor::kStart)
        body_ += fmt::format(R"( text-anchor="{}")", anchor_name(style.anchor));
    if (style.bold) body_ += R"( font-weight="bold")";
    if (style.middle_baseline) body_ += R"( dominant-baseline="central")";
    if (style.rotate != 0)
        body_ += fmt::format(R"x( transform="rotate({} {} {})")x", style.rotate, num(x), num(y));
    body_ += '>';
    body_ += xml_escape(text);
    body_ += "</text>\n";
}

void Svg::begin_clip(double x, double y, double w, double h) {
    body_ +=
        fmt::format(R"(<svg x="{0}" y="{1}" width="{2}" height="{3}" viewBox="{0} {1} {2} {3}">)"
                    "\n",
                    num(x), num(y), num(w), num(h));
    ++open_clips_;
}

void Svg::end_clip() {
    MARROW_CHECK(open_clips_ > 0, "Svg::end_clip: no begin_clip to close");
    body_ += "</svg>\n";
    --open_clips_;
}

std::string Svg::element() const {
    MARROW_CHECK(open_clips_ == 0, "Svg: {} begin_clip() without end_clip()", open_clips_);
    return fmt::format(
        R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" )"
        R"(font-family="DejaVu Sans, Helvetica, Arial, sans-serif">)"
        "\n"
        R"(<rect width="{0}" height="{1}" fill="#ffffff"/>)"
        "\n{2}</svg>\n",
        num(width_), num(height_), body_);
}

std::string Svg::document() const {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + element();
}

void Svg::save(const std::filesystem::path& path) const {
    write_file_atomic(path.string(), document(), "Svg::save");
}

// ---- ticks ----

std::vector<double> nice_ticks(double lo, double hi, int target) {
    MARROW_CHECK(std::isfinite(lo) && std::isfinite(hi), "nice_ticks: non-finite range [{}, {}]",
                 lo, hi);
    MARROW_CHECK(lo <= hi, "nice_ticks: lo {} > hi {}", lo, hi);
    MARROW_CHECK(target >= 1, "nice_ticks: target {} intervals (>= 1)", target);
    if (lo == hi) {
        double pad = lo == 0 ? 1.0 : 0.1 * std::abs(lo);
        lo -= pad;
        hi += pad;
    }
    double range = nice_number(hi - lo, false);
    double step = nice_number(range / target, true);
    double first = std::floor(lo / step + 1e-9) * step;
    double last = std::ceil(hi / step - 1e-9) * step;
    std::vector<double> ticks;
    for (int64_t i = 0;; ++i) {
        double t = first + double(i) * step;
        if (std::abs(t) < step * 1e-9) t = 0;  // no -0 or 1e-17 from accumulation
        ticks.push_back(t);
        if (t >= last - step * 1e-9) break;
    }
    return ticks;
}

std::string format_tick(double value, double step) {
    if (std::abs(value) < std::abs(step) * 1e-9) value = 0;
    if (std::abs(value) >= 1e6 || (step != 0 && std::abs(step) < 1e-4))
        return fmt::format("{:.3g}", value);
    int decimals = step > 0 ? std::max(0, int(std::ceil(-std::log10(step) - 1e-9))) : 0;
    // 0.25 needs two decimals though its log10 says one: add digits until the step prints
    // exactly.
    while (decimals < 6 && std::abs(std::round(step * std::pow(10.0, decimals)) -
                                    step * std::pow(10.0, decimals)) > 1e-6)
        ++decimals;
    std::string s = fmt::format("{:.{}f}", value, decimals);
    return s == "-0" || (s.starts_with("-0.") && s.find_first_not_of("-0.") == std::string::npos)
               ? s.substr(1)
               : s;
}

double text_width(std::string_view text, double size) {
    // UTF-8 continuation bytes do not start a character.
    size_t chars = 0;
    for (unsigned char c : text) chars += (c & 0xc0) != 0x80;
    return 0.6 * size * double(chars);
}

// ---- Frame ----

Frame::Frame(const PlotOptions& options, std::vector<double> x_ticks, std::vector<double> y_ticks,
             double legend_width)
    : options_(options),
      x_ticks_(std::move(x_ticks)),
      y_ticks_(std::move(y_ticks)),
      legend_w_(legend_width) {
    MARROW_CHECK(x_ticks_.size() >= 2 && y_ticks_.size() >= 2,
                 "Frame: {} x ticks and {} y ticks (need >= 2 each)", x_ticks_.size(),
                 y_ticks_.size());
    MARROW_CHECK(x_ticks_.back() > x_ticks_.front() && y_ticks_.back() > y_ticks_.front(),
                 "Frame: empty axis range x [{}, {}], y [{}, {}]", x_ticks_.front(),
                 x_ticks_.back(), y_ticks_.front(), y_ticks_.back());
    layout();
}

void Frame::set_x_categories(std::vector<std::string> labels, double rotate) {
    MARROW_CHECK(!labels.empty(), "Frame::set_x_categories: no categories");
    x_ticks_ = {0, double(labels.size())};
    x_labels_ = std::move(labels);
    x_rotate_ = rotate;
    layout();
}

void Frame::set_y_categories(std::vector<std::string> labels) {
    MARROW_CHECK(!labels.empty(), "Frame::set_y_categories: no categories");
    y_ticks_ = {0, double(labels.size())};
    y_labels_ = std::move(labels);
    layout();
}

void Frame::layout() {
    // Left: y axis label, the widest y tick label, the tick marks.
    double widest = 0;
    if (y_labels_.empty()) {
        double step = y_ticks_[1] - y_ticks_[0];
        for (double t : y_ticks_)
            widest = std::max(widest, text_width(format_tick(t, step), kTickSize));
    } else {
        for (const auto& l : y_labels_) widest = std::max(widest, text_width(l, kTickSize));
    }
    left_ = 10 + (options_.y_label.empty() ? 0 : kLabelSize + 10) + widest + 8;
    top_ = options_.title.empty() ? 14 : kTitleSize + 22;
    // Bottom: tick labels (rotated ones take their projected height), the x axis label.
    double tick_h = kTickSize + 8;
    if (!x_labels_.empty() && x_rotate_ != 0) {
        double longest = 0;
        for (const auto& l : x_labels_) longest = std::max(longest, text_width(l, kTickSize));
        tick_h = 8 + longest * std::abs(std::sin(x_rotate_ * M_PI / 180)) + kTickSize;
    }
    bottom_margin_ = tick_h + (options_.x_label.empty() ? 6 : kLabelSize + 14);
    plot_w_ = std::max(40.0, options_.width - left_ - 18);
    plot_h_ = std::max(40.0, options_.height - top_ - bottom_margin_);
}

double Frame::width() const { return left_ + plot_w_ + 18 + legend_w_; }
double Frame::height() const { return top_ + plot_h_ + bottom_margin_; }

double Frame::px(double x) const {
    return left_ + (x - x_ticks_.front()) / (x_ticks_.back() - x_ticks_.front()) * plot_w_;
}

double Frame::py(double y) const {
    double f = (y - y_ticks_.front()) / (y_ticks_.back() - y_ticks_.front());
    return y_labels_.empty() ? top_ + (1 - f) * plot_h_ : top_ + f * plot_h_;  // categories: down
}

void Frame::draw_axes(Svg& svg) const {
    TextStyle tick{.size = kTickSize, .anchor = Anchor::kMiddle, .color = kAxisColor};
    // x ticks
    if (x_labels_.empty()) {
        double step = x_ticks_[1] - x_ticks_[0];
        for (double t : x_ticks_) {
            double x = px(t);
            if (grid_) svg.line(x, top_, x, bottom(), kGridColor, 1);
            svg.line(x, bottom(), x, bottom() + 5, kAxisColor, 1);
            svg.text(x, bottom() + 7 + kTickSize, format_tick(t, step), tick);
        }
    } else {
        for (size_t i = 0; i < x_labels_.size(); ++i) {
            double x = px(double(i) + 0.5);
            svg.line(x, bottom(), x, bottom() + 5, kAxisColor, 1);
            TextStyle s = tick;
            if (x_rotate_ != 0) {
                s.anchor = Anchor::kEnd;
                s.rotate = x_rotate_;
                svg.text(x + 3, bottom() + 9 + kTickSize * 0.5, x_labels_[i], s);
            } else {
                svg.text(x, bottom() + 7 + kTickSize, x_labels_[i], s);
            }
        }
    }
    // y ticks
    TextStyle ytick{
        .size = kTickSize, .anchor = Anchor::kEnd, .color = kAxisColor, .middle_baseline = true};
    if (y_labels_.empty()) {
        double step = y_ticks_[1] - y_ticks_[0];
        for (double t : y_ticks_) {
            double y = py(t);
            if (grid_) svg.line(left_, y, right(), y, kGridColor, 1);
            svg.line(left_ - 5, y, left_, y, kAxisColor, 1);
            svg.text(left_ - 8, y, format_tick(t, step), ytick);
        }
    } else {
        for (size_t i = 0; i < y_labels_.size(); ++i) {
            double y = py(double(i) + 0.5);
            svg.line(left_ - 5, y, left_, y, kAxisColor, 1);
            svg.text(left_ - 8, y, y_labels_[i], ytick);
        }
    }
    svg.rect_outline(left_, top_, plot_w_, plot_h_, kAxisColor, 1);
    TextStyle label{.size = kLabelSize, .anchor = Anchor::kMiddle, .color = {0x22, 0x22, 0x22}};
    if (!options_.x_label.empty())
        svg.text(left_ + plot_w_ / 2, height() - 10, options_.x_label, label);
    if (!options_.y_label.empty()) {
        TextStyle s = label;
        s.rotate = -90;
        svg.text(10 + kLabelSize, top_ + plot_h_ / 2, options_.y_label, s);
    }
    if (!options_.title.empty()) {
        TextStyle s{.size = kTitleSize, .anchor = Anchor::kMiddle, .bold = true};
        svg.text(left_ + plot_w_ / 2, 8 + kTitleSize, options_.title, s);
    }
}

double Frame::legend_width(const std::vector<LegendEntry>& entries, const std::string& title) {
    if (entries.empty()) return 0;
    double widest = text_width(title, kLegendSize);
    for (const auto& e : entries) widest = std::max(widest, 26 + text_width(e.label, kLegendSize));
    return widest + 22;
}

namespace {

// The legend's rows from (x, y) down.
void legend_rows(Svg& svg, const std::vector<LegendEntry>& entries, double x, double y) {
    double row = kLegendSize + 7;
    for (const auto& e : entries) {
        double cy = y + row / 2;
        switch (e.kind) {
            case LegendEntry::Kind::kLine:
                svg.line(x, cy, x + 20, cy, e.color, 2.2, e.dash);
                break;
            case LegendEntry::Kind::kSquare:
                svg.rect(x + 4, cy - 6, 12, 12, e.color);
                break;
            case LegendEntry::Kind::kDot:
                svg.circle(x + 10, cy, 4.5, e.color);
                break;
        }
        svg.text(x + 26, cy, e.label, {.size = kLegendSize, .middle_baseline = true});
        y += row;
    }
}

// Whether segment a-b meets the rectangle [x0, x1] x [y0, y1] (Liang-Barsky clipping).
bool segment_meets_box(std::pair<double, double> a, std::pair<double, double> b, double x0,
                       double y0, double x1, double y1) {
    double t0 = 0, t1 = 1, dx = b.first - a.first, dy = b.second - a.second;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {a.first - x0, x1 - a.first, a.second - y0, y1 - a.second};
    for (int i = 0; i < 4; ++i) {
        if (p[i] == 0) {
            if (q[i] < 0) return false;
            continue;
        }
        double t = q[i] / p[i];
        if (p[i] < 0)
            t0 = std::max(t0, t);
        else
            t1 = std::min(t1, t);
        if (t0 > t1) return false;
    }
    return true;
}

}  // namespace

void Frame::draw_legend(Svg& svg, const std::vector<LegendEntry>& entries,
                        const std::string& title) const {
    if (entries.empty()) return;
    double x = right() + 16, y = top_ + 2;
    if (!title.empty()) {
        svg.text(x, y + kLegendSize, title, {.size = kLegendSize, .bold = true});
        y += kLegendSize + 7;
    }
    legend_rows(svg, entries, x, y);
}

std::pair<double, double> Frame::legend_box_size(const std::vector<LegendEntry>& entries) {
    double widest = 0;
    for (const auto& e : entries) widest = std::max(widest, 26 + text_width(e.label, kLegendSize));
    return {widest + 16, double(entries.size()) * (kLegendSize + 7) + 10};
}

std::optional<std::pair<double, double>> Frame::free_corner(
    double box_w, double box_h,
    const std::vector<std::vector<std::pair<double, double>>>& lines) const {
    constexpr double kPad = 8;
    if (box_w + 2 * kPad > plot_w_ || box_h + 2 * kPad > plot_h_) return std::nullopt;
    const std::pair<double, double> corners[4] = {{right() - kPad - box_w, bottom() - kPad - box_h},
                                                  {right() - kPad - box_w, top_ + kPad},
                                                  {left_ + kPad, bottom() - kPad - box_h},
                                                  {left_ + kPad, top_ + kPad}};
    for (auto [x, y] : corners) {
        bool free = true;
        for (const auto& line : lines) {
            for (size_t i = 0; free && i < line.size(); ++i) {
                auto a = line[i], b = i + 1 < line.size() ? line[i + 1] : line[i];
                // A few pixels of clearance around the box.
                free = !segment_meets_box(a, b, x - 3, y - 3, x + box_w + 3, y + box_h + 3);
            }
            if (!free) break;
        }
        if (free) return std::make_pair(x, y);
    }
    return std::nullopt;
}

void Frame::draw_legend_box(Svg& svg, const std::vector<LegendEntry>& entries, double x,
                            double y) const {
    auto [w, h] = legend_box_size(entries);
    svg.rect(x, y, w, h, {0xff, 0xff, 0xff}, 0.92);
    svg.rect_outline(x, y, w, h, {0xcc, 0xcc, 0xcc}, 0.8);
    legend_rows(svg, entries, x + 8, y + 5);
}

}  // namespace marrow::eval
