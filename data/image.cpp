#include "data/image.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "autograd/ops.h"
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

// stb_image decodes a truncated JPEG without complaint (missing bytes read as zeros), so check
// that the last scan (SOS marker FF DA) is followed by the end-of-image marker FF D9. Inside
// entropy-coded data a literal FF is stuffed as FF 00, so neither marker occurs by accident;
// an EXIF thumbnail's own FF D9 comes before the main image's scans.
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

// stb_image also reads missing BMP pixel rows as zeros: check the file holds every row of an
// uncompressed (BI_RGB / BI_BITFIELDS) bitmap. Rows are padded to 4 bytes.
bool bmp_complete(std::span<const uint8_t> b) {
    if (b.size() < 34) return false;
    uint32_t offset = le32(b, 10), header = le32(b, 14);
    if (header < 40) return true;  // OS/2 core headers: left to stb
    int64_t width = int32_t(le32(b, 18)), height = int32_t(le32(b, 22));
    uint32_t bpp = uint32_t(b[28]) | uint32_t(b[29]) << 8, compression = le32(b, 30);
    if (compression != 0 && compression != 3) return true;  // RLE: stb checks as it decodes
    int64_t row = (int64_t(bpp) * width + 31) / 32 * 4;
    return int64_t(b.size()) >= int64_t(offset) + row * std::abs(height);
}

Image decode_stb(std::span<const uint8_t> bytes, const std::string& name, const char* format) {
    int w = 0, h = 0, n = 0;
    uint8_t* p = stbi_load_from_memory(bytes.data(), int(bytes.size()), &w, &h, &n, 3);
    if (!p) fail("{}: cannot decode {} image: {}", name, format, stbi_failure_reason());
    Image image(h, w, 3);
    std::memcpy(image.pixels.data(), p, image.pixels.size());
    stbi_image_free(p);
    return image;
}

// libtiff reads through these callbacks from the bytes in memory, and reports errors to
// tiff_error, which keeps the first message for the Error we throw.
struct TiffSource {
    std::span<const uint8_t> bytes;
    toff_t at = 0;
    std::string error;
};

tsize_t tiff_read(thandle_t h, tdata_t buf, tsize_t n) {
    auto* s = static_cast<TiffSource*>(h);
    size_t left = s->at < s->bytes.size() ? s->bytes.size() - s->at : 0;
    size_t k = std::min(size_t(n), left);
    std::memcpy(buf, s->bytes.data() + s->at, k);
    s->at += k;
    return tsize_t(k);
}
tsize_t tiff_write(thandle_t, tdata_t, tsize_t) { return 0; }
toff_t tiff_seek(thandle_t h, toff_t off, int whence) {
    auto* s = static_cast<TiffSource*>(h);
    toff_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s->at : s->bytes.size();
    s->at = base + off;
    return s->at;
}
int tiff_close(thandle_t) { return 0; }
toff_t tiff_size(thandle_t h) { return static_cast<TiffSource*>(h)->bytes.size(); }
int tiff_map(thandle_t, tdata_t*, toff_t*) { return 0; }
void tiff_unmap(thandle_t, tdata_t, toff_t) {}
int tiff_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
    auto* s = static_cast<TiffSource*>(user);
    if (s->error.empty()) {
        char message[512];
        std::vsnprintf(message, sizeof message, fmt, ap);
        s->error = std::string(module ? module : "libtiff") + ": " + message;
    }
    return 1;
}
int tiff_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }  // quiet

