// The report layer: colour maps against matplotlib's values, nice ticks by the 1-2-5 rule
// (hand-derived), SVG well-formedness and escaping of every figure kind (a small XML checker
// below), the montage's PNG data URI decoding back to the same pixels, metrics.jsonl errors
// naming the line, and the report's atomic save.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/image.h"
#include "eval/colormap.h"
#include "eval/plots.h"
#include "eval/report.h"
#include "eval/svg.h"
#include "tensor/error.h"

using namespace marrow;
using eval::Rgb;

namespace {

// Minimal XML well-formedness: balanced and properly nested tags, quoted attributes, no raw '<'
// in text or attributes, '&' only as a known entity or numeric reference, one root element.
// Returns "" when well-formed, else what is wrong and where.
std::string xml_problem(const std::string& s) {
    std::vector<std::string> stack;
    size_t i = 0, roots = 0;
    auto check_text = [&](size_t a, size_t b) -> std::string {
        for (size_t k = a; k < b; ++k) {
            if (s[k] == '<') return "raw '<' at " + std::to_string(k);
            if (s[k] == '&') {
                size_t semi = s.find(';', k);
                if (semi == std::string::npos || semi > b)
                    return "bare '&' at " + std::to_string(k);
                std::string ent = s.substr(k + 1, semi - k - 1);
                bool ok = ent == "amp" || ent == "lt" || ent == "gt" || ent == "quot" ||
                          ent == "apos" || (ent.size() > 1 && ent[0] == '#');
                if (!ok) return "unknown entity &" + ent + "; at " + std::to_string(k);
            }
        }
        return "";
    };
    if (s.starts_with("<?xml")) i = s.find("?>") + 2;
    while (i < s.size()) {
        size_t lt = s.find('<', i);
        if (lt == std::string::npos) lt = s.size();
        if (std::string e = check_text(i, lt); !e.empty()) return e;
        if (lt == s.size()) break;
        if (stack.empty() && s.find_first_not_of(" \n\t\r", i) < lt) return "text outside the root";
        size_t gt = lt + 1;  // the tag's end: the first '>' outside quotes
        char quote = 0;
        for (; gt < s.size(); ++gt) {
            if (quote) {
                if (s[gt] == quote)
                    quote = 0;
                else if (s[gt] == '<')
                    return "raw '<' in an attribute at " + std::to_string(gt);
            } else if (s[gt] == '"' || s[gt] == '\'') {
                quote = s[gt];
            } else if (s[gt] == '>') {
                break;
            }
        }
        if (gt >= s.size()) return "unterminated tag at " + std::to_string(lt);
        std::string tag = s.substr(lt + 1, gt - lt - 1);
        if (tag.starts_with("/")) {
            std::string name = tag.substr(1);
            if (stack.empty() || stack.back() != name)
                return "closing </" + name + "> does not match <" +
                       (stack.empty() ? std::string("nothing") : stack.back()) + ">";
            stack.pop_back();
        } else {
            bool self_closing = tag.ends_with("/");
            std::string name = tag.substr(0, tag.find_first_of(" \n\t/"));
            // Attributes: name="value" pairs.
            size_t k = name.size();
            std::string body = self_closing ? tag.substr(0, tag.size() - 1) : tag;
            while (true) {
                k = body.find_first_not_of(" \n\t", k);
                if (k == std::string::npos) break;
                size_t eq = body.find('=', k);
                if (eq == std::string::npos || body[eq + 1] != '"')
                    return "unquoted attribute in <" + tag + ">";
                size_t end = body.find('"', eq + 2);
                if (end == std::string::npos) return "unterminated attribute in <" + name + ">";
                if (std::string e = check_text(lt + 1 + eq + 2, lt + 1 + end); !e.empty()) return e;
                k = end + 1;
            }
            if (stack.empty()) ++roots;
            if (!self_closing) stack.push_back(name);
        }
        i = gt + 1;
    }
    if (!stack.empty()) return "unclosed <" + stack.back() + ">";
    if (roots != 1) return std::to_string(roots) + " root elements";
    return "";
}

size_t count(const std::string& s, const std::string& what) {
    size_t n = 0;
    for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

std::vector<uint8_t> base64_decode(const std::string& s) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
    };
    std::vector<uint8_t> out;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : s) {
        if (c == '=') break;
        int v = value(c);
        REQUIRE(v >= 0);
        acc = acc << 6 | uint32_t(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(uint8_t(acc >> bits));
        }
    }
    return out;
}

