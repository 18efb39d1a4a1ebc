// Image decoding against PIL (fixtures from tests/golden/gen/gen_images.py), PNG round trips,
// tensor conversion, the errors for truncated, corrupt and unknown files, and the fuzzing
// regressions of issue 11 (tests/fuzz/regressions/image_*/), each a clean Error naming the file.
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
const std::string kRegressions = MARROW_SOURCE_DIR "/tests/fuzz/regressions/";

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

// Each input crashed, exhausted or fooled the stb_image/libtiff decoders before issue 11; what
// each did then is in the comment. The error must name the file and say what is wrong.
TEST_CASE("fuzzing regressions are errors naming the file, and allocate nothing big") {
    if (!image_io_available()) return;
    struct Case {
        const char* file;
        const char* says;
    };
    for (Case c : {
             // stb: an 18 x 0 image "ok"; cohort_baseline then computed NaN features.
             Case{"image_bmp/height-zero", "BMP image of 18x0 pixels (width x height), an empty"},
             // Compression 0xffffffff (negative to stb, so not rejected) and 23 x 7,995,441 in
             // 458 bytes: stb returned a zero-filled 23 x 7,995,441 image (552 MB).
             Case{"image_bmp/bad-compression-truncated", "BMP compression 4294967295"},
             // OS/2 core header, 23 x 65535, rows missing: the old check skipped OS/2 headers.
             Case{"image_bmp/os2-truncated",
                  "truncated BMP image (23x65535 pixels need 4718520 bytes from offset 26"},
             // DHT counts summing to 4080: Debian's stb_image wrote past its Huffman tables.
             Case{"image_jpeg/dht-counts-over-256", "cannot decode JPEG image: Bogus Huffman"},
             // Found in 65 s (25,000 execs) of fuzzing stb_image's JPEG decoder for the choice of
             // decoder: a heap use-after-free in stbi__jpeg_huff_decode (undefined table).
             Case{"image_jpeg/stb-use-after-free",
                  "cannot decode JPEG image: Huffman table 0x01 was not defined"},
             // A zlib block of reserved type 3: stb failed with a NULL reason, and formatting it
             // threw fmt::format_error, which named no file and escaped the loader's skip.
             Case{"image_png/zlib-block-type-3", "cannot decode PNG image: IDAT: invalid block"},
             // 46340 x 46340 RGB in 138 bytes: the old decoder zero-filled 6.4 GB first.
             Case{"image_tiff/huge-uncompressed-138-bytes",
                  "TIFF image of 46340x46340 pixels is over the budget of 268435456 pixels"},
         }) {
        CAPTURE(c.file);
        std::string path = kRegressions + c.file;
        CHECK_THROWS_WITH_AS(read_image(path), doctest::Contains((path + ": " + c.says).c_str()),
                             Error);
    }
}

TEST_CASE("the pixel budget is checked before allocation, and the file must hold the pixels") {
    if (!image_io_available()) return;
    // Within a budget big enough for its header, the 138-byte TIFF still fails: its 16 bytes of
    // strip data cannot hold 46340 x 46340 x 3 = 6,442,186,800 uncompressed bytes.
    std::vector<uint8_t> tiff = file_bytes(kRegressions + "image_tiff/huge-uncompressed-138-bytes");
    CHECK_THROWS_WITH_AS(
        decode_image(tiff, "t.tif", {.max_pixels = uint64_t(1) << 32}),
        doctest::Contains("t.tif: TIFF header promises 6442186800 bytes of uncompressed pixel "
                          "data but the file holds 16"),
        Error);
    // Every format obeys the budget: the 17 x 23 fixtures fail under a 390-pixel one.
    for (const char* name : {"rgb.png", "rgb.jpg", "rgb.bmp", "rgb_lzw.tif"}) {
        CAPTURE(name);
        std::vector<uint8_t> bytes = file_bytes(kImages + name);
        CHECK(decode_image(bytes, name, {.max_pixels = 17 * 23}).width == 23);
        CHECK_THROWS_WITH_AS(decode_image(bytes, name, {.max_pixels = 17 * 23 - 1}),
                             doctest::Contains("image of 23x17 pixels is over the budget of 390"),
                             Error);
    }
    // The process-wide budget is what read_image uses.
    ImageLimits saved = image_limits();
    set_image_limits({.max_pixels = 100});
    CHECK_THROWS_WITH_AS(read_image(kImages + "rgb.png"),
                         doctest::Contains("over the budget of 100 pixels"), Error);
    set_image_limits(saved);
    CHECK(read_image(kImages + "rgb.png").width == 23);
    CHECK_THROWS_WITH_AS(set_image_limits({.max_pixels = 0}),
                         doctest::Contains("set_image_limits: max_pixels 0"), Error);
    // A PNG header promising more pixels than its IDAT data could inflate to (deflate's best is
    // 1032:1): rgb.png's IHDR made 4096 x 4096 with its 100-odd bytes of IDAT.
    std::vector<uint8_t> png = file_bytes(kImages + "rgb.png");
    for (size_t at : {16, 20}) {
        png[at] = 0, png[at + 1] = 0, png[at + 2] = 0x10, png[at + 3] = 0;
    }
    CHECK_THROWS_WITH_AS(decode_image(png, "big.png"),
                         doctest::Contains("big.png: PNG header promises 4096x4096 pixels but "
                                           "the file holds"),
                         Error);
}
