#include "data/functional.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::data {
namespace {

struct Dims {
    int64_t c, h, w;
};

Dims check_image(const Tensor& img, const char* op) {
    MARROW_CHECK(img.device() == Device::cpu() && img.dtype() == DType::f32 && img.dim() == 3 &&
                     img.is_contiguous() && (img.size(0) == 1 || img.size(0) == 3),
                 "{}: expected a contiguous f32 CPU image of shape (C, H, W) with C = 1 or 3, "
                 "got {} {} of shape {}",
                 op, img.dtype(), img.device(), img.shape());
    return {img.size(0), img.size(1), img.size(2)};
}

Tensor like(Dims d) { return empty({d.c, d.h, d.w}, DType::f32); }

// ----- resampling weights: output index -> (first input index, normalized weights) -----

struct Taps {
    std::vector<int64_t> first;
    std::vector<std::vector<float>> weights;
};

double triangle(double x) {
    x = std::abs(x);
    return x < 1 ? 1 - x : 0;
}
double cubic(double x) {  // Keys, a = -0.5 (PIL and PyTorch's antialiased bicubic)
    constexpr double a = -0.5;
    x = std::abs(x);
    if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
    return 0;
}

// PyTorch's antialiased weights (UpSampleKernel.cpp, _compute_indices_weights_aa): the filter
// of half-width `support` is stretched by the scale when shrinking, cut at the borders, and
// renormalized.
Taps antialiased_taps(int64_t in, int64_t out, Interpolation mode) {
    double scale = double(in) / double(out);
    double half = mode == Interpolation::bicubic ? 2.0 : 1.0;
    double support = scale >= 1 ? half * scale : half;
    double invscale = scale >= 1 ? 1 / scale : 1;
    Taps taps;
    for (int64_t i = 0; i < out; ++i) {
        double center = scale * (double(i) + 0.5);
        int64_t lo = std::max<int64_t>(int64_t(center - support + 0.5), 0);
        int64_t hi = std::min<int64_t>(int64_t(center + support + 0.5), in);
        std::vector<float> w;
        double total = 0;
        std::vector<double> raw;
        for (int64_t j = lo; j < hi; ++j) {
            double x = (double(j) - center + 0.5) * invscale;
            raw.push_back(mode == Interpolation::bicubic ? cubic(x) : triangle(x));
            total += raw.back();
        }
        for (double r : raw) w.push_back(float(total != 0 ? r / total : 0));
        taps.first.push_back(lo);
        taps.weights.push_back(std::move(w));
    }
    return taps;
}

// Without antialiasing: PyTorch's upsample_bilinear2d (align_corners = False) and nearest.
Taps plain_taps(int64_t in, int64_t out, Interpolation mode) {
    double scale = double(in) / double(out);
    Taps taps;
    for (int64_t i = 0; i < out; ++i) {
        if (mode == Interpolation::nearest) {
            taps.first.push_back(std::min<int64_t>(int64_t(std::floor(i * scale)), in - 1));
            taps.weights.push_back({1.0f});
            continue;
        }
        double src = std::max(0.0, (double(i) + 0.5) * scale - 0.5);
        int64_t i0 = std::min<int64_t>(int64_t(src), in - 1);
        int64_t i1 = std::min<int64_t>(i0 + 1, in - 1);
        float l1 = float(src - double(i0)), l0 = 1 - l1;
        taps.first.push_back(i0);
        taps.weights.push_back(i1 == i0 ? std::vector<float>{l0 + l1} : std::vector<float>{l0, l1});
    }
    return taps;
}

// Rotation sampling helpers (torchvision's grid_sample path, align_corners = False, zeros
// outside): the value at real-valued source pixel (x, y) of one channel plane.
float sample_bilinear(const float* plane, int64_t h, int64_t w, float x, float y) {
    float x0f = std::floor(x), y0f = std::floor(y);
    int64_t x0 = int64_t(x0f), y0 = int64_t(y0f);
    float fx = x - x0f, fy = y - y0f;
    auto at = [&](int64_t yy, int64_t xx) {
        return (yy >= 0 && yy < h && xx >= 0 && xx < w) ? plane[yy * w + xx] : 0.0f;
    };
    return (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) +
           fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
}

float gray_of(float r, float g, float b) { return 0.2989f * r + 0.587f * g + 0.114f * b; }

// clamp(f x + (1 - f) o) with o a gray plane (H, W) shared by the channels, or a scalar when
// `gray_plane` is null (torchvision's _blend).
Tensor blend(const Tensor& img, const float* gray_plane, float scalar, double factor) {
    Dims d{img.size(0), img.size(1), img.size(2)};
    Tensor out = like(d);
    const float* x = img.data<float>();
    float* y = out.data<float>();
    int64_t plane = d.h * d.w;
    float f = float(factor);
    for (int64_t i = 0; i < img.numel(); ++i) {
        float o = gray_plane ? gray_plane[i % plane] : scalar;
        y[i] = std::clamp(f * x[i] + (1.0f - f) * o, 0.0f, 1.0f);
    }
    return out;
}

}  // namespace

