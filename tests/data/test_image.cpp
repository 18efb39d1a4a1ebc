// Image decoding against PIL (fixtures from tests/golden/gen/gen_images.py), PNG round trips,
// tensor conversion, and the errors for truncated, corrupt and unknown files.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

#include "data/image.h"
#include "marrow.h"
#include "tests/compare.h"

using namespace marrow;
using namespace marrow::data;

namespace {

const std::string kImages = MARROW_SOURCE_DIR "/tests/data/images/";

std::vector<uint8_t> file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Tensor as_tensor(const Image& image) {
    Tensor t = empty({image.height, image.width, image.channels}, DType::u8);
    std::copy(image.pixels.begin(), image.pixels.end(), t.data<uint8_t>());
    return t;
}

}  // namespace

TEST_CASE("every fixture decodes to what PIL's convert(\"RGB\") gives") {
    if (!image_io_available()) return;
    SafetensorsFile golden =
        load_safetensors(MARROW_SOURCE_DIR "/tests/golden/fixtures/images.safetensors");
    int checked = 0;
    for (const auto& item : golden.tensors) {  // no structured binding: clang 14 cannot
        const std::string& name = item.first;  // capture one (CAPTURE's lambda)
        const Tensor& expected = item.second;
        CAPTURE(name);
        Image image = read_image(kImages + name);
        CHECK(image.channels == 3);
        REQUIRE(image.height == expected.size(0));
        REQUIRE(image.width == expected.size(1));
        bool jpeg = name.ends_with(".jpg");
        test::Tolerance tol =
            test::tolerance(jpeg ? test::TolClass::jpeg_decode : test::TolClass::exact, DType::u8);
        test::Comparison cmp =
            test::compare(to(as_tensor(image), DType::f64), to(expected, DType::f64), tol);
        CHECK_MESSAGE(cmp.ok, cmp.detail);
        ++checked;
    }
    CHECK(checked == 15);
}

TEST_CASE("truncated, corrupt and unknown files are errors naming the file and the reason") {
    if (!image_io_available()) return;
    for (const char* name :
         {"rgb.png", "rgb.jpg", "progressive.jpg", "rgb.bmp", "rgb_lzw.tif", "rgb_raw.tif"}) {
        CAPTURE(name);
        std::vector<uint8_t> bytes = file_bytes(kImages + name);
        std::span<const uint8_t> half(bytes.data(), bytes.size() / 2);
        CHECK_THROWS_WITH_AS(decode_image(half, "cut"), doctest::Contains("cut: "), Error);
    }
    std::vector<uint8_t> jpeg = file_bytes(kImages + "rgb.jpg");
    std::span<const uint8_t> no_end(jpeg.data(), jpeg.size() - 2);
    CHECK_THROWS_WITH_AS(decode_image(no_end, "a.jpg"), doctest::Contains("a.jpg: truncated JPEG"),
                         Error);
    std::vector<uint8_t> tiff = file_bytes(kImages + "rgb_lzw.tif");
    std::fill(tiff.begin() + 8, tiff.end(), uint8_t(0xee));  // header intact, the rest garbage
    CHECK_THROWS_WITH_AS(decode_image(tiff, "b.tif"),
                         doctest::Contains("b.tif: cannot decode TIFF image"), Error);
    std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o'};
    CHECK_THROWS_WITH_AS(decode_image(text, "c.txt"),
                         doctest::Contains("c.txt: not a PNG, JPEG, BMP or TIFF image"), Error);
    CHECK_THROWS_WITH_AS(decode_image({}, "d.png"), doctest::Contains("d.png: empty file"), Error);
    CHECK_THROWS_WITH_AS(read_image(kImages + "missing.png"),
                         doctest::Contains("cannot open image file"), Error);
}

TEST_CASE("PNG round trip, and tensors in [0, 1]") {
    if (!image_io_available()) return;
    Image rgb = read_image(kImages + "rgb.png");
    std::string path = (std::filesystem::temp_directory_path() / "marrow_test_rgb.png").string();
    write_png(path, rgb);
    Image back = read_image(path);
    CHECK(back.pixels == rgb.pixels);
    std::remove(path.c_str());
    std::string tif = (std::filesystem::temp_directory_path() / "marrow_test_rgb.tif").string();
    write_tiff(tif, rgb);
    CHECK(read_image(tif).pixels == rgb.pixels);  // LZW is lossless
    std::remove(tif.c_str());

    Tensor t = image_to_tensor(rgb);
    CHECK(t.shape() == std::vector<int64_t>{3, rgb.height, rgb.width});
    CHECK(t.data<float>()[0] == doctest::Approx(rgb.at(0, 0, 0) / 255.0));
    CHECK(t.data<float>()[rgb.height * rgb.width] == doctest::Approx(rgb.at(0, 0, 1) / 255.0));
    CHECK(tensor_to_image(t).pixels == rgb.pixels);
    CHECK_THROWS_WITH_AS(tensor_to_image(zeros({2, 4, 4})),
                         doctest::Contains("expected a (C, H, W) tensor with C = 1 or 3"), Error);
}
