// Image I/O: decode PNG (libpng), JPEG (libjpeg-turbo), BMP (stb_image, Debian's libstb-dev)
// and TIFF (libtiff: 8-bit grayscale, RGB, RGBA and palette; uncompressed, LZW, deflate, ...)
// into 8-bit RGB, and encode PNG, JPEG (stb_image_write) and TIFF. The format is recognised from
// the file's first bytes, not its name. Like the reference pipelines' PIL `.convert("RGB")`,
// grayscale is replicated into three channels and alpha is dropped (not composited).
//
// Files are untrusted input (scanners, shared drives, other labs): a truncated, corrupt or
// oversized file is an Error naming the file and the reason, whatever decoder found it. Before
// anything image-sized is allocated, each decoder checks the header's width x height against
// the pixel budget (ImageLimits) and that the file holds the bytes the header promises (all of
// them when uncompressed; enough for the format's best compression ratio otherwise). Why
// libpng and libjpeg-turbo rather than stb_image for PNG and JPEG: docs/design.md (issue 11).
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::data {

// 8-bit pixels, rows top to bottom, channels interleaved: pixels[(y * width + x) * channels + c].
struct Image {
    int height = 0, width = 0, channels = 3;  // 3 (RGB) or 1 (gray)
    std::vector<uint8_t> pixels;

    Image() = default;
    Image(int h, int w, int c) : height(h), width(w), channels(c), pixels(size_t(h) * w * c) {}
    uint8_t& at(int y, int x, int c) { return pixels[(size_t(y) * width + x) * channels + c]; }
    uint8_t at(int y, int x, int c) const { return pixels[(size_t(y) * width + x) * channels + c]; }
};

// The resource budget of one decode. max_pixels bounds width x height (the decoded image takes
// 3 bytes a pixel, the decoders' working buffers at most a few more); 2^28 = 268M pixels (a
// 16384 x 16384 slide tile) by default.
struct ImageLimits {
    uint64_t max_pixels = uint64_t(1) << 28;
};

// The process-wide budget that decode_image(bytes, name) and read_image use. Safe to call from
// any thread; decodes already under way keep the budget they started with.
void set_image_limits(const ImageLimits& limits);
ImageLimits image_limits();

// `name` (usually the path) is what errors mention.
Image decode_image(std::span<const uint8_t> bytes, const std::string& name);
Image decode_image(std::span<const uint8_t> bytes, const std::string& name,
                   const ImageLimits& limits);
Image read_image(const std::filesystem::path& path);

// PNG (8-bit RGB or gray), written to a temporary file and renamed, so an existing file is
// never left half-written.
void write_png(const std::filesystem::path& path, const Image& image);

// The PNG bytes write_png would write, in memory (e.g. for a data: URI in an HTML report).
std::vector<uint8_t> encode_png(const Image& image);

// JPEG (quality 1-100), as the lymphocytosis dataset ships its cells; temp file + rename.
void write_jpeg(const std::filesystem::path& path, const Image& image, int quality = 95);

// TIFF (8-bit RGB or gray, LZW-compressed), as the AML datasets ship their cells; also written
// to a temporary file and renamed.
void write_tiff(const std::filesystem::path& path, const Image& image);

// u8 HWC -> f32 (C, H, W) in [0, 1] (x / 255, as torchvision's to_tensor), and back (values
// clamped to [0, 1], scaled by 255 and rounded to nearest).
Tensor image_to_tensor(const Image& image);
Image tensor_to_image(const Tensor& chw);

// Whether this build can decode images (stb_image, libpng, libjpeg and libtiff were found at
// configure time).
bool image_io_available();

}  // namespace marrow::data