Tensor resize(const Tensor& img, int64_t h, int64_t w, Interpolation mode, bool antialias) {
    Dims d = check_image(img, "resize");
    MARROW_CHECK(h > 0 && w > 0, "resize: output size {}x{} must be positive", h, w);
    MARROW_CHECK(antialias || mode != Interpolation::bicubic,
                 "resize: bicubic without antialias is not implemented (use antialias = true)");
    bool aa = antialias && mode != Interpolation::nearest;
    Taps rows = aa ? antialiased_taps(d.h, h, mode) : plain_taps(d.h, h, mode);
    Taps cols = aa ? antialiased_taps(d.w, w, mode) : plain_taps(d.w, w, mode);
    // Horizontal pass (C, H, w), then vertical (C, h, w).
    std::vector<float> tmp(size_t(d.c * d.h * w));
    const float* x = img.data<float>();
    for (int64_t c = 0; c < d.c; ++c)
        for (int64_t r = 0; r < d.h; ++r) {
            const float* src = x + (c * d.h + r) * d.w;
            float* dst = tmp.data() + (c * d.h + r) * w;
            for (int64_t j = 0; j < w; ++j) {
                float acc = 0;
                const std::vector<float>& wt = cols.weights[size_t(j)];
                for (size_t k = 0; k < wt.size(); ++k)
                    acc += wt[k] * src[cols.first[size_t(j)] + int64_t(k)];
                dst[j] = acc;
            }
        }
    Tensor out = empty({d.c, h, w}, DType::f32);
    float* y = out.data<float>();
    for (int64_t c = 0; c < d.c; ++c)
        for (int64_t i = 0; i < h; ++i) {
            float* dst = y + (c * h + i) * w;
            std::fill(dst, dst + w, 0.0f);
            const std::vector<float>& wt = rows.weights[size_t(i)];
            for (size_t k = 0; k < wt.size(); ++k) {
                const float* src = tmp.data() + (c * d.h + rows.first[size_t(i)] + int64_t(k)) * w;
                for (int64_t j = 0; j < w; ++j) dst[j] += wt[k] * src[j];
            }
        }
    return out;
}

Tensor crop(const Tensor& img, int64_t top, int64_t left, int64_t h, int64_t w) {
    Dims d = check_image(img, "crop");
    MARROW_CHECK(h > 0 && w > 0, "crop: size {}x{} must be positive", h, w);
    Tensor out = zeros({d.c, h, w}, DType::f32);
    const float* x = img.data<float>();
    float* y = out.data<float>();
    for (int64_t c = 0; c < d.c; ++c)
        for (int64_t i = 0; i < h; ++i) {
            int64_t r = top + i;
            if (r < 0 || r >= d.h) continue;
            for (int64_t j = 0; j < w; ++j) {
                int64_t col = left + j;
                if (col >= 0 && col < d.w) y[(c * h + i) * w + j] = x[(c * d.h + r) * d.w + col];
            }
        }
    return out;
}

