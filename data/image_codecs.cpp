// PNG (libpng), JPEG (libjpeg-turbo) and TIFF (libtiff) decoding into 8-bit RGB, for
// data/image.cpp. Each decoder reads its header, checks width x height against the pixel
// budget and that the file holds the bytes the header promises, and only then allocates the
// image. libpng and libjpeg report errors by longjmp: the functions that call them and hold the
// setjmp (png_read_rgb, jpeg_read_rgb) create no object with a destructor, and their callers
// free the decoder state in a guard whatever happens.
#include "data/image_codecs.h"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "tensor/error.h"

#if defined(MARROW_IMAGE_IO)
#include <jerror.h>  // after jpeglib.h: the message codes
#include <jpeglib.h>
#include <png.h>
#include <tiffio.h>
#endif

namespace marrow::data::detail {

// a * b, or UINT64_MAX when the product does not fit (then it fails every budget check).
static uint64_t mul_sat(uint64_t a, uint64_t b) {
    uint64_t out = 0;
    return __builtin_mul_overflow(a, b, &out) ? UINT64_MAX : out;
}

void check_pixel_budget(uint64_t width, uint64_t height, const ImageLimits& limits,
                        const std::string& name, const char* format) {
    if (width == 0 || height == 0)
        fail("{}: {} image of {}x{} pixels (width x height), an empty image", name, format, width,
             height);
    if (mul_sat(width, height) > limits.max_pixels)
        fail("{}: {} image of {}x{} pixels is over the budget of {} pixels (ImageLimits)", name,
             format, width, height, limits.max_pixels);
}

#if defined(MARROW_IMAGE_IO)
namespace {

// The largest ratio of decoded to compressed bytes we believe: deflate's limit is 1032:1, LZW's
// ~1400:1 (12-bit codes), JPEG's ~1500:1 (one bit per 8x8 block in 4:2:0). Beyond it a header's
// size is a lie (or a bomb) and nothing is allocated for it.
constexpr uint64_t kMaxCompressionRatio = 4096;

uint32_t be32(std::span<const uint8_t> b, size_t at) {
    return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 |
           uint32_t(b[at + 3]);
}

// ---- PNG -------------------------------------------------------------------------------------

// IHDR's fields and the bytes of the IDAT chunks present in the file, from the chunk list.
struct PngHeader {
    uint32_t width = 0, height = 0;
    int bit_depth = 0, color_type = 0;
    uint64_t idat_bytes = 0;
};

PngHeader png_header(std::span<const uint8_t> b, const std::string& name) {
    if (b.size() < 33 || be32(b, 8) != 13 || std::memcmp(b.data() + 12, "IHDR", 4) != 0)
        fail("{}: cannot decode PNG image: no IHDR chunk after the signature", name);
    PngHeader h{be32(b, 16), be32(b, 20), b[24], b[25], 0};
    for (uint64_t at = 33; at + 8 <= b.size();) {
        uint64_t length = be32(b, size_t(at));
        if (std::memcmp(b.data() + at + 4, "IEND", 4) == 0) break;
        if (std::memcmp(b.data() + at + 4, "IDAT", 4) == 0)
            h.idat_bytes += std::min<uint64_t>(length, b.size() - at - 8);
        at += 12 + length;
    }
    return h;
}

struct PngSource {
    std::span<const uint8_t> bytes;
    size_t at = 0;
    char error[256] = "";
};

void png_on_read(png_structp png, png_bytep out, size_t n) {
    auto* s = static_cast<PngSource*>(png_get_io_ptr(png));
    if (n > s->bytes.size() - s->at) png_error(png, "file ends early (truncated)");
    std::memcpy(out, s->bytes.data() + s->at, n);
    s->at += n;
}

void png_on_error(png_structp png, png_const_charp message) {
    auto* s = static_cast<PngSource*>(png_get_error_ptr(png));
    if (!s->error[0]) std::snprintf(s->error, sizeof s->error, "%s", message ? message : "?");
    png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}  // ancillary-chunk trouble: ignored, as PIL

// All libpng calls; false (reason in source.error) when libpng reported an error. Palette and
// gray expand to RGB, 16-bit keeps the high byte, alpha (and tRNS) is dropped: PIL's RGB.
bool png_read_rgb(png_structp png, png_infop info, Image& image, png_bytep* rows) {
    if (setjmp(png_jmpbuf(png))) return false;
    png_read_info(png, info);
    if (png_get_image_width(png, info) != uint32_t(image.width) ||
        png_get_image_height(png, info) != uint32_t(image.height))
        png_error(png, "IHDR changed between reads");
    int color = png_get_color_type(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != size_t(image.width) * 3)
        png_error(png, "unsupported pixel layout");
    for (int y = 0; y < image.height; ++y)
        rows[y] = image.pixels.data() + size_t(y) * image.width * 3;
    png_read_image(png, rows);
    png_read_end(png, nullptr);
    return true;
}

// ---- JPEG ------------------------------------------------------------------------------------

// Progressive files may hold any number of scans, each a pass over the whole image: bound them
// (libjpeg-turbo's TurboJPEG API suggests 500 for untrusted input).
constexpr int kMaxJpegScans = 500;

struct JpegErrors {
    jpeg_error_mgr mgr;
    jpeg_progress_mgr progress;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX + 64] = "";
};

[[noreturn]] void jpeg_on_error(j_common_ptr c) {
    auto* e = reinterpret_cast<JpegErrors*>(c->err);
    if (!e->message[0]) (*c->err->format_message)(c, e->message);
    std::longjmp(e->jump, 1);
}

// Warnings that mean the pixels are not what the file meant (libjpeg fills in gray or zeros and
// goes on, PIL too): an error here, so no made-up pixels reach training.
void jpeg_on_message(j_common_ptr c, int level) {
    if (level >= 0) return;  // trace messages
    int code = c->err->msg_code;
    if (code == JWRN_HIT_MARKER || code == JWRN_JPEG_EOF || code == JWRN_HUFF_BAD_CODE ||
        code == JWRN_MUST_RESYNC || code == JWRN_BOGUS_PROGRESSION)
        jpeg_on_error(c);
}

void jpeg_on_progress(j_common_ptr c) {
    auto* d = reinterpret_cast<j_decompress_ptr>(c);
    if (d->input_scan_number > kMaxJpegScans) {
        auto* e = reinterpret_cast<JpegErrors*>(c->err);
        std::snprintf(e->message, sizeof e->message, "more than %d scans", kMaxJpegScans);
        std::longjmp(e->jump, 1);
    }
}

// All libjpeg calls; false (reason in errors.message) when libjpeg reported an error. Budget
// failures throw from here (no libjpeg frame is between us and the throw).
bool jpeg_read_rgb(jpeg_decompress_struct* d, JpegErrors& errors, std::span<const uint8_t> bytes,
                   const std::string& name, const ImageLimits& limits, Image& image) {
    if (setjmp(errors.jump)) return false;
    jpeg_create_decompress(d);
    d->progress = &errors.progress;
    // Working memory (progressive coefficients: 2 bytes a sample) within the budget's reach.
    d->mem->max_memory_to_use =
        long(std::min<uint64_t>(mul_sat(limits.max_pixels, 8) + (64 << 20), uint64_t(1) << 40));
    jpeg_mem_src(d, bytes.data(), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(d, TRUE);
    check_pixel_budget(d->image_width, d->image_height, limits, name, "JPEG");
    // At least one bit per MCU of the first scan: more pixels than that cannot be in the file.
    uint64_t mcu_pixels = uint64_t(64) * d->max_h_samp_factor * d->max_v_samp_factor;
    if (uint64_t(d->image_width) * d->image_height > mul_sat(bytes.size() * 8, mcu_pixels))
        fail("{}: JPEG header promises {}x{} pixels but the file holds only {} bytes", name,
             d->image_width, d->image_height, bytes.size());
    d->out_color_space = JCS_RGB;
    d->dct_method = JDCT_ISLOW;  // PIL's and torchvision's default: same pixels
    jpeg_start_decompress(d);
    if (d->output_components != 3 || d->output_width != d->image_width ||
        d->output_height != d->image_height)
        fail("{}: JPEG decoded to {}x{}x{} (expected {}x{}x3)", name, d->output_height,
             d->output_width, d->output_components, d->image_height, d->image_width);
    image = Image(int(d->output_height), int(d->output_width), 3);
    while (d->output_scanline < d->output_height) {
        JSAMPROW row = image.pixels.data() + size_t(d->output_scanline) * image.width * 3;
        if (jpeg_read_scanlines(d, &row, 1) != 1)
            fail("{}: JPEG scanline {} missing", name, d->output_scanline);
    }
    jpeg_finish_decompress(d);
    return true;
}

// ---- TIFF ------------------------------------------------------------------------------------

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
    if (k) std::memcpy(buf, s->bytes.data() + s->at, k);
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

// The header's pixel data against the file: every strip (or tile) the directory lists, clipped
// to the file, must hold all the raw bytes when uncompressed, and 1/kMaxCompressionRatio of them
// when compressed.
void check_tiff_data(TIFF* tif, std::span<const uint8_t> bytes, uint32_t h,
                     const std::string& name) {
    bool tiled = TIFFIsTiled(tif);
    uint32_t pieces = tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    uint64_t *offsets = nullptr, *counts = nullptr;
    TIFFGetField(tif, tiled ? TIFFTAG_TILEOFFSETS : TIFFTAG_STRIPOFFSETS, &offsets);
    TIFFGetField(tif, tiled ? TIFFTAG_TILEBYTECOUNTS : TIFFTAG_STRIPBYTECOUNTS, &counts);
    if (!offsets || !counts || pieces == 0)
        fail("{}: cannot decode TIFF image: no strip or tile offsets", name);
    uint64_t held = 0;
    for (uint32_t i = 0; i < pieces; ++i)
        if (offsets[i] < bytes.size()) held += std::min(counts[i], bytes.size() - offsets[i]);
    uint16_t compression = COMPRESSION_NONE;
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    uint64_t raw = mul_sat(uint64_t(TIFFScanlineSize64(tif)), h);
    uint64_t ratio = compression == COMPRESSION_NONE ? 1 : kMaxCompressionRatio;
    if (raw == 0 || raw > mul_sat(held, ratio))
        fail("{}: TIFF header promises {} bytes of {} pixel data but the file holds {}", name, raw,
             compression == COMPRESSION_NONE ? "uncompressed" : "compressed", held);
}

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

}  // namespace

Image decode_png(std::span<const uint8_t> bytes, const std::string& name,
                 const ImageLimits& limits) {
    PngHeader header = png_header(bytes, name);
    check_pixel_budget(header.width, header.height, limits, name, "PNG");
    static constexpr int kChannels[7] = {1, 0, 3, 1, 2, 0, 4};  // by color type
    int channels = header.color_type <= 6 ? kChannels[header.color_type] : 0;
    if (channels == 0 || header.bit_depth == 0 || header.bit_depth > 16)
        fail("{}: cannot decode PNG image: color type {} with bit depth {}", name,
             header.color_type, header.bit_depth);
    uint64_t row_bytes = (uint64_t(header.width) * channels * header.bit_depth + 7) / 8;
    uint64_t raw = header.height * (1 + row_bytes);
    if (raw > mul_sat(header.idat_bytes, 1032) + 1024)  // deflate's best ratio is 1032:1
        fail("{}: PNG header promises {}x{} pixels but the file holds {} bytes of image data", name,
             header.width, header.height, header.idat_bytes);
    Image image(int(header.height), int(header.width), 3);
    std::vector<png_bytep> rows(header.height);
    PngSource source{bytes, 0, ""};
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    struct Guard {
        png_structp& png;
        png_infop& info;
        ~Guard() { png_destroy_read_struct(&png, &info, nullptr); }
    } guard{png, info};
    if (!png || !info) fail("{}: cannot decode PNG image: out of memory", name);
    png_set_read_fn(png, &source, png_on_read);
    if (!png_read_rgb(png, info, image, rows.data()))
        fail("{}: cannot decode PNG image: {}", name, source.error);
    return image;
}

Image decode_jpeg(std::span<const uint8_t> bytes, const std::string& name,
                  const ImageLimits& limits) {
    jpeg_decompress_struct d;
    std::memset(&d, 0, sizeof d);  // jpeg_destroy is safe on it even before create
    JpegErrors errors;
    d.err = jpeg_std_error(&errors.mgr);
    errors.mgr.error_exit = jpeg_on_error;
    errors.mgr.emit_message = jpeg_on_message;
    errors.progress.progress_monitor = jpeg_on_progress;
    struct Guard {
        jpeg_decompress_struct& d;
        ~Guard() { jpeg_destroy_decompress(&d); }
    } guard{d};
    Image image;
    if (!jpeg_read_rgb(&d, errors, bytes, name, limits, image))
        fail("{}: cannot decode JPEG image: {}", name, errors.message);
    return image;
}

// The first page (directory) of a TIFF.
Image decode_tiff(std::span<const uint8_t> bytes, const std::string& name,
                  const ImageLimits& limits) {
    TiffSource source{bytes, 0, {}};
    TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(options, tiff_error, &source);
    TIFFOpenOptionsSetWarningHandlerExtR(options, tiff_warning, &source);
    // libtiff's own buffers (a strip, a tile, the directory's arrays) within the budget's reach.
    TIFFOpenOptionsSetMaxSingleMemAlloc(
        options, tmsize_t(std::min<uint64_t>(mul_sat(limits.max_pixels, 8) + (64 << 20),
                                             uint64_t(1) << 40)));
    TIFF* tif = TIFFClientOpenExt(name.c_str(), "rm", &source, tiff_read, tiff_write, tiff_seek,
                                  tiff_close, tiff_size, tiff_map, tiff_unmap, options);
    TIFFOpenOptionsFree(options);
    if (!tif) fail("{}: cannot decode TIFF image: {}", name, source.error);
    struct Guard {
        TIFF* tif;
        ~Guard() { TIFFClose(tif); }
    } guard{tif};
    uint32_t w = 0, h = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    check_pixel_budget(w, h, limits, name, "TIFF");
    check_tiff_data(tif, bytes, h, name);
    char why[1024] = "";
    bool ok = source.error.empty();
    Image image(int(h), int(w), 3);
    if (ok && !read_tiff_scanlines(tif, image, name) && source.error.empty()) {
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
    if (!ok || !source.error.empty())
        fail("{}: cannot decode TIFF image ({}x{}): {}", name, w, h,
             !source.error.empty() ? source.error
             : why[0]              ? why
                                   : "unsupported layout");
    return image;
}

#endif  // MARROW_IMAGE_IO

}  // namespace marrow::data::detail
