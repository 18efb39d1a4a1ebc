#include "data/transforms.h"

#include <algorithm>
#include <cmath>

#include "autograd/ops.h"
#include "tensor/error.h"

namespace marrow::data {
namespace {

uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

int64_t odd_at_least_3(int64_t k) { return std::max<int64_t>(3, k % 2 == 0 ? k + 1 : k); }

}  // namespace

// The key chains splitmix64 over the four coordinates, so neighbouring (epoch, index, view)
// triples get unrelated Philox keys; the counter then walks 0, 1, 2, ... within the view.
SampleRng::SampleRng(uint64_t seed, uint64_t epoch, uint64_t index, uint64_t view)
    : key_(splitmix64(splitmix64(splitmix64(splitmix64(seed) ^ epoch) ^ index) ^ view)) {}

uint32_t SampleRng::next() {
    if (lane_ == 4) {
        block_ = philox::generate(key_, counter_++);
        lane_ = 0;
    }
    return block_.v[lane_++];
}

double SampleRng::uniform(double lo, double hi) {
    return lo + (hi - lo) * philox::to_unit_double(next());
}

int64_t SampleRng::integer(int64_t lo, int64_t hi) {
    MARROW_CHECK(hi > lo, "SampleRng::integer: empty range [{}, {})", lo, hi);
    return lo + int64_t((uint64_t(next()) * uint64_t(hi - lo)) >> 32);
}

std::array<int, 4> SampleRng::permutation4() {
    std::array<int, 4> p = {0, 1, 2, 3};
    for (int i = 3; i > 0; --i) std::swap(p[size_t(i)], p[size_t(integer(0, i + 1))]);
    return p;
}

CropBox random_resized_crop_box(int64_t h, int64_t w, std::array<double, 2> scale,
                                std::array<double, 2> ratio, SampleRng& rng) {
    MARROW_CHECK(scale[0] > 0 && scale[0] <= scale[1] && ratio[0] > 0 && ratio[0] <= ratio[1],
                 "random_resized_crop: scale ({}, {}) and ratio ({}, {}) must be increasing "
                 "positive ranges",
                 scale[0], scale[1], ratio[0], ratio[1]);
    double area = double(h) * double(w);
    double log_lo = std::log(ratio[0]), log_hi = std::log(ratio[1]);
    for (int attempt = 0; attempt < 10; ++attempt) {
        double target = area * rng.uniform(scale[0], scale[1]);
        double aspect = std::exp(rng.uniform(log_lo, log_hi));
        int64_t cw = std::llround(std::sqrt(target * aspect));
        int64_t ch = std::llround(std::sqrt(target / aspect));
        if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
            int64_t top = rng.integer(0, h - ch + 1), left = rng.integer(0, w - cw + 1);
            return {top, left, ch, cw};
        }
    }
    double in_ratio = double(w) / double(h);
    int64_t cw = w, ch = h;
    if (in_ratio < ratio[0]) {
        ch = std::llround(double(w) / ratio[0]);
    } else if (in_ratio > ratio[1]) {
        cw = std::llround(double(h) * ratio[1]);
    }
    return {(h - ch) / 2, (w - cw) / 2, ch, cw};
}

Tensor random_erase(const Tensor& img, double p, SampleRng& rng, std::array<double, 2> scale,
                    std::array<double, 2> ratio, float value) {
    if (!rng.bernoulli(p)) return img;
    int64_t h = img.size(1), w = img.size(2);
    double area = double(h) * double(w);
    for (int attempt = 0; attempt < 10; ++attempt) {
        double target = area * rng.uniform(scale[0], scale[1]);
        double aspect = std::exp(rng.uniform(std::log(ratio[0]), std::log(ratio[1])));
        int64_t eh = std::llround(std::sqrt(target * aspect));
        int64_t ew = std::llround(std::sqrt(target / aspect));
        if (!(eh < h && ew < w)) continue;
        int64_t top = rng.integer(0, h - eh + 1), left = rng.integer(0, w - ew + 1);
        Tensor out = clone(img);
        float* y = out.data<float>();
        for (int64_t c = 0; c < img.size(0); ++c)
            for (int64_t i = top; i < top + eh; ++i)
                std::fill_n(y + (c * h + i) * w + left, ew, value);
        return out;
    }
    return img;
}

RandomOp compose(std::vector<RandomOp> ops) {
    return [ops = std::move(ops)](const Tensor& img, SampleRng& rng) {
        Tensor x = img;
        for (const RandomOp& op : ops) x = op(x, rng);
        return x;
    };
}

