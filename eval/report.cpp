// The HTML report (see report.h).
#include "eval/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "tensor/error.h"

namespace marrow::eval {
namespace {

// Plain CSS: system fonts, a readable column, tables with zebra rows, figures that scale down
// on narrow windows and are not split across printed pages.
constexpr const char* kCss = R"(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 0;
       background: #f6f7f9; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 32px 0 12px; padding-bottom: 4px; border-bottom: 2px solid #dde1e6; }
h3 { font-size: 15px; margin: 18px 0 8px; }
p { line-height: 1.45; max-width: 900px; }
.subtitle { color: #666; margin: 0 0 16px; font-size: 13px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13.5px; }
th, td { padding: 5px 12px; border-bottom: 1px solid #e3e6ea; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #9aa3ad; background: #f0f2f5; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
table.meta td, table.meta th { text-align: left; font-size: 12.5px; padding: 3px 12px; }
table.meta th { color: #555; font-weight: 600; background: none; border-bottom: 1px solid #e3e6ea; }
caption { caption-side: bottom; text-align: left; color: #666; font-size: 12px; padding-top: 6px; }
figure { display: inline-block; vertical-align: top; margin: 8px 16px 16px 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 12.5px; margin-top: 4px; max-width: 560px; }
.montage { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 16px; }
.montage figure { margin: 0; text-align: center; }
.montage img { image-rendering: pixelated; border: 1px solid #ccd; display: block; }
.montage figcaption { font-size: 11px; margin-top: 2px; overflow-wrap: break-word; }
@media print {
  body { background: #fff; }
  main { padding: 0; max-width: none; }
  figure, table, .montage figure { break-inside: avoid; }
  h2 { break-after: avoid; }
}
)";

std::string esc(std::string_view s) { return xml_escape(s); }

bool looks_numeric(const std::string& s) {
    // Cells like "0.842 ± 0.013", "12", "-3.5e-4", "n/a" align right in tabular figures.
    if (s.empty()) return false;
    return std::isdigit(static_cast<unsigned char>(s[0])) ||
           ((s[0] == '-' || s[0] == '.') && s.size() > 1) || s == "n/a";
}

void flatten(const nlohmann::json& j, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
    if (j.is_object() && !j.empty()) {
        for (auto it = j.begin(); it != j.end(); ++it)
            flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
        return;
    }
    out.emplace_back(prefix, j.is_string() ? j.get<std::string>() : j.dump());
}

// Box-average downscale so the longer side is at most `max_side` (no-op if already smaller).
data::Image shrink(const data::Image& image, int max_side) {
    int longer = std::max(image.height, image.width);
    if (longer <= max_side) return image;
    double f = double(longer) / max_side;
    int h = std::max(1, int(std::lround(image.height / f)));
    int w = std::max(1, int(std::lround(image.width / f)));
    data::Image out(h, w, image.channels);
    for (int y = 0; y < h; ++y) {
        int y0 = int(y * f), y1 = std::max(y0 + 1, std::min(image.height, int((y + 1) * f)));
        for (int x = 0; x < w; ++x) {
            int x0 = int(x * f), x1 = std::max(x0 + 1, std::min(image.width, int((x + 1) * f)));
            for (int c = 0; c < image.channels; ++c) {
                uint32_t sum = 0;
                for (int yy = y0; yy < y1; ++yy)
                    for (int xx = x0; xx < x1; ++xx) sum += image.at(yy, xx, c);
                out.at(y, x, c) =
                    uint8_t((sum + (y1 - y0) * (x1 - x0) / 2) / ((y1 - y0) * (x1 - x0)));
            }
        }
    }
    return out;
}

}  // namespace

// ---- metrics.jsonl ----

std::vector<MetricsRecord> parse_metrics_jsonl(const std::string& text, const std::string& name) {
    std::vector<MetricsRecord> records;
    std::istringstream in(text);
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
            fail("{}:{}: not valid JSON: {}", name, number, e.what());
        }
        MARROW_CHECK(j.is_object(), "{}:{}: a {} where a JSON object was expected", name, number,
                     j.type_name());
        records.push_back({number, std::move(j)});
    }
    return records;
}

std::vector<MetricsRecord> read_metrics_jsonl(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    MARROW_CHECK(in.good(), "read_metrics_jsonl: cannot open {}", path.string());
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return parse_metrics_jsonl(text, path.string());
}

Svg training_curves_plot(const std::vector<MetricsRecord>& records, const std::string& x_key,
                         const std::vector<std::string>& y_keys, PlotOptions options) {
    MARROW_CHECK(!y_keys.empty(), "training_curves_plot: no keys to plot");
    std::vector<Series> series;
    for (const std::string& key : y_keys) {
        Series s{.label = key};
        bool seen = false;
        for (const MetricsRecord& r : records) {
            auto it = r.values.find(key);
            if (it == r.values.end()) continue;
            seen = true;
            auto xt = r.values.find(x_key);
            if (xt == r.values.end()) continue;
            MARROW_CHECK(xt->is_number(),
                         "training_curves_plot: line {}: \"{}\" is {}, not a number", r.line, x_key,
                         xt->dump());
            MARROW_CHECK(it->is_number() || it->is_null(),
                         "training_curves_plot: line {}: \"{}\" is {}, not a number", r.line, key,
                         it->dump());
            s.x.push_back(xt->get<double>());
            s.y.push_back(it->is_null() ? NAN : it->get<double>());
        }
        MARROW_CHECK(seen, "training_curves_plot: key \"{}\" is in none of the {} records", key,
                     records.size());
        MARROW_CHECK(!s.x.empty(), "training_curves_plot: no record has both \"{}\" and \"{}\"",
                     key, x_key);
        series.push_back(std::move(s));
    }
    if (options.x_label.empty()) options.x_label = x_key;
    return line_plot(series, options);
}

// ---- images ----

std::string base64_encode(const std::vector<uint8_t>& bytes) {
    static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < bytes.size(); i += 3) {
        uint32_t v = uint32_t(bytes[i]) << 16 | uint32_t(bytes[i + 1]) << 8 | bytes[i + 2];
        for (int k = 3; k >= 0; --k) out += table[(v >> (6 * k)) & 63];
    }
    if (size_t rest = bytes.size() - i) {
        uint32_t v = uint32_t(bytes[i]) << 16 | (rest == 2 ? uint32_t(bytes[i + 1]) << 8 : 0);
        out += table[(v >> 18) & 63];
        out += table[(v >> 12) & 63];
        out += rest == 2 ? table[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string png_data_uri(const data::Image& image) {
    return "data:image/png;base64," + base64_encode(data::encode_png(image));
}

// ---- Section ----

Section& Section::paragraph(const std::string& text) {
    html_ += "<p>" + esc(text) + "</p>\n";
    return *this;
}

Section& Section::table(const Table& table) {
    MARROW_CHECK(!table.columns.empty(), "Section::table: no columns");
    html_ += "<table>\n";
    if (!table.caption.empty()) html_ += "<caption>" + esc(table.caption) + "</caption>\n";
    html_ += "<thead><tr>";
    for (const auto& c : table.columns) html_ += "<th>" + esc(c) + "</th>";
    html_ += "</tr></thead>\n<tbody>\n";
    for (size_t r = 0; r < table.rows.size(); ++r) {
        const auto& row = table.rows[r];
        MARROW_CHECK(row.size() == table.columns.size(),
                     "Section::table: row {} has {} cells but there are {} columns", r, row.size(),
                     table.columns.size());
        html_ += "<tr>";
        for (size_t c = 0; c < row.size(); ++c)
            html_ += (c > 0 && looks_numeric(row[c]) ? "<td class=\"num\">" : "<td>") +
                     esc(row[c]) + "</td>";
        html_ += "</tr>\n";
    }
    html_ += "</tbody>\n</table>\n";
    return *this;
}

Section& Section::figure(const Svg& svg, const std::string& caption) {
    html_ += "<figure>\n" + svg.element();
    if (!caption.empty()) html_ += "<figcaption>" + esc(caption) + "</figcaption>\n";
    html_ += "</figure>\n";
    return *this;
}

Section& Section::training_curves(const std::filesystem::path& metrics_jsonl,
                                  const std::string& x_key, const std::vector<std::string>& y_keys,
                                  const PlotOptions& options, const std::string& caption) {
    return figure(training_curves_plot(read_metrics_jsonl(metrics_jsonl), x_key, y_keys, options),
                  caption);
}

Section& Section::montage(const std::vector<MontageItem>& items, const std::string& title,
                          int thumb_px) {
    MARROW_CHECK(thumb_px >= 8 && thumb_px <= 1024, "Section::montage: thumbnail size {} (8-1024)",
                 thumb_px);
    if (!title.empty()) html_ += "<h3>" + esc(title) + "</h3>\n";
    html_ += "<div class=\"montage\">\n";
    for (size_t i = 0; i < items.size(); ++i) {
        const data::Image& im = items[i].image;
        MARROW_CHECK(im.height > 0 && im.width > 0, "Section::montage: image {} is empty ({}x{})",
                     i, im.height, im.width);
        data::Image small = shrink(im, thumb_px);
        int w = thumb_px, h = int(std::lround(double(thumb_px) * im.height / im.width));
        if (im.height > im.width)
            h = thumb_px, w = int(std::lround(double(thumb_px) * im.width / im.height));
        // A fixed-width cell: captions wrap under their own thumbnail.
        html_ += fmt::format(
            R"(<figure style="width: {}px"><img width="{}" height="{}" alt="{}" src="{}">)",
            thumb_px + 2, w, h, esc(items[i].caption), png_data_uri(small));
        if (!items[i].caption.empty())
            html_ += "<figcaption>" + esc(items[i].caption) + "</figcaption>";
        html_ += "</figure>\n";
    }
    html_ += "</div>\n";
    return *this;
}

// ---- Report ----

Report::Report(std::string title) : title_(std::move(title)) {}

void Report::add_metadata(const std::string& key, const std::string& value) {
    metadata_.emplace_back(key, value);
}

void Report::add_metadata(const nlohmann::json& object) {
    MARROW_CHECK(object.is_object(), "Report::add_metadata: run metadata is a {}, not an object",
                 object.type_name());
    flatten(object, "", metadata_);
}

Section& Report::section(const std::string& heading) {
    sections_.push_back(std::make_unique<Section>(heading));
    return *sections_.back();
}

std::string Report::html() const {
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out += "<title>" + esc(title_) + "</title>\n<style>" + kCss +
           "</style>\n</head>\n<body>\n<main>\n";
    out += "<h1>" + esc(title_) + "</h1>\n";
    out += "<p class=\"subtitle\">marrow evaluation report</p>\n";
    if (!metadata_.empty()) {
        out += "<table class=\"meta\">\n<tbody>\n";
        for (const auto& [k, v] : metadata_)
            out += "<tr><th>" + esc(k) + "</th><td>" + esc(v) + "</td></tr>\n";
        out += "</tbody>\n</table>\n";
    }
    for (const auto& s : sections_) {
        out += "<section>\n<h2>" + esc(s->heading()) + "</h2>\n";
        out += s->html();
        out += "</section>\n";
    }
    out += "</main>\n</body>\n</html>\n";
    return out;
}

void Report::save(const std::filesystem::path& path) const {
    write_file_atomic(path.string(), html(), "Report::save");
}

}  // namespace marrow::eval
