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

// Draw order (fixed, Note [Sample randomness]): crop box, hflip, vflip, rot90, rotation,
// jitter (apply, order, four factors), grayscale, blur (apply, sigma), solarize.
Tensor augment_view(const Tensor& img, const ViewSpec& s, SampleRng& rng) {
    CropBox box = random_resized_crop_box(img.size(1), img.size(2), s.scale, s.ratio, rng);
    Tensor x = resize(crop(img, box.top, box.left, box.height, box.width), s.size, s.size,
                      s.interpolation, true);
    if (rng.bernoulli(s.hflip_p)) x = hflip(x);
    if (rng.bernoulli(s.vflip_p)) x = vflip(x);
    if (rng.bernoulli(s.rot90_p)) x = rot90(x, int(rng.integer(1, 4)));
    if (rng.bernoulli(s.rotate_p)) {
        double angle = rng.uniform(0, 360);
        float gray = float(rng.uniform());
        x = rotate(x, angle, Interpolation::bilinear, {gray, gray, gray});
    }
    if (rng.bernoulli(s.jitter_p)) {
        std::array<int, 4> order = rng.permutation4();
        double b = rng.uniform(std::max(0.0, 1 - s.brightness), 1 + s.brightness);
        double c = rng.uniform(std::max(0.0, 1 - s.contrast), 1 + s.contrast);
        double sat = rng.uniform(std::max(0.0, 1 - s.saturation), 1 + s.saturation);
        double hue = rng.uniform(-s.hue, s.hue);
        for (int op : order) {
            if (op == 0 && s.brightness > 0) x = adjust_brightness(x, b);
            if (op == 1 && s.contrast > 0) x = adjust_contrast(x, c);
            if (op == 2 && s.saturation > 0) x = adjust_saturation(x, sat);
            if (op == 3 && s.hue > 0) x = adjust_hue(x, hue);
        }
    }
    if (rng.bernoulli(s.gray_p)) x = rgb_to_grayscale(x, x.size(0));
    if (rng.bernoulli(s.blur_p)) {
        double sigma = rng.uniform(s.blur_sigma[0], s.blur_sigma[1]);
        int64_t k = s.blur_kernel > 0 ? s.blur_kernel
                    : s.blur_kernel_fraction > 0
                        ? odd_at_least_3(int64_t(s.blur_kernel_fraction * double(s.size)))
                        : 2 * int64_t(std::ceil(3 * sigma)) + 1;
        k = std::min(k, 2 * s.size - 1);  // reflect padding needs k / 2 < size
        x = gaussian_blur(x, k, sigma);
    }
    if (rng.bernoulli(s.solarize_p)) x = solarize(x, 128.0 / 255.0);  // PIL's threshold 128
    if (s.normalize) x = normalize(x, s.mean, s.std);
    if (s.erase_p > 0) x = random_erase(x, s.erase_p, rng);
    return x;
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
