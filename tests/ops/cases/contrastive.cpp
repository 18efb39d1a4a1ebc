// The contrastive family: nt_xent (SimCLR's NT-Xent) and koleo_loss (DINOv2's KoLeo), fused
// (Note [Contrastive losses], tensor/cpu/contrastive.cpp), each with its composed twin from
// differentiable ops, the reference and gradient oracle:
//   nt_xent     normalize -> mm -> / tau -> masked_fill(diagonal, -inf) -> log_softmax ->
//               gather at the positives -> -mean (F.cross_entropy's mean)
//   koleo_loss  normalize -> argmax of the detached Gram matrix with its diagonal -1 ->
//               index_select -> norm(xh - xh[nn] + 1e-8) -> -mean(log(d + eps))
// Cases: tau 0.5 and 0.1 (the ImageNet default; a strided z, copied for the kernels), N = 1
// (the loss is 0 for any z), a transposed KoLeo input and a large eps. Parity tier: 2N = 260
// and B = 261 rows (past the CUDA row blocks' 256 threads), widths 40 and 37 (not multiples of
// 16; the GEMM's 64-wide tiles). Bench: SimCLR's 2N = 512 x 128 projections, DINOv2 ViT-S's
// B = 128 x 384 class tokens, forward and forward+backward.
#include <limits>

#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

namespace {

// The bool (n, n) identity on x's device.
Tensor diagonal_mask(const Tensor& x, int64_t n) { return eq(eye(n, x.dtype(), x.device()), 1.0); }

Tensor nt_xent_composed(const Tensor& z, double tau) {
    int64_t m = z.size(0);
    Tensor zn = normalize(z, 2, 1, 1e-12);
    Tensor s = masked_fill(mm(zn, transpose(zn, 0, 1)) / tau, diagonal_mask(z, m),
                           -std::numeric_limits<double>::infinity());
    std::vector<int64_t> positive;
    for (int64_t i = 0; i < m; ++i) positive.push_back((i + m / 2) % m);
    Tensor target = to(from_vector(positive, {m, 1}), z.device());
    return -mean(gather(log_softmax(s, 1), 1, target));
}

Tensor koleo_composed(const Tensor& x, double eps) {
    int64_t b = x.size(0);
    Tensor xh = normalize(x, 2, 1, eps);
    Tensor frozen = detach(xh);
    Tensor dots = masked_fill(mm(frozen, transpose(frozen, 0, 1)), diagonal_mask(x, b), -1.0);
    Tensor nn = argmax(dots, 1);
    Tensor d = norm(xh - index_select(xh, 0, nn) + 1e-8, 2, {1});
    return -mean(log(d + eps));
}

}  // namespace

void add_contrastive(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // clang-format off
    CaseList c(list, "contrastive");
    c.add("nt_xent", "nt_xent", {in({8, 5})}, [](const T& x) { return nt_xent(x[0], 0.5); }, kTr)
        .parity({{260, 40}})
        .bench_bwd("nt_xent_2n512_d128", {{512, 128}})
        .composed([](const T& x) { return nt_xent_composed(x[0], 0.5); });
    c.add("nt_xent_tau01_strided", "nt_xent", {in({6, 7}, kAny, kS)},
          [](const T& x) { return nt_xent(x[0], 0.1); }, kTr)
        .parity({{130, 70}})
        .composed([](const T& x) { return nt_xent_composed(x[0], 0.1); });
    // N = 1: one positive, no negatives: the loss is 0 whatever z is
    c.add("nt_xent_n1", "nt_xent", {in({2, 3})}, [](const T& x) { return nt_xent(x[0], 1.0); }, kTr);
    c.add("koleo_loss", "koleo_loss", {in({6, 5})}, [](const T& x) { return koleo_loss(x[0]); }, kTr)
        .parity({{261, 37}})
        .bench_bwd("koleo_b128_d384", {{128, 384}})
        .composed([](const T& x) { return koleo_composed(x[0], 1e-8); });
    c.add("koleo_loss_transposed_eps", "koleo_loss", {in({7, 4}, kAny, kT)},
          [](const T& x) { return koleo_loss(x[0], 1e-3); }, kTr)
        .parity({{40, 300}})
        .composed([](const T& x) { return koleo_composed(x[0], 1e-3); });
    // clang-format on
}

}  // namespace marrow::test::cases
