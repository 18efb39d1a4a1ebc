// Random augmentations: Note [Sample randomness] (same key, same view; any other key, another
// view), torchvision's crop-box rule, and the recipes' shapes and ranges.
#include <doctest/doctest.h>

#include "data/transforms.h"
#include "marrow.h"

using namespace marrow;
using namespace marrow::data;

namespace {

Tensor test_image() {
    Generator gen(4);
    return rand({3, 60, 80}, DType::f32, Device::cpu(), gen);
}

bool same(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && all(eq(a, b)).item() != 0;
}

}  // namespace

TEST_CASE("sample randomness depends on (seed, epoch, index, view) only") {
    SampleRng a(1, 2, 3, 4), b(1, 2, 3, 4);
    for (int i = 0; i < 10; ++i) CHECK(a.uniform() == b.uniform());
    for (auto [e, i, v] : {std::tuple{3, 3, 4}, {2, 4, 4}, {2, 3, 5}}) {
        SampleRng c(1, 2, 3, 4), d(1, uint64_t(e), uint64_t(i), uint64_t(v));
        CHECK(c.uniform() != d.uniform());
    }
    SampleRng r(9, 0, 0, 0);
    std::array<int64_t, 5> counts{};
    for (int i = 0; i < 5000; ++i) ++counts[size_t(r.integer(0, 5))];
    for (int64_t c : counts) CHECK(c > 850);  // ~1000 each
    std::array<int, 4> p = r.permutation4();
    std::sort(p.begin(), p.end());
    CHECK(p == std::array<int, 4>{0, 1, 2, 3});
}

TEST_CASE("random resized crop boxes: inside the image, area and ratio within range") {
    SampleRng rng(5, 0, 0, 0);
    for (int i = 0; i < 200; ++i) {
        CropBox b = random_resized_crop_box(60, 80, {0.2, 0.6}, {0.75, 4.0 / 3.0}, rng);
        REQUIRE(b.top >= 0);
        REQUIRE(b.left >= 0);
        REQUIRE(b.top + b.height <= 60);
        REQUIRE(b.left + b.width <= 80);
        double area = double(b.height * b.width) / (60.0 * 80.0);
        CHECK(area > 0.18);
        CHECK(area < 0.63);
    }
    // Ratios no window can satisfy: torchvision's fallback, a centred crop at the clamped ratio.
    CropBox f = random_resized_crop_box(10, 100, {0.9, 1.0}, {0.5, 0.6}, rng);
    CHECK(f.height == 10);
    CHECK(f.width == 6);
    CHECK(f.left == 47);
}

TEST_CASE("multi-crop recipes: view counts, sizes, normalization, determinism") {
    Tensor img = test_image();
    for (const MultiCropSpec& spec : {simclr_views(32), swav_views(32, 16, 3),
                                      dino_views(32, 16, 4), dinobloom_views(32, 14, 2)}) {
        CAPTURE(spec.name);
        std::vector<Tensor> views = multi_crop(img, spec, 7, 1, 42);
        REQUIRE(views.size() == spec.views.size());
        for (size_t v = 0; v < views.size(); ++v) {
            int64_t size = v < 2 ? 32 : spec.views[v].size;
            CHECK(views[v].shape() == std::vector<int64_t>{3, size, size});
        }
        std::vector<Tensor> again = multi_crop(img, spec, 7, 1, 42);
        for (size_t v = 0; v < views.size(); ++v) CHECK(same(views[v], again[v]));
        CHECK(!same(views[0], views[1]));
        CHECK(!same(views[0], multi_crop(img, spec, 7, 2, 42)[0]));  // next epoch
    }
    CHECK(simclr_views().views.size() == 2);
    CHECK(swav_views().views.size() == 8);
    CHECK(dino_views().views.size() == 10);
    CHECK(dinobloom_views().views[0].blur_p == 0.0);  // DINOv2's inverted blur probability
    CHECK(dinobloom_views().views[1].blur_p == 0.9);
}

TEST_CASE("an unnormalized view stays in [0, 1] through every colour op") {
    ViewSpec s;
    s.size = 24;
    s.normalize = false;
    s.jitter_p = s.gray_p = s.blur_p = s.solarize_p = 1.0;
    s.brightness = s.contrast = s.saturation = 0.8;
    s.hue = 0.4;
    s.rotate_p = s.rot90_p = s.vflip_p = 1.0;
    SampleRng rng(3, 0, 0, 0);
    Tensor v = augment_view(test_image(), s, rng);
    CHECK(v.shape() == std::vector<int64_t>{3, 24, 24});
    CHECK(min(v).item() >= 0.0);
    CHECK(max(v).item() <= 1.0 + 1e-6);
}

TEST_CASE("random erasing: one box of the fill value, inside the image, or nothing") {
    Tensor img = test_image() + 1.0;  // values in [1, 2): erased pixels are the only zeros
    SampleRng rng(8, 0, 0, 0);
    int erased = 0;
    for (int i = 0; i < 50; ++i) {
        Tensor out = random_erase(img, 0.5, rng);
        int64_t zeros_count = int64_t(sum(to(eq(out, 0.0), DType::f64)).item());
        CHECK(zeros_count % 3 == 0);  // the same box in every channel
        double fraction = double(zeros_count) / double(img.numel());
        CHECK(fraction <= 0.34);
        if (zeros_count > 0) ++erased;
    }
    CHECK(erased > 15);
    CHECK(erased < 35);
}

TEST_CASE("compose runs its ops in order, each drawing from the view's stream") {
    Tensor img = test_image();
    SampleRng rng(1, 0, 0, 0);
    RandomOp op = compose({random_hflip(1.0), random_rot90(0.0), normalize_op()});
    CHECK(same(op(img, rng), normalize(hflip(img), kImageNetMean, kImageNetStd)));
    // A recipe and its hand-written composition draw the same numbers in the same order.
    ViewSpec s;
    s.size = 16;
    s.blur_p = 1;
    SampleRng a(2, 0, 5, 1), b(2, 0, 5, 1);
    RandomOp by_hand =
        compose({random_resized_crop(16), random_hflip(0.5), random_vflip(0), random_rot90(0),
                 random_rotation(0), color_jitter(0.8, 0.4, 0.4, 0.2, 0.1), random_grayscale(0.2),
                 random_gaussian_blur(1.0), random_solarize(0), normalize_op()});
    CHECK(same(augment_view(img, s, a), by_hand(img, b)));
}
