// Binary elementwise cases and comparisons. Parity tier: 4109 elements as for unary ops
// (tensor-tensor with a float4 tail), and broadcasts whose rows cross a 256-thread block.
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

void add_binary(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // clang-format off
    CaseList c(list, "binary");
    const std::vector<Shape> edge = {{7, 587}};
    const std::vector<Shape> edge2 = {{7, 587}, {7, 587}};
    c.add("add", "add", {in({3, 4}), in({3, 4}, kAny, kT)}, [](const T& x) { return x[0] + x[1]; },
          kEw)
        .parity(edge2)
        .bench("add_4M", {{k4M}, {k4M}});
    c.add("add_broadcast", "add", {in({3, 1, 4}), in({5, 4})},
          [](const T& x) { return x[0] + x[1]; }, kEw)
        .parity({{3, 1, 100}, {5, 100}})  // 1500 outputs; gradients reduce over broadcast dims
        .bench("add_bcast_2048x2048", {{2048, 2048}, {2048}});
    c.add("add_scalar", "add", {in({3, 4})}, [](const T& x) { return x[0] + 2.5; }, kEw)
        .parity(edge);
    c.add("sub_broadcast", "sub", {in({4}), in({3, 4}, kAny, kS)},
          [](const T& x) { return x[0] - x[1]; }, kEw)
        .parity({{587}, {7, 587}});
    c.add("rsub_scalar", "sub", {in({3, 4})}, [](const T& x) { return 2.0 - x[0]; }, kEw)
        .parity(edge);
    c.add("mul", "mul", {in({3, 4}, kAny, kS), in({3, 4}, kAny, kT)},
          [](const T& x) { return x[0] * x[1]; }, kEw)
        .parity(edge2)
        .bench("mul_4M", {{k4M}, {k4M}});
    c.add("mul_broadcast", "mul", {in({2, 3, 1}), in({1, 4})},
          [](const T& x) { return x[0] * x[1]; }, kEw)
        .parity({{2, 30, 1}, {1, 300}});
    c.add("div", "div", {in({3, 4}), in({3, 4}, kPos)}, [](const T& x) { return x[0] / x[1]; },
          kEw)
        .parity(edge2);
    c.add("div_broadcast", "div", {in({3, 4}), in({4}, kPos)},
          [](const T& x) { return x[0] / x[1]; }, kEw)
        .parity({{7, 587}, {587}});
    c.add("rdiv_scalar", "div", {in({3, 4}, kPos)}, [](const T& x) { return 2.0 / x[0]; }, kEw)
        .parity(edge);
    c.add("pow_tensor", "pow", {in({3, 4}, kPos), in({3, 4})},
          [](const T& x) { return pow(x[0], x[1]); }, kTr)
        .parity(edge2);
    c.add("maximum", "maximum", {in({3, 4}), in({4})},
          [](const T& x) { return maximum(x[0], x[1]); }, kEw)
        .parity({{7, 587}, {587}});
    c.add("minimum", "minimum", {in({3, 4}, kAny, kT), in({3, 4})},
          [](const T& x) { return minimum(x[0], x[1]); }, kEw)
        .parity(edge2);
    c.add("where", "where", {constant({3, 4}), in({3, 4}), in({4})},
          [](const T& x) { return where(gt(x[0], 0.0), x[1], x[2]); }, kEw)
        .parity({{7, 587}, {7, 587}, {587}});
    c.add("masked_fill", "masked_fill", {in({3, 4}), constant({3, 4})},
          [](const T& x) { return masked_fill(x[0], gt(x[1], 0.0), -1.5); }, kEw)
        .parity(edge2);
    // comparisons (forward only)
    c.add("lt", "lt", {in({3, 4}), in({3, 4})}, [](const T& x) { return lt(x[0], x[1]); }, kExact,
          false)
        .parity(edge2);
    c.add("le", "le", {in({3, 4}), in({4})}, [](const T& x) { return le(x[0], x[1]); }, kExact,
          false);
    c.add("gt", "gt", {in({3, 4})}, [](const T& x) { return gt(x[0], 0.25); }, kExact, false);
    c.add("ge", "ge", {in({3, 4}), in({3, 4})}, [](const T& x) { return ge(x[0], x[1]); }, kExact,
          false);
    c.add("ne", "ne", {in({3, 4}), in({3, 4})}, [](const T& x) { return ne(x[0], x[1]); }, kExact,
          false);
    c.add("eq", "eq", {in({3, 4})}, [](const T& x) { return eq(x[0], x[0] * 1.0); }, kExact,
          false);
    // clang-format on
}

}  // namespace marrow::test::cases
