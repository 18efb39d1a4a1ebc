#include "data/image.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <new>

#include "autograd/ops.h"
#include "data/image_codecs.h"
#include "tensor/error.h"
#include "tensor/factory.h"

#if defined(MARROW_IMAGE_IO)
#include <stb_image.h>
#include <stb_image_write.h>
#include <tiffio.h>
#endif

namespace marrow::data {
namespace {

enum class Format { png, jpeg, bmp, tiff, unknown };

Format sniff(std::span<const uint8_t> b) {
    auto starts = [&](std::initializer_list<uint8_t> magic) {
        return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
    };
    if (starts({0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a})) return Format::png;
    if (starts({0xff, 0xd8, 0xff})) return Format::jpeg;
    if (starts({'B', 'M'})) return Format::bmp;
    if (starts({'I', 'I', 42, 0}) || starts({'M', 'M', 0, 42})) return Format::tiff;
    return Format::unknown;
}

#if defined(MARROW_IMAGE_IO)

// A truncated JPEG is only a warning to libjpeg (the rest reads as gray), so check first, for a
// clear message, that the last scan (SOS marker FF DA) is followed by the end-of-image marker
// FF D9. Inside entropy-coded data a literal FF is stuffed as FF 00, so neither marker occurs
// by accident; an EXIF thumbnail's own FF D9 comes before the main image's scans.
bool jpeg_complete(std::span<const uint8_t> b) {
    size_t last_sos = 0;
    for (size_t i = 0; i + 1 < b.size(); ++i)
        if (b[i] == 0xff && b[i + 1] == 0xda) last_sos = i;
    for (size_t i = b.size() - 1; i > last_sos + 1; --i)
        if (b[i - 1] == 0xff && b[i] == 0xd9) return true;
    return false;
}

uint32_t le32(std::span<const uint8_t> b, size_t at) {
    return uint32_t(b[at]) | uint32_t(b[at + 1]) << 8 | uint32_t(b[at + 2]) << 16 |
           uint32_t(b[at + 3]) << 24;
}
uint16_t le16(std::span<const uint8_t> b, size_t at) { return uint16_t(b[at] | b[at + 1] << 8); }

// stb_image reads missing BMP bytes as zeros and believes the header's size, so the header is
// checked here first: a layout stb decodes soundly (OS/2 core or Windows info header; 1, 4, 8,
// 16, 24 or 32 bits; uncompressed or bit fields, nothing else), a non-empty size within the
// budget, and every pixel row in the file (rows are padded to 4 bytes). All in 64 bits.
void check_bmp(std::span<const uint8_t> b, const std::string& name, const ImageLimits& limits) {
    if (b.size() < 26) fail("{}: truncated BMP image ({} bytes, no header)", name, b.size());
    uint32_t offset = le32(b, 10), header = le32(b, 14);
    if (header != 12 && header != 40 && header != 56 && header != 108 && header != 124)
        fail("{}: BMP header of {} bytes (12, 40, 56, 108 or 124 supported)", name, header);
    if (b.size() < 14 + uint64_t(header)) fail("{}: truncated BMP image (header cut)", name);
    bool os2 = header == 12;
    int64_t width = os2 ? le16(b, 18) : int32_t(le32(b, 18));
    int64_t height = os2 ? le16(b, 20) : int32_t(le32(b, 22));
    uint32_t bpp = os2 ? le16(b, 24) : le16(b, 28), compression = os2 ? 0 : le32(b, 30);
    if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32)
        fail("{}: BMP with {} bits per pixel (1, 4, 8, 16, 24 or 32 supported)", name, bpp);
    if (compression != 0 && !(compression == 3 && (bpp == 16 || bpp == 32)))
        fail(
            "{}: BMP compression {} with {} bits per pixel (only uncompressed, or bit fields at "
            "16 and 32 bits, supported)",
            name, compression, bpp);
    if (width < 0) fail("{}: BMP of negative width {}", name, width);
    detail::check_pixel_budget(uint64_t(width), uint64_t(std::abs(height)), limits, name, "BMP");
    uint64_t row = (uint64_t(bpp) * uint64_t(width) + 31) / 32 * 4;
    if (uint64_t(offset) + row * uint64_t(std::abs(height)) > b.size())
        fail("{}: truncated BMP image ({}x{} pixels need {} bytes from offset {}, the file has {})",
             name, width, std::abs(height), row * uint64_t(std::abs(height)), offset, b.size());
}

Image decode_bmp(std::span<const uint8_t> bytes, const std::string& name,
                 const ImageLimits& limits) {
    check_bmp(bytes, name, limits);
    if (bytes.size() > size_t(INT32_MAX)) fail("{}: BMP file over 2 GiB", name);
    int w = 0, h = 0, n = 0;
    uint8_t* p = stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &n, 3);
    if (!p) {
        const char* reason = stbi_failure_reason();  // may be null: stb does not always set one
        fail("{}: cannot decode BMP image: {}", name, reason ? reason : "unknown reason");
    }
    struct Free {
        uint8_t* p;
        ~Free() { stbi_image_free(p); }
    } free_p{p};
    Image image(h, w, 3);
    std::memcpy(image.pixels.data(), p, image.pixels.size());
    return image;
}