Tensor center_crop(const Tensor& img, int64_t h, int64_t w) {
    Dims d = check_image(img, "center_crop");
    // torchvision: pad to the crop size when smaller (extra pixel at the end), else
    // top = round((H - h) / 2) with Python's round-half-to-even.
    auto start = [](int64_t size, int64_t crop_size) {
        if (crop_size > size) return -((crop_size - size) / 2);
        return int64_t(std::nearbyint(double(size - crop_size) / 2.0));
    };
    return crop(img, start(d.h, h), start(d.w, w), h, w);
}

Tensor hflip(const Tensor& img) {
    Dims d = check_image(img, "hflip");
    Tensor out = like(d);
    const float* x = img.data<float>();
    float* y = out.data<float>();
    for (int64_t r = 0; r < d.c * d.h; ++r)
        for (int64_t j = 0; j < d.w; ++j) y[r * d.w + j] = x[r * d.w + d.w - 1 - j];
    return out;
}

Tensor vflip(const Tensor& img) {
    Dims d = check_image(img, "vflip");
    Tensor out = like(d);
    const float* x = img.data<float>();
    float* y = out.data<float>();
    for (int64_t c = 0; c < d.c; ++c)
        for (int64_t i = 0; i < d.h; ++i)
            std::copy_n(x + (c * d.h + d.h - 1 - i) * d.w, d.w, y + (c * d.h + i) * d.w);
    return out;
}

Tensor rot90(const Tensor& img, int k) {
    Dims d = check_image(img, "rot90");
    k = ((k % 4) + 4) % 4;
    bool swap = k % 2 == 1;
    int64_t oh = swap ? d.w : d.h, ow = swap ? d.h : d.w;
    Tensor out = empty({d.c, oh, ow}, DType::f32);
    const float* x = img.data<float>();
    float* y = out.data<float>();
    for (int64_t c = 0; c < d.c; ++c)
        for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j) {
                // torch.rot90(x, k, dims=(-2, -1)): counter-clockwise quarter turns.
                int64_t r = i, s = j;
                if (k == 1) r = j, s = d.w - 1 - i;
                if (k == 2) r = d.h - 1 - i, s = d.w - 1 - j;
                if (k == 3) r = d.h - 1 - j, s = i;
                y[(c * oh + i) * ow + j] = x[(c * d.h + r) * d.w + s];
            }
    return out;
}

Tensor rotate(const Tensor& img, double degrees, Interpolation mode, std::array<float, 3> fill) {
    Dims d = check_image(img, "rotate");
    MARROW_CHECK(mode != Interpolation::bicubic, "rotate: nearest or bilinear sampling only");
    // torchvision: output pixel centre (x, y) relative to the image centre maps to the source
    // point (cos t x - sin t y, sin t x + cos t y), computed in float32 as its affine grid.
    double t = degrees * M_PI / 180.0;
    float c = float(std::cos(t)), s = float(std::sin(t));
    Tensor out = like(d);
    const float* x = img.data<float>();
    float* y = out.data<float>();
    float hw = 0.5f * float(d.w), hh = 0.5f * float(d.h);
    for (int64_t i = 0; i < d.h; ++i)
        for (int64_t j = 0; j < d.w; ++j) {
            float gx = float(j) - hw + 0.5f, gy = float(i) - hh + 0.5f;
            float sx = (c * gx - s * gy) / hw, sy = (s * gx + c * gy) / hh;  // normalized
            float px = ((sx + 1) * float(d.w) - 1) / 2, py = ((sy + 1) * float(d.h) - 1) / 2;
            if (mode == Interpolation::nearest) {
                int64_t xi = int64_t(std::nearbyint(px)), yi = int64_t(std::nearbyint(py));
                bool inside = xi >= 0 && xi < d.w && yi >= 0 && yi < d.h;
                for (int64_t k = 0; k < d.c; ++k)
                    y[(k * d.h + i) * d.w + j] =
                        inside ? x[(k * d.h + yi) * d.w + xi] : fill[size_t(k)];
            } else {
                float mask = 0;
                {  // how much of the bilinear footprint lies inside the image
                    float x0f = std::floor(px), y0f = std::floor(py);
                    float fx = px - x0f, fy = py - y0f;
                    int64_t x0 = int64_t(x0f), y0 = int64_t(y0f);
                    auto in = [&](int64_t yy, int64_t xx) {
                        return (yy >= 0 && yy < d.h && xx >= 0 && xx < d.w) ? 1.0f : 0.0f;
                    };
                    mask = (1 - fy) * ((1 - fx) * in(y0, x0) + fx * in(y0, x0 + 1)) +
                           fy * ((1 - fx) * in(y0 + 1, x0) + fx * in(y0 + 1, x0 + 1));
                }
                for (int64_t k = 0; k < d.c; ++k) {
                    float v = sample_bilinear(x + k * d.h * d.w, d.h, d.w, px, py);
                    y[(k * d.h + i) * d.w + j] = v * mask + (1 - mask) * fill[size_t(k)];
                }
            }
        }
    return out;
}