void check_ticks(const std::vector<double>& got, const std::vector<double>& want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i)
        CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-12));
}

const std::string kNasty = "a<b & \"c\" 'd'";
const std::string kNastyEscaped = "a&lt;b &amp; &quot;c&quot; &#39;d&#39;";

}  // namespace

TEST_CASE("the XML checker of this file rejects what it should") {
    CHECK(xml_problem(R"(<svg a="1"><g><t>x &amp; y</t></g></svg>)").empty());
    CHECK(!xml_problem(R"(<svg><g></svg>)").empty());
    CHECK(!xml_problem(R"(<svg><t>a & b</t></svg>)").empty());
    CHECK(!xml_problem(R"(<svg><t>a < b</t></svg>)").empty());
    CHECK(!xml_problem(R"(<svg a=1></svg>)").empty());
    CHECK(!xml_problem(R"(<svg a="<"></svg>)").empty());
    CHECK(!xml_problem(R"(<svg/><svg/>)").empty());
}

TEST_CASE("viridis, blues and the qualitative palettes match matplotlib") {
    // matplotlib 3.6: to_hex(cm.viridis(t)).
    CHECK(eval::to_hex(eval::viridis(0.0)) == "#440154");
    CHECK(eval::to_hex(eval::viridis(0.25)) == "#3b528b");
    CHECK(eval::to_hex(eval::viridis(0.5)) == "#21918c");
    CHECK(eval::to_hex(eval::viridis(0.75)) == "#5ec962");
    CHECK(eval::to_hex(eval::viridis(1.0)) == "#fde725");
    CHECK(eval::viridis(-3) == eval::viridis(0));  // clamped
    CHECK(eval::viridis(7) == eval::viridis(1));
    CHECK_THROWS_WITH_AS(eval::viridis(NAN), doctest::Contains("viridis: value is NaN"), Error);
    // cm.Blues: ends exact; the middle within matplotlib's 256-level quantization.
    CHECK(eval::to_hex(eval::blues(0)) == "#f7fbff");
    CHECK(eval::to_hex(eval::blues(1)) == "#08306b");
    Rgb mid = eval::blues(0.5), mpl{0x6a, 0xae, 0xd6};  // to_hex(cm.Blues(0.5)) = #6aaed6
    CHECK(std::abs(mid.r - mpl.r) <= 2);
    CHECK(std::abs(mid.g - mpl.g) <= 2);
    CHECK(std::abs(mid.b - mpl.b) <= 2);
    CHECK(eval::to_hex(eval::tab10(0)) == "#1f77b4");
    CHECK(eval::to_hex(eval::tab10(13)) == "#d62728");              // cycles
    CHECK(eval::to_hex(eval::category_color(1, 10)) == "#ff7f0e");  // tab10
    CHECK(eval::to_hex(eval::category_color(1, 12)) == "#aec7e8");  // tab20 beyond 10 classes
    CHECK(eval::contrasting_text(eval::viridis(0)) == Rgb{0xff, 0xff, 0xff});
    CHECK(eval::contrasting_text(eval::viridis(1)) == Rgb{0x1a, 0x1a, 0x1a});
}