RandomOp random_resized_crop(int64_t size, std::array<double, 2> scale, std::array<double, 2> ratio,
                             Interpolation mode) {
    MARROW_CHECK(size > 0, "random_resized_crop: size {} must be positive", size);
    return [=](const Tensor& img, SampleRng& rng) {
        CropBox box = random_resized_crop_box(img.size(1), img.size(2), scale, ratio, rng);
        return resize(crop(img, box.top, box.left, box.height, box.width), size, size, mode, true);
    };
}

RandomOp random_crop(int64_t size, int64_t padding) {
    MARROW_CHECK(size > 0 && padding >= 0, "random_crop: size {} must be > 0, padding {} >= 0",
                 size, padding);
    return [size, padding](const Tensor& x, SampleRng& rng) {
        Tensor padded = padding > 0 ? pad(x, {padding, padding, padding, padding}) : x;
        int64_t h = padded.size(-2), w = padded.size(-1);
        MARROW_CHECK(h >= size && w >= size,
                     "random_crop: the {}x{} crop does not fit the padded {}x{} image", size, size,
                     h, w);
        int64_t top = rng.integer(0, h - size + 1), left = rng.integer(0, w - size + 1);
        return contiguous(narrow(narrow(padded, -2, top, size), -1, left, size));
    };
}

RandomOp random_hflip(double p) {
    return [p](const Tensor& x, SampleRng& rng) { return rng.bernoulli(p) ? hflip(x) : x; };
}

RandomOp random_vflip(double p) {
    return [p](const Tensor& x, SampleRng& rng) { return rng.bernoulli(p) ? vflip(x) : x; };
}

RandomOp random_rot90(double p) {
    return [p](const Tensor& x, SampleRng& rng) {
        return rng.bernoulli(p) ? rot90(x, int(rng.integer(1, 4))) : x;
    };
}

RandomOp random_rotation(double p) {
    return [p](const Tensor& x, SampleRng& rng) {
        if (!rng.bernoulli(p)) return x;
        double angle = rng.uniform(0, 360);
        float gray = float(rng.uniform());
        return rotate(x, angle, Interpolation::bilinear, {gray, gray, gray});
    };
}

// torchvision's ColorJitter: factors ~ U(max(0, 1 - v), 1 + v) (hue ~ U(-h, h)), the four
// adjustments in a fresh random order; a zero strength skips its adjustment.
RandomOp color_jitter(double p, double brightness, double contrast, double saturation, double hue) {
    return [=](const Tensor& img, SampleRng& rng) {
        if (!rng.bernoulli(p)) return img;
        std::array<int, 4> order = rng.permutation4();
        double b = rng.uniform(std::max(0.0, 1 - brightness), 1 + brightness);
        double c = rng.uniform(std::max(0.0, 1 - contrast), 1 + contrast);
        double s = rng.uniform(std::max(0.0, 1 - saturation), 1 + saturation);
        double h = rng.uniform(-hue, hue);
        Tensor x = img;
        for (int op : order) {
            if (op == 0 && brightness > 0) x = adjust_brightness(x, b);
            if (op == 1 && contrast > 0) x = adjust_contrast(x, c);
            if (op == 2 && saturation > 0) x = adjust_saturation(x, s);
            if (op == 3 && hue > 0) x = adjust_hue(x, h);
        }
        return x;
    };
}

RandomOp random_grayscale(double p) {
    return [p](const Tensor& x, SampleRng& rng) {
        return rng.bernoulli(p) ? rgb_to_grayscale(x, x.size(0)) : x;
    };
}

RandomOp random_gaussian_blur(double p, std::array<double, 2> sigma, int64_t kernel,
                              double kernel_fraction) {
    return [=](const Tensor& x, SampleRng& rng) {
        if (!rng.bernoulli(p)) return x;
        double s = rng.uniform(sigma[0], sigma[1]);
        int64_t side = std::min(x.size(1), x.size(2));
        int64_t k = kernel > 0            ? kernel
                    : kernel_fraction > 0 ? odd_at_least_3(int64_t(kernel_fraction * double(side)))
                                          : 2 * int64_t(std::ceil(3 * s)) + 1;
        return gaussian_blur(x, std::min(k, 2 * side - 1), s);  // reflect padding: k / 2 < side
    };
}

RandomOp random_solarize(double p, double threshold) {
    return [=](const Tensor& x, SampleRng& rng) {
        return rng.bernoulli(p) ? solarize(x, threshold) : x;
    };
}

