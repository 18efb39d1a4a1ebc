// Reductions and scans. Parity tier: rows of 1031 (past four strides of a 256-thread block per
// row) and 1031 columns (past four 256-thread blocks of the one-thread-per-column path).
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

void add_reduce(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // clang-format off
    CaseList c(list, "reduce");
    const std::vector<Shape> flat = {{7, 587}};
    const std::vector<Shape> rows = {{5, 1031}};  // reduce dim 1: long rows
    const std::vector<Shape> cols = {{1031, 5}};  // reduce dim 0: long columns
    const std::vector<Shape> cube = {{3, 7, 587}};
    c.add("sum_all", "sum", {in({3, 4})}, [](const T& x) { return sum(x[0]); }, kRed)
        .parity(flat)
        .bench("sum_all_4M", {{k4M}});
    c.add("sum_dims", "sum", {in({2, 3, 4}, kAny, kT)},
          [](const T& x) { return sum(x[0], {0, 2}, true); }, kRed)
        .parity(cube);
    c.add("sum_dim1", "sum", {in({3, 4})}, [](const T& x) { return sum(x[0], {1}); }, kRed)
        .parity(rows)
        .bench("sum_dim1_2048x2048", {{2048, 2048}});
    c.add("sum_dim0", "sum", {in({3, 4})}, [](const T& x) { return sum(x[0], {0}); }, kRed)
        .parity({{5, 1031}})  // 1031 columns
        .bench("sum_dim0_2048x2048", {{2048, 2048}});
    c.add("mean_dim", "mean", {in({3, 4})}, [](const T& x) { return mean(x[0], {1}); }, kRed)
        .parity(rows);
    c.add("var_dim", "var", {in({3, 5})}, [](const T& x) { return var(x[0], {1}); }, kRed)
        .parity(rows);
    c.add("var_biased", "var", {in({2, 3, 4}, kAny, kS)},
          [](const T& x) { return var(x[0], {0, 2}, false, true); }, kRed)
        .parity(cube);
    c.add("std_all", "std", {in({3, 4})}, [](const T& x) { return marrow::std(x[0]); }, kRed)
        .parity(flat);
    c.add("std_dim", "std", {in({4, 3})},
          [](const T& x) { return marrow::std(x[0], {0}, false); }, kRed)
        .parity(cols);
    c.add("max_all", "max", {in({3, 4})}, [](const T& x) { return max(x[0]); }, kExact)
        .parity(flat);
    c.add("max_dim", "max", {in({3, 4}, kAny, kT)}, [](const T& x) { return max(x[0], 1).first; },
          kExact)
        .parity(rows)
        .bench("max_dim1_2048x2048", {{2048, 2048}});
    c.add("min_dim", "min", {in({3, 4})}, [](const T& x) { return min(x[0], 0, true).first; },
          kExact)
        .parity(cols);
    c.add("min_all", "min", {in({3, 4})}, [](const T& x) { return min(x[0]); }, kExact)
        .parity(flat);
    c.add("argmax", "argmax", {in({3, 4})}, [](const T& x) { return argmax(x[0], 1); }, kExact,
          false)
        .parity(rows);
    c.add("argmin_all", "argmin", {in({3, 4})}, [](const T& x) { return argmin(x[0]); }, kExact,
          false)
        .parity(flat);
    // logsumexp is fused (one pass for the max, one for the sum); its composed twin shifts by
    // the detached row max, which changes no value or gradient: d/dm [m + log sum e^(x-m)] = 0.
    c.add("logsumexp", "logsumexp", {in({3, 4})}, [](const T& x) { return logsumexp(x[0], {1}); },
          kTr)
        .parity(rows)
        .bench("logsumexp_dim1_2048x2048", {{2048, 2048}})
        .composed([](const T& x) {
            Tensor m = detach(max(x[0], 1, true).first);  // (N, 1)
            return squeeze(m, 1) + log(sum(exp(x[0] - m), {1}));
        });
    c.add("norm2", "norm", {in({3, 4})}, [](const T& x) { return norm(x[0], 2, {1}); }, kRed)
        .parity(rows);
    c.add("norm1", "norm", {in({3, 4}, kNZ)}, [](const T& x) { return norm(x[0], 1); }, kRed)
        .parity(flat);
    c.add("norm3", "norm", {in({3, 4}, kNZ)}, [](const T& x) { return norm(x[0], 3, {0}, true); },
          kTr)
        .parity(cols);
    c.add("all", "all", {in({3, 4})}, [](const T& x) { return all(gt(x[0], -1.0), {1}); }, kExact,
          false)
        .parity(rows);
    c.add("any", "any", {in({3, 4})}, [](const T& x) { return any(gt(x[0], 1.0), {0}); }, kExact,
          false)
        .parity(cols);
    c.add("cumsum", "cumsum", {in({3, 4})}, [](const T& x) { return cumsum(x[0], 1); }, kRed)
        .parity(rows);
    c.add("cumsum_dim0", "cumsum", {in({3, 4}, kAny, kT)},
          [](const T& x) { return cumsum(x[0], 0); }, kRed)
        .parity(cols);
    // clang-format on
}

}  // namespace marrow::test::cases
