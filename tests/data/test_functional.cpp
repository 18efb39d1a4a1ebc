// data/functional.cpp against torchvision 0.14 (fixtures: tests/golden/gen/gen_transforms.py).
// Each fixture's name is the op and its parameters; this file parses it and runs our op.
#include <doctest/doctest.h>

#include <sstream>

#include "data/functional.h"
#include "marrow.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::data;

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string part; std::getline(ss, part, sep);) out.push_back(part);
    return out;
}

Interpolation mode_of(const std::string& m) {
    if (m == "nearest") return Interpolation::nearest;
    if (m == "bicubic") return Interpolation::bicubic;
    return Interpolation::bilinear;
}

Tensor run_case(const std::string& op, const std::vector<std::string>& a, const Tensor& img) {
    auto i = [&](size_t k) { return std::stoll(a[k]); };
    auto f = [&](size_t k) { return std::stod(a[k]); };
    if (op == "resize") return resize(img, i(0), i(1), mode_of(a[2]), a[3] == "aa");
    if (op == "crop") return crop(img, i(0), i(1), i(2), i(3));
    if (op == "center_crop") return center_crop(img, i(0), i(1));
    if (op == "hflip") return hflip(img);
    if (op == "vflip") return vflip(img);
    if (op == "rot90") return rot90(img, int(i(0)));
    if (op == "rotate") {
        std::vector<std::string> fill = split(a[2], ',');
        return rotate(img, f(0), mode_of(a[1]),
                      {std::stof(fill[0]), std::stof(fill[1]), std::stof(fill[2])});
    }
    if (op == "gray") return rgb_to_grayscale(img, i(0));
    if (op == "brightness") return adjust_brightness(img, f(0));
    if (op == "contrast") return adjust_contrast(img, f(0));
    if (op == "saturation") return adjust_saturation(img, f(0));
    if (op == "hue") return adjust_hue(img, f(0));
    if (op == "solarize") return solarize(img, f(0));
    if (op == "blur") return gaussian_blur(img, i(0), f(1));
    if (op == "normalize") return normalize(img, kImageNetMean, kImageNetStd);
    FAIL("unknown fixture op " << op);
    return img;
}

}  // namespace

TEST_CASE("every deterministic image op matches torchvision on RGB and gray images") {
    SafetensorsFile golden =
        load_safetensors(MARROW_SOURCE_DIR "/tests/golden/fixtures/transforms.safetensors");
    int checked = 0;
    for (const auto& item : golden.tensors) {  // no structured binding: clang 14 cannot
        const std::string& key = item.first;  // capture one (CAPTURE's lambda)
        const Tensor& expected = item.second;
        if (key.starts_with("input/")) continue;
        CAPTURE(key);
        std::string kind = key.substr(0, key.find('/'));
        std::vector<std::string> parts = split(key.substr(key.find('/') + 1), ':');
        std::string op = parts[0];
        parts.erase(parts.begin());
        Tensor out = run_case(op, parts, golden.tensors.at("input/" + kind));
        REQUIRE(out.shape() == expected.shape());
        // Exact ops move values; the rest are a few float operations per output (resampling
        // and blur: a weighted sum of up to ~25 taps in a different order).
        bool moves = op == "crop" || op == "center_crop" || op == "hflip" || op == "vflip" ||
                     op == "rot90" || (op == "resize" && parts[2] == "nearest");
        test::Tolerance tol =
            test::tolerance(moves ? test::TolClass::exact : test::TolClass::reduction, DType::f32);
        test::Comparison cmp = test::compare(out, expected, tol);
        CHECK_MESSAGE(cmp.ok, cmp.detail);
        ++checked;
    }
    CHECK(checked >= 60);
}

TEST_CASE("image ops reject what they cannot handle, naming the op") {
    CHECK_THROWS_WITH_AS(resize(zeros({2, 4, 4}), 2, 2),
                         doctest::Contains("resize: expected a contiguous f32 CPU image"), Error);
    CHECK_THROWS_WITH_AS(gaussian_blur(zeros({3, 4, 4}), 4, 1.0),
                         doctest::Contains("kernel size 4 must be odd"), Error);
    CHECK_THROWS_WITH_AS(gaussian_blur(zeros({3, 4, 4}), 9, 1.0),
                         doctest::Contains("needs an image larger than 4x4"), Error);
    CHECK_THROWS_WITH_AS(adjust_hue(zeros({3, 4, 4}), 0.7),
                         doctest::Contains("adjust_hue: shift 0.7 not in [-0.5, 0.5]"), Error);
}