RandomOp normalize_op(std::array<float, 3> mean, std::array<float, 3> std) {
    return [=](const Tensor& x, SampleRng&) { return normalize(x, mean, std); };
}

RandomOp random_erasing(double p, std::array<double, 2> scale, std::array<double, 2> ratio,
                        float value) {
    return [=](const Tensor& x, SampleRng& rng) {
        return random_erase(x, p, rng, scale, ratio, value);
    };
}

// Draw order (fixed, Note [Sample randomness]): crop box, hflip, vflip, rot90, rotation,
// jitter (apply, order, four factors), grayscale, blur (apply, sigma), solarize, erasing.
RandomOp view_pipeline(const ViewSpec& s) {
    std::vector<RandomOp> ops = {
        random_resized_crop(s.size, s.scale, s.ratio, s.interpolation),
        random_hflip(s.hflip_p),
        random_vflip(s.vflip_p),
        random_rot90(s.rot90_p),
        random_rotation(s.rotate_p),
        color_jitter(s.jitter_p, s.brightness, s.contrast, s.saturation, s.hue),
        random_grayscale(s.gray_p),
        random_gaussian_blur(s.blur_p, s.blur_sigma, s.blur_kernel, s.blur_kernel_fraction),
        random_solarize(s.solarize_p)};
    if (s.normalize) ops.push_back(normalize_op(s.mean, s.std));
    if (s.erase_p > 0) ops.push_back(random_erasing(s.erase_p));
    return compose(std::move(ops));
}

Tensor augment_view(const Tensor& img, const ViewSpec& spec, SampleRng& rng) {
    return view_pipeline(spec)(img, rng);
}

std::vector<Tensor> multi_crop(const Tensor& img, const MultiCropSpec& spec, uint64_t seed,
                               uint64_t epoch, uint64_t index) {
    std::vector<Tensor> views;
    for (size_t v = 0; v < spec.views.size(); ++v) {
        SampleRng rng(seed, epoch, index, v);
        views.push_back(augment_view(img, spec.views[v], rng));
    }
    return views;
}

MultiCropSpec simclr_views(int64_t size, double strength) {
    ViewSpec v;
    v.size = size;
    v.brightness = v.contrast = v.saturation = 0.8 * strength;
    v.hue = 0.2 * strength;
    v.blur_p = 0.5;
    v.blur_kernel_fraction = 0.1;
    return {"simclr", {v, v}, 2};
}

MultiCropSpec swav_views(int64_t global_size, int64_t local_size, int locals) {
    ViewSpec g;
    g.size = global_size;
    g.scale = {0.14, 1.0};
    g.brightness = g.contrast = g.saturation = 0.8;
    g.hue = 0.2;
    g.blur_p = 0.5;
    ViewSpec l = g;
    l.size = local_size;
    l.scale = {0.05, 0.14};
    MultiCropSpec spec{"swav", {g, g}, 2};
    spec.views.insert(spec.views.end(), size_t(locals), l);
    return spec;
}

MultiCropSpec dino_views(int64_t global_size, int64_t local_size, int locals) {
    ViewSpec g1;
    g1.size = global_size;
    g1.scale = {0.4, 1.0};
    g1.interpolation = Interpolation::bicubic;
    g1.blur_p = 1.0;
    ViewSpec g2 = g1;
    g2.blur_p = 0.1;
    g2.solarize_p = 0.2;
    ViewSpec l = g1;
    l.size = local_size;
    l.scale = {0.05, 0.4};
    l.blur_p = 0.5;
    MultiCropSpec spec{"dino", {g1, g2}, 2};
    spec.views.insert(spec.views.end(), size_t(locals), l);
    return spec;
}

MultiCropSpec dinobloom_views(int64_t global_size, int64_t local_size, int locals) {
    MultiCropSpec spec = dino_views(global_size, local_size, locals);
    spec.name = "dinobloom";
    const double blur[3] = {0.0, 0.9, 0.5};  // DINOv2's inverted RandomApply (spec 2.1)
    for (size_t v = 0; v < spec.views.size(); ++v) {
        ViewSpec& view = spec.views[v];
        view.scale = v < 2 ? std::array<double, 2>{0.32, 1.0} : std::array<double, 2>{0.05, 0.32};
        view.blur_p = blur[std::min<size_t>(v, 2)];
        view.blur_kernel = 9;
        view.vflip_p = 0.5;
        view.rot90_p = 0.5;
    }
    return spec;
}

}  // namespace marrow::data