// 8-bit stripped TIFFs with contiguous samples (what microscopes and PIL write): gray (either
// polarity), gray + alpha, RGB, RGBA, palette; alpha is dropped. Returns false for anything
// else, which goes through libtiff's RGBA reader instead (that one premultiplies unassociated
// alpha, so it is not used for the common cases).
bool read_tiff_scanlines(TIFF* tif, Image& image, const std::string& name) {
    uint16_t bits = 0, spp = 0, photometric = 0, planar = PLANARCONFIG_CONTIG;
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric)) return false;
    bool gray = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;
    bool rgb = photometric == PHOTOMETRIC_RGB, palette = photometric == PHOTOMETRIC_PALETTE;
    if (bits != 8 || planar != PLANARCONFIG_CONTIG || TIFFIsTiled(tif)) return false;
    if (!((gray && (spp == 1 || spp == 2)) || (rgb && (spp == 3 || spp == 4)) ||
          (palette && spp == 1)))
        return false;
    uint16_t *red = nullptr, *green = nullptr, *blue = nullptr;
    if (palette && !TIFFGetField(tif, TIFFTAG_COLORMAP, &red, &green, &blue))
        fail("{}: palette TIFF without a colormap", name);
    std::vector<uint8_t> row(size_t(TIFFScanlineSize(tif)));
    if (row.size() < size_t(image.width) * spp)
        fail("{}: TIFF scanline of {} bytes for {} pixels", name, row.size(), image.width);
    for (int y = 0; y < image.height; ++y) {
        if (TIFFReadScanline(tif, row.data(), uint32_t(y), 0) != 1) return false;
        for (int x = 0; x < image.width; ++x) {
            const uint8_t* px = row.data() + size_t(x) * spp;
            uint8_t r = px[0], g = px[0], b = px[0];
            if (rgb) {
                g = px[1];
                b = px[2];
            } else if (palette) {  // 16-bit colormap entries: the high byte, as libtiff and PIL
                r = uint8_t(red[px[0]] >> 8);
                g = uint8_t(green[px[0]] >> 8);
                b = uint8_t(blue[px[0]] >> 8);
            } else if (photometric == PHOTOMETRIC_MINISWHITE) {
                r = g = b = uint8_t(255 - px[0]);
            }
            image.at(y, x, 0) = r;
            image.at(y, x, 1) = g;
            image.at(y, x, 2) = b;
        }
    }
    return true;
}

// The first page (directory) of a TIFF.
Image decode_tiff(std::span<const uint8_t> bytes, const std::string& name) {
    TiffSource source{bytes, 0, {}};
    TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(options, tiff_error, &source);
    TIFFOpenOptionsSetWarningHandlerExtR(options, tiff_warning, &source);
    TIFF* tif = TIFFClientOpenExt(name.c_str(), "rm", &source, tiff_read, tiff_write, tiff_seek,
                                  tiff_close, tiff_size, tiff_map, tiff_unmap, options);
    TIFFOpenOptionsFree(options);
    if (!tif) fail("{}: cannot decode TIFF image: {}", name, source.error);
    uint32_t w = 0, h = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    char why[1024] = "";
    bool ok = w > 0 && h > 0 && uint64_t(w) * h <= (uint64_t(1) << 31);
    Image image(ok ? int(h) : 0, ok ? int(w) : 0, 3);
    if (ok && source.error.empty() && !read_tiff_scanlines(tif, image, name) &&
        source.error.empty()) {
        // Other layouts (16-bit, YCbCr, tiled, planar, bilevel, ...): libtiff's RGBA reader.
        std::vector<uint32_t> raster;
        ok = TIFFRGBAImageOK(tif, why);
        if (ok) {
            raster.resize(size_t(w) * h);
            ok = TIFFReadRGBAImageOriented(tif, w, h, raster.data(), ORIENTATION_TOPLEFT, 1) == 1;
        }
        for (size_t i = 0; ok && i < raster.size(); ++i) {
            image.pixels[3 * i + 0] = uint8_t(TIFFGetR(raster[i]));
            image.pixels[3 * i + 1] = uint8_t(TIFFGetG(raster[i]));
            image.pixels[3 * i + 2] = uint8_t(TIFFGetB(raster[i]));
        }
    }
    TIFFClose(tif);
    if (!ok || !source.error.empty())
        fail("{}: cannot decode TIFF image ({}x{}): {}", name, w, h,
             !source.error.empty() ? source.error
             : why[0]              ? why
                                   : "unsupported size");
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

Image decode_image(std::span<const uint8_t> bytes, const std::string& name) {
    if (bytes.empty()) fail("{}: empty file, not an image", name);
    Format format = sniff(bytes);
    if (format == Format::unknown)
        fail("{}: not a PNG, JPEG, BMP or TIFF image (unrecognised first bytes)", name);
#if defined(MARROW_IMAGE_IO)
    switch (format) {
        case Format::png:
            return decode_stb(bytes, name, "PNG");
        case Format::bmp:
            if (!bmp_complete(bytes)) fail("{}: truncated BMP image (pixel rows missing)", name);
            return decode_stb(bytes, name, "BMP");
        case Format::jpeg:
            if (!jpeg_complete(bytes))
                fail("{}: truncated JPEG image (no end-of-image marker after the last scan)", name);
            return decode_stb(bytes, name, "JPEG");
        case Format::tiff:
            return decode_tiff(bytes, name);
        case Format::unknown:
            break;
    }
#endif
    fail(
        "{}: this build has no image decoders (configure with libstb-dev and libtiff-dev "
        "installed)",
        name);
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