TEST_CASE("nice ticks: 1-2-5 steps enclosing the data") {
    // [0, 0.93], 5 intervals: range rounds up to 1, step 1/5 -> 0.2, last tick ceil(0.93/0.2).
    check_ticks(eval::nice_ticks(0, 0.93), {0, 0.2, 0.4, 0.6, 0.8, 1.0});
    check_ticks(eval::nice_ticks(0, 1), {0, 0.2, 0.4, 0.6, 0.8, 1.0});
    // [3, 97]: range 94 -> 100, step 20, 0..100.
    check_ticks(eval::nice_ticks(3, 97), {0, 20, 40, 60, 80, 100});
    // [-1.3, 2.7]: range 4 -> 5, step 1, -2..3.
    check_ticks(eval::nice_ticks(-1.3, 2.7), {-2, -1, 0, 1, 2, 3});
    // [0, 2001]: range -> 5000, step 1000, 0..3000.
    check_ticks(eval::nice_ticks(0, 2001), {0, 1000, 2000, 3000});
    // A single value widens by 10%: [4.5, 5.5], range 1, step 0.2, 4.4..5.6.
    check_ticks(eval::nice_ticks(5, 5), {4.4, 4.6, 4.8, 5.0, 5.2, 5.4, 5.6});
    CHECK(eval::nice_ticks(0, 1)[0] == 0.0);
    CHECK_FALSE(std::signbit(eval::nice_ticks(-1, 1)[2]));  // 0, not -0
    CHECK_THROWS_WITH_AS(eval::nice_ticks(2, 1), doctest::Contains("lo 2 > hi 1"), Error);
    CHECK_THROWS_WITH_AS(eval::nice_ticks(0, INFINITY), doctest::Contains("non-finite"), Error);
    CHECK(eval::format_tick(0.2, 0.2) == "0.2");
    CHECK(eval::format_tick(1.0, 0.2) == "1.0");
    CHECK(eval::format_tick(0.25, 0.25) == "0.25");
    CHECK(eval::format_tick(40, 20) == "40");
    CHECK(eval::format_tick(-1e-17, 0.2) == "0.0");
    CHECK(eval::format_tick(0.05, 0.05) == "0.05");
}

TEST_CASE("xml_escape and escaped labels in every figure kind") {
    CHECK(eval::xml_escape(kNasty) == kNastyEscaped);
    eval::PlotOptions o{.title = kNasty, .x_label = kNasty, .y_label = kNasty};
    std::vector<eval::Svg> figures;
    figures.push_back(eval::line_plot({{.label = kNasty, .x = {0, 1, 2}, .y = {1, NAN, 3}}}, o));
    figures.push_back(
        eval::roc_plot({{.label = kNasty, .x = {0, 0.5, 1}, .y = {0, 1, 1}, .area = 0.75}}, o));
    figures.push_back(
        eval::pr_plot({{.label = kNasty, .x = {1, 0.5, 0}, .y = {0.5, 1, 1}, .area = 0.9}}, o));
    figures.push_back(
        eval::scatter_plot({0, 1, 2}, {2, 1, 0}, std::vector<int64_t>{0, 1, 0}, {kNasty, "b"}, o));
    figures.push_back(
        eval::scatter_plot({0, 1, 2}, {2, 1, 0}, std::vector<double>{0.1, 0.5, 0.9}, kNasty, o));
    figures.push_back(
        eval::confusion_matrix_plot({{2, 0}, {1, 3}}, {kNasty, "b"}, {.title = kNasty}));
    figures.push_back(eval::bar_chart({kNasty, "b"}, {0.5, 0.75}, o, {0.1, 0.05}));
    for (size_t f = 0; f < figures.size(); ++f) {
        CAPTURE(f);
        std::string doc = figures[f].document();
        CHECK(xml_problem(doc) == "");
        CHECK(xml_problem(figures[f].element()) == "");
        CHECK(
            doc.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "
                            "xmlns=\"http://www.w3.org/2000/svg\""));
        CHECK(doc.find(kNastyEscaped) != std::string::npos);
        CHECK(doc.find(kNasty) == std::string::npos);
    }
}

