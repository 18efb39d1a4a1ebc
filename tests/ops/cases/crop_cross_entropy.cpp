// cross_entropy_crops and soft_cross_entropy, with their composed twins (log_softmax, mul, sum,
// mean per pair: the reference and gradient oracle of the fused kernels), and two cases that
// transcribe upstream losses whole: DINOLoss.forward with its center update
// (facebookresearch/dino main_dino.py) and iBOTPatchLoss.forward_masked
// (facebookresearch/dinov2 dinov2/loss/ibot_patch_loss.py). Targets are constants (positive
// values that need not sum to 1: the kernels use each target's actual mass). Parity tier:
// rows of 1031 (past a 256-thread block's 4 values per thread, the CPU's 512-value chunks and
// vector tails). Bench tier: the DINO loss step at B = 32, 2 + 8 crops, K = 4096, teacher side
// (softmax of the centered teacher, center update) included, forward and forward+backward.
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

namespace {

Tensor probabilities(const Tensor& x) { return x / sum(x, {-1}, true); }

Tensor pick(const Tensor& x, int64_t i) { return squeeze(narrow(x, 0, i, 1), 0); }

// (1/n_terms) sum_{j<T} sum_{v != j} mean_b [-sum_k q_j log_softmax(s_v / tau)]
Tensor crops_composed(const Tensor& targets, const Tensor& logits, double tau) {
    int64_t nt = targets.size(0), nv = logits.size(0), n = 0;
    std::optional<Tensor> total;
    for (int64_t j = 0; j < nt; ++j)
        for (int64_t v = 0; v < nv; ++v) {
            if (v == j) continue;
            Tensor l =
                mean(sum(-(pick(targets, j) * log_softmax(pick(logits, v) / tau, -1)), {-1}));
            total = total ? *total + l : l;
            ++n;
        }
    return *total / double(n);
}

Tensor rows_composed(const Tensor& targets, const Tensor& logits, const Tensor& w, double tau) {
    return sum(w * sum(-(targets * log_softmax(logits / tau, -1)), {-1}));
}

// One DINO loss step: teacher (2B, K) and student (V B, K) head outputs, center (1, K); the
// loss and the updated center, concatenated (as DINOLoss.forward computes both).
Tensor dino_loss_step(const Tensor& teacher, const Tensor& student, const Tensor& center) {
    int64_t b = teacher.size(0) / 2, k = teacher.size(1), v = student.size(0) / b;
    Tensor q = softmax((teacher - center) / 0.04, -1);
    Tensor loss = cross_entropy_crops(reshape(q, {2, b, k}), reshape(student, {v, b, k}), 0.1);
    Tensor next = center * 0.9 + mean(teacher, {0}, true) * 0.1;
    return cat({reshape(loss, {1}), reshape(next, {k})});
}

// iBOT on 3 images of 4 patches with 2, 0 and 3 masked: rows are the 5 masked patches, each
// weighted 1 / (its image's masked count) / (number of images), as forward_masked.
Tensor ibot_masked(const Tensor& targets, const Tensor& logits) {
    Tensor w = from_vector<double>({1.0 / 6, 1.0 / 6, 1.0 / 9, 1.0 / 9, 1.0 / 9}, {5});
    return soft_cross_entropy(targets, logits, to(to(w, logits.dtype()), logits.device()), 0.1);
}

}  // namespace

void add_crop_cross_entropy(std::vector<OpCase>& list) {
    // Inputs: targets (constant), student logits (, row weights (constant)).
    // clang-format off
    CaseList c(list, "crop_cross_entropy");
    c.add("cross_entropy_crops", "cross_entropy_crops", {constant({2, 3, 5}, kPos), in({4, 3, 5})},
          [](const T& x) { return cross_entropy_crops(x[0], x[1], 0.1); }, kTr)
        .parity({{2, 7, 1031}, {5, 7, 1031}})
        .composed([](const T& x) { return crops_composed(x[0], x[1], 0.1); });
    // one target crop (SwAV with one assign crop), and every crop a target (T = V = 3)
    c.add("cross_entropy_crops_t1", "cross_entropy_crops", {constant({1, 2, 6}, kPos), in({3, 2, 6}, kAny, kT)},
          [](const T& x) { return cross_entropy_crops(x[0], x[1], 0.5); }, kTr)
        .parity({{1, 3, 300}, {3, 3, 300}})
        .composed([](const T& x) { return crops_composed(x[0], x[1], 0.5); });
    c.add("cross_entropy_crops_t3", "cross_entropy_crops", {constant({3, 2, 4}, kPos), in({3, 2, 4})},
          [](const T& x) { return cross_entropy_crops(x[0], x[1], 1.0); }, kTr)
        .parity({{3, 5, 77}, {3, 5, 77}})
        .composed([](const T& x) { return crops_composed(x[0], x[1], 1.0); });
    c.add("dino_loss", "cross_entropy_crops", {constant({6, 5}), in({12, 5}), constant({1, 5})},
          [](const T& x) { return dino_loss_step(x[0], x[1], x[2]); }, kTr)
        .parity({{2 * 17, 1031}, {4 * 17, 1031}, {1, 1031}})
        .bench_bwd("dino_loss_b32_10crops_k4096", {{64, 4096}, {320, 4096}, {1, 4096}});
    // targets normalized to probabilities, as iBOT's (with masses ~K the float32 cancellation
    // in mass softmax - q puts the fused and composed forms ~1e-4 apart at K = 1031)
    c.add("soft_cross_entropy", "soft_cross_entropy", {constant({6, 5}, kPos), in({6, 5}), constant({6}, kPos)},
          [](const T& x) { return soft_cross_entropy(probabilities(x[0]), x[1], x[2], 0.1); }, kTr)
        .parity({{37, 1031}, {37, 1031}, {37}})
        .composed([](const T& x) { return rows_composed(probabilities(x[0]), x[1], x[2], 0.1); });
    c.add("ibot_patch_loss", "soft_cross_entropy", {constant({5, 7}, kPos), in({5, 7})},
          [](const T& x) { return ibot_masked(x[0], x[1]); }, kTr);
    // clang-format on
}

}  // namespace marrow::test::cases
