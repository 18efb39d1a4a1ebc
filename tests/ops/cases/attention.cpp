// The attention family: scaled_dot_product_attention (fused, Note [Fused attention]) with its
// composed twin, matmul -> scale -> mask -> softmax -> dropout -> matmul from differentiable
// ops, the reference and gradient oracle. Cases: L != S and E != Ev; a bool mask (from a
// constant input: x > -0.8), an additive float mask (B, 1, 1, S) that requires grad; causal
// with L < S; a transposed k and a strided q (copied for the kernels); dropout (a fixed
// generator, so the composed twin's F.dropout draws the fused kernel's mask); 3-d inputs with
// broadcast batch dims and an explicit scale. Parity tier: L and S past the CUDA kernels' 32-row
// tiles and the CPU's 48-row query tiles, E and Ev not multiples of 16. Bench: DINOv2's ViT-S (6
// heads x 257 tokens) and ViT-B (12 x 197) at batch 8, and L = 1025 (the composed peer materializes
// 6 x 1025^2 scores).
#include <limits>

#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

namespace {

constexpr double kDropP = 0.3;
constexpr uint64_t kDropSeed = 1234;

}  // namespace

Tensor attention_scores(const Tensor& q, const Tensor& k, const std::optional<Tensor>& mask,
                        bool causal, std::optional<double> scale) {
    double s = scale ? *scale : 1.0 / std::sqrt(double(q.size(-1)));
    Tensor scores = matmul(q, transpose(k, -2, -1)) * s;
    const double inf = std::numeric_limits<double>::infinity();
    if (mask)
        scores = mask->dtype() == DType::b8 ? masked_fill(scores, logical_not(*mask), -inf)
                                            : scores + *mask;
    if (causal) {
        int64_t L = q.size(-2), S = k.size(-2);
        Tensor later = gt(reshape(arange(S, DType::i64, q.device()), {1, S}),
                          reshape(arange(L, DType::i64, q.device()), {L, 1}));
        scores = masked_fill(scores, later, -inf);
    }
    return scores;
}

Tensor attention_composed(const Tensor& q, const Tensor& k, const Tensor& v,
                          const std::optional<Tensor>& mask, double p, bool causal,
                          std::optional<double> scale, Generator* gen) {
    Tensor scores = attention_scores(q, k, mask, causal, scale);
    Tensor attn = softmax(scores, -1);
    if (p > 0) attn = dropout(attn, p, true, *gen);
    return matmul(attn, v);
}

namespace {
Tensor bool_mask(const Tensor& x) { return gt(x, -0.8); }

}  // namespace

void add_attention(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // Inputs: q, k, v[, mask].
    // clang-format off
    CaseList c(list, "attention");
    const auto sdpa = [](const T& x) { return scaled_dot_product_attention(x[0], x[1], x[2]); };
    c.add("sdpa", "scaled_dot_product_attention", {in({2, 3, 5, 4}), in({2, 3, 6, 4}),
          in({2, 3, 6, 3})}, sdpa, kTr)
        .parity({{2, 2, 53, 20}, {2, 2, 70, 20}, {2, 2, 70, 9}})
        .bench_bwd("sdpa_8x6x257x64", {{8, 6, 257, 64}, {8, 6, 257, 64}, {8, 6, 257, 64}})
        .bench_bwd("sdpa_8x12x197x64", {{8, 12, 197, 64}, {8, 12, 197, 64}, {8, 12, 197, 64}})
        .bench_bwd("sdpa_1x6x1025x64", {{1, 6, 1025, 64}, {1, 6, 1025, 64}, {1, 6, 1025, 64}})
        .composed([](const T& x) {
            return attention_composed(x[0], x[1], x[2], std::nullopt, 0, false, std::nullopt,
                                      nullptr);
        });
    c.add("sdpa_mask_bool", "scaled_dot_product_attention", {in({2, 5, 4}), in({2, 7, 4}, kAny, kT),
          in({2, 7, 5}), constant({5, 7})},
          [](const T& x) { return scaled_dot_product_attention(x[0], x[1], x[2],
                                                               bool_mask(x[3])); }, kTr)
        .parity({{3, 49, 17}, {3, 66, 17}, {3, 66, 5}, {49, 66}})
        .composed([](const T& x) {
            return attention_composed(x[0], x[1], x[2], bool_mask(x[3]), 0, false, std::nullopt,
                                      nullptr);
        });
    c.add("sdpa_mask_float", "scaled_dot_product_attention", {in({2, 2, 4, 3}),
          in({2, 2, 5, 3}), in({2, 2, 5, 4}), in({2, 1, 1, 5})},
          [](const T& x) { return scaled_dot_product_attention(x[0], x[1], x[2], x[3]); }, kTr)
        .parity({{2, 3, 50, 8}, {2, 3, 33, 8}, {2, 3, 33, 7}, {2, 1, 1, 33}})
        .composed([](const T& x) {
            return attention_composed(x[0], x[1], x[2], x[3], 0, false, std::nullopt, nullptr);
        });
    c.add("sdpa_causal", "scaled_dot_product_attention", {in({2, 5, 4}, kAny, kS),
          in({2, 7, 4}), in({2, 7, 4})},
          [](const T& x) {
              return scaled_dot_product_attention(x[0], x[1], x[2], std::nullopt, 0, true);
          }, kTr)
        .parity({{2, 65, 12}, {2, 70, 12}, {2, 70, 12}})
        .composed([](const T& x) {
            return attention_composed(x[0], x[1], x[2], std::nullopt, 0, true, std::nullopt,
                                      nullptr);
        });
    c.add("sdpa_dropout", "scaled_dot_product_attention", {in({2, 2, 5, 4}), in({2, 2, 6, 4}),
          in({2, 2, 6, 4})},
          [](const T& x) {
              Generator gen(kDropSeed);
              return scaled_dot_product_attention(x[0], x[1], x[2], std::nullopt, kDropP, false,
                                                  std::nullopt, gen);
          }, kTr)
        .parity({{2, 2, 37, 8}, {2, 2, 41, 8}, {2, 2, 41, 8}})
        .composed([](const T& x) {
            Generator gen(kDropSeed);
            return attention_composed(x[0], x[1], x[2], std::nullopt, kDropP, false,
                                      std::nullopt, &gen);
        });
    c.add("sdpa_broadcast_scale", "scaled_dot_product_attention", {in({2, 3, 4, 5}),
          in({3, 6, 5}), in({1, 3, 6, 2})},
          [](const T& x) {
              return scaled_dot_product_attention(x[0], x[1], x[2], std::nullopt, 0, false, 0.5);
          }, kTr)
        .parity({{2, 3, 35, 5}, {3, 40, 5}, {1, 3, 40, 2}})
        .composed([](const T& x) {
            return attention_composed(x[0], x[1], x[2], std::nullopt, 0, false, 0.5, nullptr);
        });
    // clang-format on
}

}  // namespace marrow::test::cases