TEST_CASE("figure contents: legends with areas, gaps, heatmap cells") {
    std::string roc =
        eval::roc_plot({{.label = "blast", .x = {0, 0.5, 1}, .y = {0, 1, 1}, .area = 0.75}})
            .document();
    CHECK(roc.find(">blast (AUC = 0.750)<") != std::string::npos);
    CHECK(roc.find(">chance (AUC = 0.5)<") != std::string::npos);
    CHECK(roc.find(">False positive rate<") != std::string::npos);
    std::string pr =
        eval::pr_plot({{.label = "blast", .x = {1, 0}, .y = {0.5, 1}, .area = 0.5}}).document();
    CHECK(pr.find(">blast (AP = 0.500)<") != std::string::npos);
    // A NaN in a line breaks it in two polylines (plus none for the frame).
    std::string line =
        eval::line_plot({{.label = "loss", .x = {0, 1, 2, 3, 4}, .y = {1, 2, NAN, 3, 2}}}, {})
            .document();
    CHECK(count(line, "<polyline") == 2);
    // [[2, 0], [1, 3]] row-normalized: 1.00 (2), 0.00 (0), 0.25 (1), 0.75 (3).
    std::string cm = eval::confusion_matrix_plot({{2, 0}, {1, 3}}, {"x", "y"}).document();
    for (const char* cell :
         {">1.00<", ">(2)<", ">0.00<", ">(0)<", ">0.25<", ">(1)<", ">0.75<", ">(3)<"})
        CHECK(cm.find(cell) != std::string::npos);
    CHECK(cm.find(">True label<") != std::string::npos);
    CHECK(cm.find(">Predicted label<") != std::string::npos);
    // Counts only, not normalized.
    std::string counts =
        eval::confusion_matrix_plot({{2, 0}, {1, 3}}, {"x", "y"}, {.normalize_rows = false})
            .document();
    CHECK(counts.find(">3<") != std::string::npos);
    CHECK(counts.find(">0.75<") == std::string::npos);
    // Frame: data limits map to the plot area's corners.
    eval::Frame frame({.width = 400, .height = 300}, {0, 0.5, 1}, {-1, 0, 1});
    CHECK(frame.px(0) == doctest::Approx(frame.left()));
    CHECK(frame.px(1) == doctest::Approx(frame.right()));
    CHECK(frame.py(-1) == doctest::Approx(frame.bottom()));
    CHECK(frame.py(1) == doctest::Approx(frame.top()));
}

TEST_CASE("figure errors name the numbers") {
    CHECK_THROWS_WITH_AS(eval::line_plot({{.label = "loss", .x = {0, 1}, .y = {1}}}, {}),
                         doctest::Contains("loss: 2 x values but 1 y values"), Error);
    CHECK_THROWS_WITH_AS(
        eval::scatter_plot({0, NAN}, {0, 1}, std::vector<int64_t>{0, 0}, {"a"}, {}),
        doctest::Contains("point 1 is (nan, 1)"), Error);
    CHECK_THROWS_WITH_AS(
        eval::scatter_plot({0, 1}, {0, 1}, std::vector<int64_t>{0, 2}, {"a", "b"}, {}),
        doctest::Contains("label 2 of point 1 outside [0, 2)"), Error);
    CHECK_THROWS_WITH_AS(eval::scatter_plot({0, 1}, {0, 1}, std::vector<int64_t>{0}, {"a"}, {}),
                         doctest::Contains("2 points but 1 labels"), Error);
    CHECK_THROWS_WITH_AS(eval::confusion_matrix_plot({{1, 0}, {0, 1}}, {"a", "b", "c"}),
                         doctest::Contains("3 class names for a 2x2 matrix"), Error);
    CHECK_THROWS_WITH_AS(eval::bar_chart({"a", "b"}, {1}, {}),
                         doctest::Contains("2 categories but 1 values"), Error);
    CHECK_THROWS_WITH_AS(eval::roc_plot({{.label = "c", .x = {0, NAN}, .y = {0, 1}}}),
                         doctest::Contains("curve 'c' point 1 is (nan, 1)"), Error);
    CHECK_THROWS_WITH_AS(eval::roc_plot({}), doctest::Contains("roc_plot: no curves"), Error);
}

