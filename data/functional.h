// Deterministic image operations on float images: contiguous f32 CPU tensors of shape
// (C, H, W), C = 1 or 3, values in [0, 1]. Each follows torchvision 0.14's tensor
// implementation (torchvision.transforms.functional on float tensors), checked against golden
// fixtures (tests/golden/gen/gen_transforms.py); the random transforms in data/transforms.h
// draw their parameters and call these. Plain loops over floats: augmentation runs per sample
// in loader threads, outside autograd.
#pragma once
#include <array>
#include <cstdint>

#include "tensor/tensor.h"

namespace marrow::data {

enum class Interpolation { nearest, bilinear, bicubic };

// Resize to (h, w). bilinear / bicubic with `antialias` widen the filter by the shrink factor
// when downsampling (PIL's algorithm, torchvision's antialias=True); bicubic uses a = -0.5 and
// may overshoot [0, 1] as torchvision's float path does (no clamp).
Tensor resize(const Tensor& img, int64_t h, int64_t w, Interpolation mode = Interpolation::bilinear,
              bool antialias = true);

// The (h, w) window at (top, left); parts outside the image are zeros (torchvision pads).
Tensor crop(const Tensor& img, int64_t top, int64_t left, int64_t h, int64_t w);
// Centre window, top = round((H - h) / 2) as torchvision.
Tensor center_crop(const Tensor& img, int64_t h, int64_t w);
Tensor hflip(const Tensor& img);
Tensor vflip(const Tensor& img);
Tensor rot90(const Tensor& img, int k);  // k quarter turns counter-clockwise (torch.rot90)
// Rotation by `degrees` counter-clockwise about the centre, same size, nearest or bilinear
// sampling; pixels from outside the image get `fill` (per channel).
Tensor rotate(const Tensor& img, double degrees, Interpolation mode = Interpolation::nearest,
              std::array<float, 3> fill = {0, 0, 0});

// Gray = 0.2989 R + 0.587 G + 0.114 B (torchvision's weights), repeated to `channels`.
Tensor rgb_to_grayscale(const Tensor& img, int64_t channels = 1);
Tensor adjust_brightness(const Tensor& img, double factor);  // clamp(f x)
Tensor adjust_contrast(const Tensor& img, double factor);    // blend with mean(gray(x))
Tensor adjust_saturation(const Tensor& img, double factor);  // blend with gray(x)
Tensor adjust_hue(const Tensor& img, double shift);          // H += shift (mod 1), |shift| <= 0.5
Tensor solarize(const Tensor& img, double threshold);        // x >= t ? 1 - x : x
// Separable Gaussian, kernel_size odd, reflect padding (torchvision's gaussian_blur).
Tensor gaussian_blur(const Tensor& img, int64_t kernel_size, double sigma);
Tensor normalize(const Tensor& img, std::array<float, 3> mean, std::array<float, 3> std);

// ImageNet statistics (the SSL recipes' Normalize).
inline constexpr std::array<float, 3> kImageNetMean = {0.485f, 0.456f, 0.406f};
inline constexpr std::array<float, 3> kImageNetStd = {0.229f, 0.224f, 0.225f};

}  // namespace marrow::data
