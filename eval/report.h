// The self-contained HTML report of a run (report.html): a title, the run's metadata as a
// key-value table (from run.json), and sections holding results tables, inline SVG figures,
// training curves read from metrics.jsonl, and image montages (thumbnails as PNG data URIs).
// Everything is inline (CSS included); no JavaScript, no network; all text is escaped; it
// prints readably (figures and tables are not split across pages).
//
//   eval::Report report("Fashion-MNIST: 20-NN on pixels");
//   report.add_metadata(nlohmann::json::parse(run_json_text));
//   auto& s = report.section("Results");
//   s.table(table);
//   s.figure(eval::confusion_matrix_plot(cm, names), "Test fold 0");
//   report.save(run_dir / "report.html");
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/image.h"
#include "eval/aggregate.h"
#include "eval/plots.h"
#include "eval/svg.h"

namespace marrow::eval {

// A results table: a header row and rows of strings (e.g. format_mean_sd cells). Every row
// must have as many cells as there are columns. The first column is the row name.
struct Table {
    std::vector<std::string> columns{};
    std::vector<std::vector<std::string>> rows{};
    std::string caption{};
};

// One line of metrics.jsonl, with the line number it came from (1-based).
struct MetricsRecord {
    int64_t line = 0;
    nlohmann::json values;  // an object
};

// The records of a metrics.jsonl file: one JSON object per line, blank lines skipped. A line
// that is not valid JSON, or not an object, is an error naming the file and the line number.
std::vector<MetricsRecord> read_metrics_jsonl(const std::filesystem::path& path);
// The same from text (`name` is what errors call it).
std::vector<MetricsRecord> parse_metrics_jsonl(const std::string& text, const std::string& name);

// A line plot of the numeric keys `y_keys` against `x_key` ("step" or "epoch"), one series per
// key over the records that have both; a record whose value for a key is neither a number nor
// null (null: a gap, as a NaN loss) is an error naming the line; a key found in no record is an
// error naming the key.
Svg training_curves_plot(const std::vector<MetricsRecord>& records, const std::string& x_key,
                         const std::vector<std::string>& y_keys, PlotOptions options = {});

// One thumbnail of a montage: an image (gray or RGB) and its caption (e.g. "a=0.31, blast").
struct MontageItem {
    data::Image image;
    std::string caption;
};

// The "data:image/png;base64,..." URI of image encoded as PNG (data::encode_png).
std::string png_data_uri(const data::Image& image);
// Standard base64 (RFC 4648, '=' padding).
std::string base64_encode(const std::vector<uint8_t>& bytes);

class Section {
public:
    explicit Section(std::string heading) : heading_(std::move(heading)) {}

    // A paragraph of plain text.
    Section& paragraph(const std::string& text);
    Section& table(const Table& table);
    // An inline SVG figure with an optional caption below it.
    Section& figure(const Svg& svg, const std::string& caption = {});
    // Training curves from metrics.jsonl (read_metrics_jsonl + training_curves_plot).
    Section& training_curves(const std::filesystem::path& metrics_jsonl, const std::string& x_key,
                             const std::vector<std::string>& y_keys,
                             const PlotOptions& options = {}, const std::string& caption = {});
    // A grid of thumbnails, each shown thumb_px wide (images larger than that are
    // downscaled by box averaging before encoding; smaller ones are scaled up by the browser
    // with crisp pixels), with captions; title above the grid.
    Section& montage(const std::vector<MontageItem>& items, const std::string& title = {},
                     int thumb_px = 96);

    const std::string& heading() const { return heading_; }
    const std::string& html() const { return html_; }

private:
    std::string heading_;
    std::string html_;
};

class Report {
public:
    explicit Report(std::string title);

    // Adds a metadata row; values are shown as given.
    void add_metadata(const std::string& key, const std::string& value);
    // Adds every key of a JSON object (run.json): nested objects flatten to "a.b" keys,
    // strings show unquoted, other values as compact JSON. Not an object: an error.
    void add_metadata(const nlohmann::json& object);

    // A new section at the end; the reference stays valid for the report's lifetime.
    Section& section(const std::string& heading);

    // The whole page.
    std::string html() const;
    // html() written to `path`.tmp and renamed over `path`.
    void save(const std::filesystem::path& path) const;

private:
    std::string title_;
    std::vector<std::pair<std::string, std::string>> metadata_;
    std::vector<std::unique_ptr<Section>> sections_;
};

}  // namespace marrow::eval
