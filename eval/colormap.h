// Colours for figures: matplotlib's viridis (its 256-entry table, looked up as matplotlib does),
// a sequential blues map (matplotlib's "Blues", the ColorBrewer 9-class anchors interpolated
// linearly), and the qualitative Tableau palettes tab10 / tab20 for class labels.
#pragma once
#include <cstdint>
#include <string>

namespace marrow::eval {

struct Rgb {
    uint8_t r = 0, g = 0, b = 0;
    bool operator==(const Rgb&) const = default;
};

// "#rrggbb", lower case (matplotlib.colors.to_hex).
std::string to_hex(Rgb color);

enum class Colormap { kViridis, kBlues };

// matplotlib.cm.viridis(t): entry min(255, floor(t * 256)) of the table; t is clamped to
// [0, 1], NaN is an error. viridis(0) = #440154, viridis(0.5) = #21918c, viridis(1) = #fde725.
Rgb viridis(double t);
// matplotlib.cm.Blues(t), up to its 256-level quantization: #f7fbff at 0, #08306b at 1.
Rgb blues(double t);
Rgb colormap(Colormap map, double t);

// Colour of class `index` among `num_classes`: tab10 for up to 10 classes, tab20 beyond
// (cycling past 20, where colours repeat), as matplotlib's qualitative maps.
Rgb category_color(int64_t index, int64_t num_classes);
Rgb tab10(int64_t index);  // index mod 10
Rgb tab20(int64_t index);  // index mod 20

// Near-black or white, whichever contrasts more with `background`: dark text when the WCAG
// relative luminance is above 0.179, where both contrast ratios are equal.
Rgb contrasting_text(Rgb background);

}  // namespace marrow::eval