#endif  // MARROW_IMAGE_IO

#if defined(MARROW_IMAGE_IO)
// Runs write(tmp) (false on failure) on `path`.tmp, then renames it to `path`, so an existing
// file is never left half-written.
template <typename Write>
void write_via_temp(const std::filesystem::path& path, const char* who, Write write) {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    if (!write(tmp)) fail("{}: cannot write {}", who, tmp.string());
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) fail("{}: cannot rename {} to {}: {}", who, tmp.string(), path.string(), ec.message());
}
#endif

std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open image file {}", path.string());
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

bool image_io_available() {
#if defined(MARROW_IMAGE_IO)
    return true;
#else
    return false;
#endif
}

namespace {
std::atomic<uint64_t> g_max_pixels{ImageLimits{}.max_pixels};
}

void set_image_limits(const ImageLimits& limits) {
    MARROW_CHECK(limits.max_pixels >= 1 && limits.max_pixels <= (uint64_t(1) << 40),
                 "set_image_limits: max_pixels {} (1 to 2^40)", limits.max_pixels);
    g_max_pixels.store(limits.max_pixels);
}

ImageLimits image_limits() { return {g_max_pixels.load()}; }

Image decode_image(std::span<const uint8_t> bytes, const std::string& name) {
    return decode_image(bytes, name, image_limits());
}

Image decode_image(std::span<const uint8_t> bytes, const std::string& name,
                   const ImageLimits& limits) {
    if (bytes.empty()) fail("{}: empty file, not an image", name);
    Format format = sniff(bytes);
    if (format == Format::unknown)
        fail("{}: not a PNG, JPEG, BMP or TIFF image (unrecognised first bytes)", name);
#if defined(MARROW_IMAGE_IO)
    Image image;
    try {
        switch (format) {
            case Format::png:
                image = detail::decode_png(bytes, name, limits);
                break;
            case Format::bmp:
                image = decode_bmp(bytes, name, limits);
                break;
            case Format::jpeg:
                if (!jpeg_complete(bytes))
                    fail("{}: truncated JPEG image (no end-of-image marker after the last scan)",
                         name);
                image = detail::decode_jpeg(bytes, name, limits);
                break;
            case Format::tiff:
                image = detail::decode_tiff(bytes, name, limits);
                break;
            case Format::unknown:
                break;
        }
    } catch (const Error&) {
        throw;
    } catch (const std::bad_alloc&) {
        fail("{}: out of memory decoding the image ({} bytes)", name, bytes.size());
    } catch (const std::exception& e) {  // whatever a decoder throws reaches callers named
        fail("{}: cannot decode image: {}", name, e.what());
    }
    // Whatever the decoder, what leaves here is a non-empty RGB image of the promised size.
    if (image.height <= 0 || image.width <= 0 || image.channels != 3 ||
        image.pixels.size() != size_t(image.height) * size_t(image.width) * 3)
        fail("{}: decoded to an empty or malformed {}x{}x{} image", name, image.height, image.width,
             image.channels);
    return image;
#else
    (void)limits;
    fail(
        "{}: this build has no image decoders (configure with libstb-dev, libpng-dev, "
        "libjpeg62-turbo-dev and libtiff-dev installed)",
        name);
#endif
}

Image read_image(const std::filesystem::path& path) {
    std::vector<uint8_t> bytes = read_bytes(path);
    return decode_image(bytes, path.string());
}

void write_png(const std::filesystem::path& path, const Image& image) {
    MARROW_CHECK(image.channels == 1 || image.channels == 3,
                 "write_png: {}: {} channels (1 or 3 supported)", path.string(), image.channels);
    MARROW_CHECK(image.pixels.size() == size_t(image.height) * image.width * image.channels,
                 "write_png: {}: {} bytes of pixels for a {}x{}x{} image", path.string(),
                 image.pixels.size(), image.height, image.width, image.channels);
#if defined(MARROW_IMAGE_IO)
    write_via_temp(path, "write_png", [&](const std::filesystem::path& tmp) {
        return stbi_write_png(tmp.c_str(), image.width, image.height, image.channels,
                              image.pixels.data(), image.width * image.channels) != 0;
    });
#else
    fail("write_png: {}: this build has no image encoder (libstb-dev)", path.string());
#endif
}