TEST_CASE("base64 and the montage's PNG data URI decode back to the same pixels") {
    auto b64 = [](std::string s) {
        return eval::base64_encode(std::vector<uint8_t>(s.begin(), s.end()));
    };
    // RFC 4648 section 10 test vectors.
    CHECK(b64("") == "");
    CHECK(b64("f") == "Zg==");
    CHECK(b64("fo") == "Zm8=");
    CHECK(b64("foo") == "Zm9v");
    CHECK(b64("foob") == "Zm9vYg==");
    CHECK(b64("fooba") == "Zm9vYmE=");
    CHECK(b64("foobar") == "Zm9vYmFy");
    if (!data::image_io_available()) return;
    data::Image rgb(20, 30, 3);
    for (size_t i = 0; i < rgb.pixels.size(); ++i) rgb.pixels[i] = uint8_t(i * 37 % 251);
    eval::Section s("cells");
    s.montage({{rgb, "top <1>"}}, "top cells", 96);
    const std::string& html = s.html();
    CHECK(html.find(">top &lt;1&gt;<") != std::string::npos);  // the caption, escaped
    const std::string prefix = "src=\"data:image/png;base64,";
    size_t at = html.find(prefix);
    REQUIRE(at != std::string::npos);
    size_t start = at + prefix.size(), end = html.find('"', start);
    std::vector<uint8_t> png = base64_decode(html.substr(start, end - start));
    CHECK(png == data::encode_png(rgb));
    data::Image back = data::decode_image(png, "montage thumbnail");
    CHECK(back.height == 20);
    CHECK(back.width == 30);
    CHECK(back.pixels == rgb.pixels);
    CHECK(html.find("width=\"96\" height=\"64\"") != std::string::npos);  // 30:20 shown 96 wide
    // An image larger than the thumbnail is box-averaged down: 4x4 blocks of one value.
    // An image larger than the thumbnail is box-averaged down: 8x8 blocks of one value.
    data::Image small_src(16, 16, 1);
    for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x) small_src.at(y, x, 0) = uint8_t((y / 8) * 100 + (x / 8) * 50);
    eval::Section s3("shrunk");
    s3.montage({{small_src, ""}}, "", 8);
    const std::string& h3 = s3.html();
    size_t a3 = h3.find(prefix) + prefix.size();
    data::Image shrunk =
        data::decode_image(base64_decode(h3.substr(a3, h3.find('"', a3) - a3)), "t");
    REQUIRE(shrunk.height == 8);
    CHECK(shrunk.at(0, 0, 0) == 0);
    CHECK(shrunk.at(0, 7, 0) == 50);
    CHECK(shrunk.at(7, 0, 0) == 100);
    CHECK(shrunk.at(7, 7, 0) == 150);
}

TEST_CASE("metrics.jsonl: records, and errors naming the line") {
    auto recs = eval::parse_metrics_jsonl(
        "{\"step\": 1, \"loss\": 2.5}\n\n{\"step\": 2, \"loss\": null}\n", "m.jsonl");
    REQUIRE(recs.size() == 2);
    CHECK(recs[0].line == 1);
    CHECK(recs[1].line == 3);
    CHECK(recs[0].values["loss"].get<double>() == 2.5);
    CHECK_THROWS_WITH_AS(
        eval::parse_metrics_jsonl("{\"step\": 1}\n{\"step\": 2}\n{bad\n", "m.jsonl"),
        doctest::Contains("m.jsonl:3: not valid JSON"), Error);
    CHECK_THROWS_WITH_AS(eval::parse_metrics_jsonl("{\"step\": 1}\n[1, 2]\n", "m.jsonl"),
                         doctest::Contains("m.jsonl:2: a array where a JSON object was expected"),
                         Error);
    auto bad = eval::parse_metrics_jsonl(
        "{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"loss\": \"x\"}\n", "m.jsonl");
    CHECK_THROWS_WITH_AS(eval::training_curves_plot(bad, "step", {"loss"}),
                         doctest::Contains("line 2: \"loss\" is \"x\", not a number"), Error);
    CHECK_THROWS_WITH_AS(eval::training_curves_plot(recs, "step", {"acc"}),
                         doctest::Contains("key \"acc\" is in none of the 2 records"), Error);
    CHECK_THROWS_WITH_AS(eval::read_metrics_jsonl("/nonexistent/metrics.jsonl"),
                         doctest::Contains("cannot open /nonexistent/metrics.jsonl"), Error);
    // A null is a gap: one polyline for one point would be none; two points before it, one.
    auto gap = eval::parse_metrics_jsonl(
        "{\"step\":0,\"loss\":3}\n{\"step\":1,\"loss\":2}\n{\"step\":2,\"loss\":null}\n"
        "{\"step\":3,\"loss\":1}\n{\"step\":4,\"loss\":0.5}\n",
        "g");
    CHECK(count(eval::training_curves_plot(gap, "step", {"loss"}).document(), "<polyline") == 2);
}

