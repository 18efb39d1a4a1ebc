// sinkhorn_knopp (forward only: a constant target). SwAV's eps 0.05 with 3 iterations, one
// iteration at eps 1, and DINOv2's teacher (eps = teacher temperature 0.07) on logits.
// Parity tier: 257 samples x 300 prototypes (the prototype kernel's grid-stride loop and a
// sample block's strided loop with a tail) and rows of 1031 (past a 512-thread block). Bench
// tier: SwAV's B = 256, K = 300 (3 iterations, eps 0.05), with cosine-like and wide scores. The
// PyTorch twins transcribe distributed_sinkhorn (facebookresearch/swav main_swav.py) at world size
// 1, in plain exp.
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

void add_sinkhorn(std::vector<OpCase>& list) {
    // clang-format off
    CaseList c(list, "sinkhorn");
    // N(0, 1) scores at eps 0.05 span ~160 / prototype: the CPU's log-domain path (version 1)
    c.add("sinkhorn_knopp", "sinkhorn_knopp", {in({6, 4})},
          [](const T& x) { return sinkhorn_knopp(x[0], 0.05, 3); }, kRed, false)
        .parity({{257, 300}})
        .bench("sinkhorn_b256_k300_wide", {{256, 300}});
    // scores in [0.5, 2] (a span of 1.5, like SwAV's cosine scores in [-1, 1]) at eps 0.05:
    // the CPU's linear-domain path (version 2)
    c.add("sinkhorn_knopp_swav", "sinkhorn_knopp", {in({6, 4}, kPos)},
          [](const T& x) { return sinkhorn_knopp(x[0], 0.05, 3); }, kRed, false)
        .parity({{257, 300}})
        .bench("sinkhorn_b256_k300", {{256, 300}});
    c.add("sinkhorn_knopp_eps1_iters1", "sinkhorn_knopp", {in({5, 3}, kAny, kT)},
          [](const T& x) { return sinkhorn_knopp(x[0], 1.0, 1); }, kRed, false)
        .parity({{3, 1031}});
    c.add("sinkhorn_knopp_teacher", "sinkhorn_knopp", {in({8, 16})},
          [](const T& x) { return sinkhorn_knopp(x[0], 0.07, 3); }, kRed, false)
        .parity({{64, 70}});
    // clang-format on
}

}  // namespace marrow::test::cases