Tensor rgb_to_grayscale(const Tensor& img, int64_t channels) {
    Dims d = check_image(img, "rgb_to_grayscale");
    MARROW_CHECK(channels == 1 || channels == 3, "rgb_to_grayscale: channels {} (1 or 3)",
                 channels);
    Tensor out = empty({channels, d.h, d.w}, DType::f32);
    const float* x = img.data<float>();
    float* y = out.data<float>();
    int64_t n = d.h * d.w;
    for (int64_t i = 0; i < n; ++i) {
        float g = d.c == 1 ? x[i] : gray_of(x[i], x[n + i], x[2 * n + i]);
        for (int64_t k = 0; k < channels; ++k) y[k * n + i] = g;
    }
    return out;
}

Tensor adjust_brightness(const Tensor& img, double factor) {
    check_image(img, "adjust_brightness");
    MARROW_CHECK(factor >= 0, "adjust_brightness: factor {} must be >= 0", factor);
    return blend(img, nullptr, 0.0f, factor);
}

Tensor adjust_contrast(const Tensor& img, double factor) {
    check_image(img, "adjust_contrast");
    MARROW_CHECK(factor >= 0, "adjust_contrast: factor {} must be >= 0", factor);
    Tensor gray = rgb_to_grayscale(img);
    double sum = 0;
    const float* g = gray.data<float>();
    for (int64_t i = 0; i < gray.numel(); ++i) sum += g[i];
    return blend(img, nullptr, float(sum / double(gray.numel())), factor);
}

Tensor adjust_saturation(const Tensor& img, double factor) {
    Dims d = check_image(img, "adjust_saturation");
    MARROW_CHECK(factor >= 0, "adjust_saturation: factor {} must be >= 0", factor);
    if (d.c == 1) return img;  // as torchvision
    Tensor gray = rgb_to_grayscale(img);
    return blend(img, gray.data<float>(), 0.0f, factor);
}

Tensor adjust_hue(const Tensor& img, double shift) {
    Dims d = check_image(img, "adjust_hue");
    MARROW_CHECK(shift >= -0.5 && shift <= 0.5, "adjust_hue: shift {} not in [-0.5, 0.5]", shift);
    if (d.c == 1) return img;
    Tensor out = like(d);
    const float* x = img.data<float>();
    float* y = out.data<float>();
    int64_t n = d.h * d.w;
    for (int64_t i = 0; i < n; ++i) {
        // RGB -> HSV as torchvision's _rgb2hsv (PIL's formulas), float arithmetic.
        float r = x[i], g = x[n + i], b = x[2 * n + i];
        float maxc = std::max({r, g, b}), minc = std::min({r, g, b});
        bool eq = maxc == minc;
        float cr = maxc - minc;
        float s = cr / (eq ? 1.0f : maxc);
        float div = eq ? 1.0f : cr;
        float rc = (maxc - r) / div, gc = (maxc - g) / div, bc = (maxc - b) / div;
        float h = 0;
        if (maxc == r)
            h = bc - gc;
        else if (maxc == g)
            h = 2.0f + rc - bc;
        else
            h = 4.0f + gc - rc;
        h = std::fmod(h / 6.0f + 1.0f, 1.0f);
        // Shift (Python's % is a floored modulo), then HSV -> RGB as _hsv2rgb.
        h = h + float(shift);
        h = h - std::floor(h);
        float v = maxc;
        float fi = std::floor(h * 6.0f), f = h * 6.0f - fi;
        int sector = ((int(fi) % 6) + 6) % 6;
        float p = std::clamp(v * (1.0f - s), 0.0f, 1.0f);
        float q = std::clamp(v * (1.0f - s * f), 0.0f, 1.0f);
        float t = std::clamp(v * (1.0f - s * (1.0f - f)), 0.0f, 1.0f);
        const float rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
        y[i] = rgb[sector][0];
        y[n + i] = rgb[sector][1];
        y[2 * n + i] = rgb[sector][2];
    }
    return out;
}

