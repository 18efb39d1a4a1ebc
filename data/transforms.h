// Random augmentations for self-supervised views (../shared/reference/ssl_mil_spec.md,
// section 2): random resized crop, flips, quarter turns, rotation, colour jitter in a random
// order, random grayscale, Gaussian blur, solarization, normalization, and the multi-crop
// recipes of SimCLR, SwAV, DINO and DinoBloom as tables of per-view parameters.
//
// Note [Sample randomness]: every random choice for view v of sample i in epoch e comes from a
// Philox stream keyed by (seed, e, i, v), drawn in a fixed order. A view is therefore the same
// whatever the number of loader threads or the order samples are processed in.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/functional.h"
#include "tensor/philox.h"

namespace marrow::data {

class SampleRng {
public:
    SampleRng(uint64_t seed, uint64_t epoch, uint64_t index, uint64_t view);
    double uniform(double lo = 0, double hi = 1);  // [lo, hi), 32 random bits
    bool bernoulli(double p) { return uniform() < p; }
    int64_t integer(int64_t lo, int64_t hi);  // uniform in [lo, hi)
    std::array<int, 4> permutation4();        // a uniformly random order of 0..3

private:
    uint32_t next();
    uint64_t key_;
    uint64_t counter_ = 0;
    int lane_ = 4;
    philox::Block block_{};
};

// torchvision's RandomResizedCrop.get_params: up to 10 tries of area fraction ~ U(scale) and
// log aspect ratio ~ U(log ratio); a window that fits gets a uniform position; otherwise a
// centre crop with the ratio clamped to the range.
struct CropBox {
    int64_t top, left, height, width;
};
CropBox random_resized_crop_box(int64_t h, int64_t w, std::array<double, 2> scale,
                                std::array<double, 2> ratio, SampleRng& rng);

// torchvision's RandomErasing: with probability p, up to 10 tries of a box with area fraction
// ~ U(scale) and log aspect ~ U(log ratio) that fits strictly inside; the box gets `value`.
// Usually applied after normalization.
Tensor random_erase(const Tensor& img, double p, SampleRng& rng,
                    std::array<double, 2> scale = {0.02, 0.33},
                    std::array<double, 2> ratio = {0.3, 3.3}, float value = 0);

// Composable random ops (torchvision's transforms): each draws what it needs from the view's
// stream when it runs, so a composition's draws follow its order.
//
//   RandomOp hema = compose({random_resized_crop(224, {0.32, 1.0}), random_vflip(0.5),
//                            color_jitter(0.8, 0.3, 0.2, 0.3, 0.15), normalize_op()});
//   Tensor view = hema(image, rng);
using RandomOp = std::function<Tensor(const Tensor& image, SampleRng& rng)>;
RandomOp compose(std::vector<RandomOp> ops);
RandomOp random_resized_crop(int64_t size, std::array<double, 2> scale = {0.08, 1.0},
                             std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0},
                             Interpolation mode = Interpolation::bilinear);
// torchvision RandomCrop(size, padding): zero-pad each side by `padding`, then a size x size
// crop at a uniform position (Fashion-MNIST/CIFAR's shift augmentation).
RandomOp random_crop(int64_t size, int64_t padding = 0);
RandomOp random_hflip(double p = 0.5);
RandomOp random_vflip(double p = 0.5);
RandomOp random_rot90(double p = 0.5);  // k uniform in {1, 2, 3} quarter turns
RandomOp random_rotation(double p);     // any angle, a random gray fill (DinoBloom "hema")
RandomOp color_jitter(double p, double brightness, double contrast, double saturation, double hue);
RandomOp random_grayscale(double p);
// Kernel: `kernel` when > 0, else kernel_fraction x the image side made odd when > 0, else
// 2 ceil(3 sigma) + 1.
RandomOp random_gaussian_blur(double p, std::array<double, 2> sigma = {0.1, 2.0},
                              int64_t kernel = 0, double kernel_fraction = 0);
RandomOp random_solarize(double p, double threshold = 128.0 / 255.0);  // PIL's 128 of 255
RandomOp normalize_op(std::array<float, 3> mean = kImageNetMean,
                      std::array<float, 3> std = kImageNetStd);
RandomOp random_erasing(double p, std::array<double, 2> scale = {0.02, 0.33},
                        std::array<double, 2> ratio = {0.3, 3.3}, float value = 0);

// One view's recipe; probabilities are per view and independent.
struct ViewSpec {
    int64_t size = 224;
    std::array<double, 2> scale = {0.08, 1.0};
    std::array<double, 2> ratio = {3.0 / 4.0, 4.0 / 3.0};
    Interpolation interpolation = Interpolation::bilinear;
    double hflip_p = 0.5, vflip_p = 0, rot90_p = 0;
    double rotate_p = 0;  // any angle in [0, 360) with a random gray fill (DinoBloom "hema")
    double jitter_p = 0.8;
    double brightness = 0.4, contrast = 0.4, saturation = 0.2, hue = 0.1;
    double gray_p = 0.2;
    double blur_p = 0;
    std::array<double, 2> blur_sigma = {0.1, 2.0};
    // Kernel size: `blur_kernel` when > 0 (DINOv2: 9), else blur_kernel_fraction x size made
    // odd (SimCLR: 10%), else 2 ceil(3 sigma) + 1 (a true Gaussian for PIL's radius = sigma).
    int64_t blur_kernel = 0;
    double blur_kernel_fraction = 0;
    double solarize_p = 0;
    bool normalize = true;
    double erase_p = 0;  // random erasing (after normalization), torchvision's defaults
    std::array<float, 3> mean = kImageNetMean, std = kImageNetStd;
};

// The recipe as a composition of the ops above, and one view drawn with it: a float (C, H, W)
// image in [0, 1] -> (C, size, size).
RandomOp view_pipeline(const ViewSpec& spec);
Tensor augment_view(const Tensor& img, const ViewSpec& spec, SampleRng& rng);

struct MultiCropSpec {
    std::string name;
    std::vector<ViewSpec> views;  // global crops first, then local crops
    int64_t global_views = 2;
};

// The published recipes (ssl_mil_spec.md 2.1); sizes scale with `global_size` (224 in the
// papers; local crops keep the papers' 96/224 ratio unless given).
MultiCropSpec simclr_views(int64_t size = 224, double strength = 1.0);
MultiCropSpec swav_views(int64_t global_size = 224, int64_t local_size = 96, int locals = 6);
MultiCropSpec dino_views(int64_t global_size = 224, int64_t local_size = 96, int locals = 8);
// DinoBloom's default transform: DINOv2 crops plus vertical flips and quarter turns, with the
// blur probabilities DINOv2's inverted RandomApply really used (0 / 0.9 / 0.5).
// DinoBloom's configuration builds one 98-pixel local crop but never uses it: locals = 0.
MultiCropSpec dinobloom_views(int64_t global_size = 224, int64_t local_size = 98, int locals = 0);

// All views of sample `index` in `epoch` (Note [Sample randomness]).
std::vector<Tensor> multi_crop(const Tensor& img, const MultiCropSpec& spec, uint64_t seed,
                               uint64_t epoch, uint64_t index);

}  // namespace marrow::data