std::vector<uint8_t> encode_png(const Image& image) {
    MARROW_CHECK(image.channels == 1 || image.channels == 3, "encode_png: {} channels (1 or 3 supported)",
                 image.channels);
    MARROW_CHECK(image.height > 0 && image.width > 0 &&
                     image.pixels.size() == size_t(image.height) * image.width * image.channels,
                 "encode_png: {} bytes of pixels for a {}x{}x{} image", image.pixels.size(),
                 image.height, image.width, image.channels);
#if defined(MARROW_IMAGE_IO)
    std::vector<uint8_t> out;
    auto append = [](void* context, void* data, int size) {
        auto* bytes = static_cast<std::vector<uint8_t>*>(context);
        bytes->insert(bytes->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
    };
    if (stbi_write_png_to_func(append, &out, image.width, image.height, image.channels,
                               image.pixels.data(), image.width * image.channels) == 0)
        fail("encode_png: cannot encode a {}x{}x{} image", image.height, image.width,
             image.channels);
    return out;
#else
    fail("encode_png: this build has no image encoder (libstb-dev)");
#endif
}

void write_jpeg(const std::filesystem::path& path, const Image& image, int quality) {
    MARROW_CHECK(image.channels == 1 || image.channels == 3,
                 "write_jpeg: {}: {} channels (1 or 3 supported)", path.string(), image.channels);
    MARROW_CHECK(quality >= 1 && quality <= 100, "write_jpeg: quality {} (1-100)", quality);
#if defined(MARROW_IMAGE_IO)
    write_via_temp(path, "write_jpeg", [&](const std::filesystem::path& tmp) {
        return stbi_write_jpg(tmp.c_str(), image.width, image.height, image.channels,
                              image.pixels.data(), quality) != 0;
    });
#else
    fail("write_jpeg: {}: this build has no image encoder (libstb-dev)", path.string());
#endif
}

void write_tiff(const std::filesystem::path& path, const Image& image) {
    MARROW_CHECK(image.channels == 1 || image.channels == 3,
                 "write_tiff: {}: {} channels (1 or 3 supported)", path.string(), image.channels);
#if defined(MARROW_IMAGE_IO)
    write_via_temp(path, "write_tiff", [&](const std::filesystem::path& tmp) {
        TIFF* tif = TIFFOpen(tmp.c_str(), "w");
        if (!tif) return false;
        TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, uint32_t(image.width));
        TIFFSetField(tif, TIFFTAG_IMAGELENGTH, uint32_t(image.height));
        TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, uint16_t(image.channels));
        TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, uint16_t(8));
        TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(tif, TIFFTAG_PHOTOMETRIC,
                     image.channels == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(tif, 0));
        bool ok = true;
        std::vector<uint8_t> row(size_t(image.width) * size_t(image.channels));
        for (int y = 0; y < image.height && ok; ++y) {
            std::copy_n(image.pixels.data() + size_t(y) * row.size(), row.size(), row.data());
            ok = TIFFWriteScanline(tif, row.data(), uint32_t(y), 0) == 1;
        }
        TIFFClose(tif);
        return ok;
    });
#else
    fail("write_tiff: {}: this build has no TIFF encoder (libtiff-dev)", path.string());
#endif
}

Tensor image_to_tensor(const Image& image) {
    int64_t c = image.channels, h = image.height, w = image.width;
    Tensor t = empty({c, h, w}, DType::f32);
    float* out = t.data<float>();
    for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
            for (int64_t k = 0; k < c; ++k)
                out[(k * h + y) * w + x] = float(image.pixels[(y * w + x) * c + k]) / 255.0f;
    return t;
}

Image tensor_to_image(const Tensor& chw) {
    MARROW_CHECK(chw.dim() == 3 && (chw.size(0) == 1 || chw.size(0) == 3),
                 "tensor_to_image: expected a (C, H, W) tensor with C = 1 or 3, got shape {}",
                 chw.shape());
    Tensor t = contiguous(to(chw, DType::f32));
    int c = int(t.size(0)), h = int(t.size(1)), w = int(t.size(2));
    Image image(h, w, c);
    const float* in = t.data<float>();
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < c; ++k) {
                float v = std::clamp(in[(size_t(k) * h + y) * w + x], 0.0f, 1.0f);
                image.at(y, x, k) = uint8_t(std::lround(v * 255.0f));
            }
    return image;
}

}  // namespace marrow::data
