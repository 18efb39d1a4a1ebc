// The softmax family, fused kernels each with a composed twin. Parity tier: rows of 1031
// (past a 256-thread block's four strides) and, for log_softmax over a middle dim, the
// one-thread-per-column path with D = 1031.
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

namespace {

// Composed references. Shifting by the detached max changes no value and no gradient (the
// shift cancels between numerator and denominator), it only keeps exp from overflowing.
Tensor softmax_composed(const Tensor& x, int64_t dim) {
    Tensor e = exp(x - detach(max(x, dim, true).first));
    return e / sum(e, {dim}, true);
}

Tensor log_softmax_composed(const Tensor& x, int64_t dim) {
    Tensor s = x - detach(max(x, dim, true).first);
    return s - log(sum(exp(s), {dim}, true));
}

}  // namespace

void add_softmax(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // clang-format off
    CaseList c(list, "softmax");
    c.add("softmax", "softmax", {in({3, 5})}, [](const T& x) { return softmax(x[0], -1); }, kTr)
        .parity({{5, 1031}})
        .bench_bwd("softmax_4096x1024", {{4096, 1024}})
        .composed([](const T& x) { return softmax_composed(x[0], -1); });
    c.add("softmax_dim0", "softmax", {in({4, 3}, kAny, kT)},
          [](const T& x) { return softmax(x[0], 0); }, kTr)
        .parity({{1031, 5}});
    c.add("log_softmax", "log_softmax", {in({2, 4, 3})},
          [](const T& x) { return log_softmax(x[0], 1); }, kTr)
        .parity({{2, 1031, 3}})
        .bench("log_softmax_4096x1024", {{4096, 1024}})
        .composed([](const T& x) { return log_softmax_composed(x[0], 1); });
    // clang-format on
}

}  // namespace marrow::test::cases
