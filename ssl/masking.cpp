// Block masking for iBOT (ssl/masking.h): dinov2/data/masking.py MaskingGenerator and the mask
// part of dinov2/data/collate.py collate_data_and_cast, written from their description.
#include "ssl/masking.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "data/transforms.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::ssl {
namespace {

// A call's own stream: one reserved Philox block of `gen` names it (Note in masking.h).
data::SampleRng substream(Generator& gen) {
    uint64_t offset = gen.reserve(4);
    return data::SampleRng(gen.state().seed, offset, 0x6d61736bull /* "mask" */, 0);
}

// Python's random.uniform(a, b) = a + (b - a) * random(), also for a > b.
double py_uniform(data::SampleRng& rng, double a, double b) { return a + (b - a) * rng.uniform(); }

// torch.linspace(start, end, steps) in float32, element by element as ATen's CPU kernel: the
// first half counts up from start, the second down from end.
std::vector<float> linspace_f32(double start_d, double end_d, int64_t steps) {
    float start = float(start_d), end = float(end_d);
    std::vector<float> out(size_t(std::max<int64_t>(steps, 0)));
    if (steps == 1) out[0] = start;
    if (steps <= 1) return out;
    float step = (end - start) / float(steps - 1);
    int64_t halfway = steps / 2;
    for (int64_t i = 0; i < steps; ++i)
        out[size_t(i)] = i < halfway ? start + step * float(i) : end - step * float(steps - i - 1);
    return out;
}

}  // namespace

MaskingGenerator::MaskingGenerator(MaskingOptions o) : options_(o) {
    MARROW_CHECK(o.height > 0 && o.width > 0, "MaskingGenerator: grid {} x {} must be positive",
                 o.height, o.width);
    double max_aspect = o.max_aspect.value_or(1 / o.min_aspect);
    MARROW_CHECK(o.min_aspect > 0 && max_aspect > 0 && o.min_num_patches >= 0,
                 "MaskingGenerator: aspect range ({}, {}) must be positive and min_num_patches "
                 "({}) >= 0",
                 o.min_aspect, max_aspect, o.min_num_patches);
    log_aspect_min_ = std::log(o.min_aspect);
    log_aspect_max_ = std::log(max_aspect);
}

MaskingGenerator MaskingGenerator::dinov2(int64_t grid) {
    // train.py: max_num_patches = 0.5 * img_size // patch_size * img_size // patch_size,
    // i.e. half the grid for the sizes it is used with.
    MaskingOptions o;
    o.height = o.width = grid;
    o.max_num_patches = 0.5 * double(grid * grid);
    return MaskingGenerator(o);
}

Tensor MaskingGenerator::operator()(int64_t num_masking_patches, Generator& gen,
                                    std::vector<MaskRect>* placed) const {
    const int64_t H = options_.height, W = options_.width;
    MARROW_CHECK(num_masking_patches >= 0 && num_masking_patches <= H * W,
                 "MaskingGenerator({} x {}): cannot mask {} patches", H, W, num_masking_patches);
    Tensor out = zeros({H, W}, DType::b8);
    bool* mask = out.data<bool>();
    if (num_masking_patches == 0) return out;
    data::SampleRng rng = substream(gen);
    const double max_per_block = options_.max_num_patches.value_or(double(num_masking_patches));

    // One rectangle (masking.py _mask): up to 10 tries; returns the patches it added.
    auto add_block = [&](double max_mask_patches) -> int64_t {
        int64_t delta = 0;
        for (int attempt = 0; attempt < 10 && delta == 0; ++attempt) {
            double target_area =
                py_uniform(rng, double(options_.min_num_patches), max_mask_patches);
            double aspect = std::exp(py_uniform(rng, log_aspect_min_, log_aspect_max_));
            // int(round(.)): Python rounds half to even, as nearbyint does by default.
            auto h = int64_t(std::nearbyint(std::sqrt(target_area * aspect)));
            auto w = int64_t(std::nearbyint(std::sqrt(target_area / aspect)));
            if (w >= W || h >= H) continue;  // upstream's strict `w < width and h < height`
            int64_t top = rng.integer(0, H - h + 1), left = rng.integer(0, W - w + 1);
            int64_t already = 0;
            for (int64_t i = top; i < top + h; ++i)
                for (int64_t j = left; j < left + w; ++j) already += mask[i * W + j];
            int64_t fresh = h * w - already;
            if (fresh > 0 && double(fresh) <= max_mask_patches) {
                for (int64_t i = top; i < top + h; ++i)
                    for (int64_t j = left; j < left + w; ++j) mask[i * W + j] = true;
                delta = fresh;
                if (placed) placed->push_back({top, left, h, w});
            }
        }
        return delta;
    };

    int64_t count = 0;
    while (count < num_masking_patches) {
        double budget = std::min(double(num_masking_patches - count), max_per_block);
        int64_t delta = add_block(budget);
        if (delta == 0) break;
        count += delta;
    }
    return out;
}

BlockMasks sample_block_masks(int64_t n, const MaskingGenerator& generator, BlockMaskOptions o,
                              Generator& gen) {
    MARROW_CHECK(n >= 0 && o.probability >= 0 && o.probability <= 1 && o.ratio_min >= 0 &&
                     o.ratio_min <= o.ratio_max && o.ratio_max <= 1,
                 "sample_block_masks: need n >= 0 ({}), probability in [0, 1] ({}) and "
                 "0 <= ratio_min <= ratio_max <= 1 ({}, {})",
                 n, o.probability, o.ratio_min, o.ratio_max);
    const int64_t N = generator.num_patches();
    const auto n_masked = int64_t(double(n) * o.probability);
    std::vector<float> probs = linspace_f32(o.ratio_min, o.ratio_max, n_masked + 1);
    data::SampleRng rng = substream(gen);

    std::vector<int64_t> targets;
    int64_t upperbound = 0;
    for (int64_t i = 0; i < n; ++i) {
        int64_t target = 0;
        if (i < n_masked) {
            // int(N * random.uniform(lo, hi)) with lo, hi float32 tensors: float32 arithmetic.
            float lo = probs[size_t(i)], hi = probs[size_t(i + 1)];
            auto u = float(rng.uniform());
            target = int64_t(float(N) * (lo + (hi - lo) * u));
            upperbound += int64_t(float(N) * hi);
        }
        targets.push_back(target);
    }
    // random.shuffle: Fisher-Yates from the end.
    for (int64_t i = n - 1; i > 0; --i)
        std::swap(targets[size_t(i)], targets[size_t(rng.integer(0, i + 1))]);

    Tensor mask_rows = zeros({n, N}, DType::b8);
    bool* masks = mask_rows.data<bool>();
    std::vector<int64_t> indices;
    std::vector<float> weights;
    for (int64_t i = 0; i < n; ++i) {
        Tensor m = generator(targets[size_t(i)], gen);
        std::copy_n(m.data<bool>(), N, masks + i * N);
        int64_t first = int64_t(indices.size());
        for (int64_t p = 0; p < N; ++p)
            if (masks[i * N + p]) indices.push_back(i * N + p);
        auto count = int64_t(indices.size()) - first;
        // (1 / clamp(|m_i|, min=1)) in float32, repeated for each of its masked patches.
        weights.insert(weights.end(), size_t(count), 1.0f / float(std::max<int64_t>(count, 1)));
    }
    return BlockMasks{mask_rows, from_vector(indices, {int64_t(indices.size())}),
                      from_vector(weights, {int64_t(weights.size())}), std::move(targets),
                      upperbound};
}

}  // namespace marrow::ssl
