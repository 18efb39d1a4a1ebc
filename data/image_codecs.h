// Internal to data/image.cpp: the PNG (libpng), JPEG (libjpeg-turbo) and TIFF (libtiff)
// decoders. Each checks the header against the budget and the file's size before it allocates
// the image, and reports every failure as an Error naming the file (`name`).
#pragma once
#include <cstdint>
#include <span>
#include <string>

#include "data/image.h"

namespace marrow::data::detail {

Image decode_png(std::span<const uint8_t> bytes, const std::string& name,
                 const ImageLimits& limits);
Image decode_jpeg(std::span<const uint8_t> bytes, const std::string& name,
                  const ImageLimits& limits);
Image decode_tiff(std::span<const uint8_t> bytes, const std::string& name,
                  const ImageLimits& limits);

// width x height against the budget, without overflow; an Error naming the file otherwise.
void check_pixel_budget(uint64_t width, uint64_t height, const ImageLimits& limits,
                        const std::string& name, const char* format);

}  // namespace marrow::data::detail