Tensor solarize(const Tensor& img, double threshold) {
    Dims d = check_image(img, "solarize");
    Tensor out = like(d);
    const float* x = img.data<float>();
    float* y = out.data<float>();
    float t = float(threshold);
    for (int64_t i = 0; i < img.numel(); ++i) y[i] = x[i] >= t ? 1.0f - x[i] : x[i];
    return out;
}

Tensor gaussian_blur(const Tensor& img, int64_t kernel_size, double sigma) {
    Dims d = check_image(img, "gaussian_blur");
    MARROW_CHECK(kernel_size > 0 && kernel_size % 2 == 1,
                 "gaussian_blur: kernel size {} must be odd and positive", kernel_size);
    MARROW_CHECK(sigma > 0, "gaussian_blur: sigma {} must be positive", sigma);
    int64_t half = kernel_size / 2;
    MARROW_CHECK(half < d.h && half < d.w,
                 "gaussian_blur: kernel size {} needs an image larger than {}x{} (reflect "
                 "padding)",
                 kernel_size, d.h, d.w);
    std::vector<float> k(static_cast<size_t>(kernel_size));
    float total = 0;
    for (int64_t i = 0; i < kernel_size; ++i) {
        float x = float(i - half) / float(sigma);
        k[size_t(i)] = std::exp(-0.5f * x * x);
        total += k[size_t(i)];
    }
    for (float& v : k) v /= total;
    auto reflect = [](int64_t i, int64_t n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; };
    const float* x = img.data<float>();
    std::vector<float> tmp(size_t(img.numel()));
    for (int64_t r = 0; r < d.c * d.h; ++r)
        for (int64_t j = 0; j < d.w; ++j) {
            float acc = 0;
            for (int64_t t = -half; t <= half; ++t)
                acc += k[size_t(t + half)] * x[r * d.w + reflect(j + t, d.w)];
            tmp[size_t(r * d.w + j)] = acc;
        }
    Tensor out = like(d);
    float* y = out.data<float>();
    for (int64_t c = 0; c < d.c; ++c)
        for (int64_t i = 0; i < d.h; ++i)
            for (int64_t j = 0; j < d.w; ++j) {
                float acc = 0;
                for (int64_t t = -half; t <= half; ++t)
                    acc += k[size_t(t + half)] *
                           tmp[size_t((c * d.h + reflect(i + t, d.h)) * d.w + j)];
                y[(c * d.h + i) * d.w + j] = acc;
            }
    return out;
}

Tensor normalize(const Tensor& img, std::array<float, 3> mean, std::array<float, 3> std) {
    Dims d = check_image(img, "normalize");
    for (int64_t c = 0; c < d.c; ++c)
        MARROW_CHECK(std[size_t(c)] != 0, "normalize: std of channel {} is 0", c);
    Tensor out = like(d);
    const float* x = img.data<float>();
    float* y = out.data<float>();
    int64_t n = d.h * d.w;
    for (int64_t c = 0; c < d.c; ++c)
        for (int64_t i = 0; i < n; ++i)
            y[c * n + i] = (x[c * n + i] - mean[size_t(c)]) / std[size_t(c)];
    return out;
}

}  // namespace marrow::data