TEST_CASE("results table cells and mean ± sd") {
    CHECK(eval::format_mean_sd({0.84213, 0.01349, 5}) == "0.842 ± 0.013");
    CHECK(eval::format_mean_sd({0.5, 0.26, 5}, 1) == "0.5 ± 0.3");
    CHECK(eval::format_mean_sd({NAN, 0.1, 0}) == "n/a");
    eval::Section s("r");
    CHECK_THROWS_WITH_AS(s.table({.columns = {"a", "b"}, .rows = {{"x"}}}),
                         doctest::Contains("row 0 has 1 cells but there are 2 columns"), Error);
}

TEST_CASE("report: escaped, self-contained, saved atomically") {
    eval::Report report(kNasty);
    report.add_metadata(nlohmann::json{{"seed", 3}, {"model", {{"name", kNasty}, {"dim", 64}}}});
    report.add_metadata("note", "<b>");
    auto& s = report.section(kNasty);
    s.paragraph(kNasty);
    s.table(
        {.columns = {"method", kNasty}, .rows = {{"1-NN", eval::format_mean_sd({0.8, 0.01, 5})}}});
    s.figure(eval::bar_chart({"a"}, {1}, {}), kNasty);
    std::string html = report.html();
    CHECK(html.starts_with("<!DOCTYPE html>"));
    CHECK(html.find(kNasty) == std::string::npos);
    CHECK(count(html, kNastyEscaped) >= 6);  // title x2, h2, paragraph, th, figcaption
    CHECK(html.find("<th>model.name</th><td>" + kNastyEscaped + "</td>") != std::string::npos);
    CHECK(html.find("<th>model.dim</th><td>64</td>") != std::string::npos);
    CHECK(html.find("&lt;b&gt;") != std::string::npos);
    CHECK(html.find("<td class=\"num\">0.800 ± 0.010</td>") != std::string::npos);
    // Nothing to fetch and nothing to run.
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("src=\"http") == std::string::npos);
    CHECK(html.find("href=") == std::string::npos);
    CHECK(html.find("@import") == std::string::npos);
    CHECK_THROWS_WITH_AS(report.add_metadata(nlohmann::json::array({1})),
                         doctest::Contains("run metadata is a array, not an object"), Error);

    auto dir = std::filesystem::temp_directory_path() / "marrow_test_report";
    std::filesystem::create_directories(dir);
    report.save(dir / "report.html");
    std::ifstream in(dir / "report.html", std::ios::binary);
    std::string saved{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    CHECK(saved == html);
    CHECK_FALSE(std::filesystem::exists(dir / "report.html.tmp"));
    eval::Svg svg = eval::bar_chart({"a"}, {1}, {});
    svg.save(dir / "bar.svg");
    std::ifstream sin(dir / "bar.svg", std::ios::binary);
    std::string svg_text{std::istreambuf_iterator<char>(sin), std::istreambuf_iterator<char>()};
    CHECK(svg_text == svg.document());
    CHECK_THROWS_WITH_AS(
        report.save("/nonexistent/dir/report.html"),
        doctest::Contains("Report::save: cannot write \"/nonexistent/dir/report.html.tmp."), Error);
    std::filesystem::remove_all(dir);
}
