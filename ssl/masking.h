// iBOT / DINOv2 block masking (spec 6.2): BEiT's block-wise MaskingGenerator
// (dinov2/data/masking.py) and the collate's per-crop masks (dinov2/data/collate.py).
//
//   ssl::MaskingGenerator gen = ssl::MaskingGenerator::dinov2(16);   // 224 px / patch 14
//   ssl::BlockMasks m = ssl::sample_block_masks(2 * B, gen, {}, generator);
//   // m.masks (2B, 256) bool; m.indices, m.weights: what the iBOT loss gathers and weighs
//
// Randomness: each generator call reserves one Philox block of the marrow Generator and draws
// everything from a sub-stream keyed by (seed, that offset) (data::SampleRng), so a seed gives
// the same masks on every machine. Same distributions as upstream's Python `random`, not the
// same numbers.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "tensor/random.h"
#include "tensor/tensor.h"

namespace marrow::ssl {

struct MaskingOptions {
    int64_t height = 14;  // the patch grid
    int64_t width = 14;
    int64_t min_num_patches = 4;            // smallest rectangle area drawn
    std::optional<double> max_num_patches;  // largest area per rectangle (nullopt: no cap)
    double min_aspect = 0.3;
    std::optional<double> max_aspect;  // nullopt: 1 / min_aspect
};

// A rectangle of the grid: rows [top, top + h), columns [left, left + w).
struct MaskRect {
    int64_t top, left, h, w;
};

class MaskingGenerator {
public:
    explicit MaskingGenerator(MaskingOptions options);
    // dinov2/train/train.py: a grid x grid generator with max_num_patches = 0.5 * grid^2.
    static MaskingGenerator dinov2(int64_t grid);

    // A (height, width) bool mask with about `num_masking_patches` patches set: rectangles of
    // area U(min_num_patches, min(remaining, max_num_patches)) and aspect
    // exp(U(log min_aspect, log max_aspect)) at uniform positions, each kept when it adds new
    // patches without exceeding the remaining budget; 10 tries per rectangle, stopping at the
    // target or when a rectangle's 10 tries add nothing, so the count may fall short (as
    // upstream). `placed`, when given, receives every rectangle that added patches.
    Tensor operator()(int64_t num_masking_patches, Generator& gen,
                      std::vector<MaskRect>* placed = nullptr) const;

    int64_t height() const { return options_.height; }
    int64_t width() const { return options_.width; }
    int64_t num_patches() const { return options_.height * options_.width; }
    const MaskingOptions& options() const { return options_; }

private:
    MaskingOptions options_;
    double log_aspect_min_, log_aspect_max_;
};

struct BlockMaskOptions {
    double probability = 0.5;  // mask_sample_probability: int(n * p) crops get a mask
    double ratio_min = 0.1;    // mask_ratio_min_max
    double ratio_max = 0.5;
};

// The masks of n crops (dinov2 collate_data_and_cast): n_masked = int(n * probability) crops
// get masks whose targets int(N * U(r_i, r_{i+1})) are stratified over
// r = linspace(ratio_min, ratio_max, n_masked + 1), the others none; the list is shuffled.
struct BlockMasks {
    Tensor masks;  // (n, N) bool, N = h * w, row-major over the grid
    Tensor
        indices;  // (M,) int64: flat positions i * N + p of the masked patches (mask_indices_list)
    Tensor weights;  // (M,) f32: 1 / max(|m_i|, 1) for each masked patch of crop i (masks_weight)
    std::vector<int64_t> targets;  // (n) each crop's requested count (0 unmasked), shuffled
    int64_t upperbound = 0;        // sum over masked crops of int(N * r_{i+1})
    int64_t n_masked_patches() const { return indices.numel(); }
};

BlockMasks sample_block_masks(int64_t n, const MaskingGenerator& generator,
                              BlockMaskOptions options, Generator& gen);

}  // namespace marrow::ssl
