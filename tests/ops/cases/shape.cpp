// Shape ops: views and the copies behind them. Parity tier only where a copy kernel runs on
// a few thousand elements (contiguous of a transposed view, cat, stack, pad, flip).
#include "tensor/ops/view.h"
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

void add_shape(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // clang-format off
    CaseList c(list, "shape");
    c.add("reshape_copy", "reshape", {in({3, 4}, kAny, kT)},
          [](const T& x) { return reshape(x[0], {2, 6}); }, kExact);
    c.add("view", "view", {in({3, 4})}, [](const T& x) { return view(x[0], {4, -1}); }, kExact);
    c.add("flatten", "flatten", {in({2, 3, 4})}, [](const T& x) { return flatten(x[0], 1); },
          kExact);
    c.add("squeeze", "squeeze", {in({3, 1, 4})}, [](const T& x) { return squeeze(x[0], 1); },
          kExact);
    c.add("unsqueeze", "unsqueeze", {in({3, 4})}, [](const T& x) { return unsqueeze(x[0], -1); },
          kExact);
    c.add("expand", "expand", {in({3, 1})}, [](const T& x) { return expand(x[0], {2, 3, 4}); },
          kRed);
    c.add("permute", "permute", {in({2, 3, 4})},
          [](const T& x) { return permute(x[0], {2, 0, 1}); }, kExact);
    c.add("transpose", "transpose", {in({2, 3, 4})},
          [](const T& x) { return transpose(x[0], 0, 2); }, kExact);
    c.add("narrow", "narrow", {in({3, 5})}, [](const T& x) { return narrow(x[0], 1, 1, 3); },
          kExact);
    c.add("slice_step", "slice", {in({3, 8})}, [](const T& x) { return slice(x[0], 1, 1, 7, 2); },
          kExact)
        .parity({{7, 587}});
    c.add("chunk", "chunk", {in({3, 7})}, [](const T& x) { return chunk(x[0], 3, 1)[1]; }, kExact);
    c.add("split_sizes", "split", {in({5, 3})},
          [](const T& x) { return split(x[0], {1, 3, 1}, 0)[1]; }, kExact);
    c.add("cat", "cat", {in({3, 2}), in({3, 4}, kAny, kT), in({3, 1})},
          [](const T& x) { return cat({x[0], x[1], x[2]}, 1); }, kExact)
        .parity({{7, 300}, {7, 587}, {7, 1}});
    c.add("stack", "stack", {in({3, 4}), in({3, 4})},
          [](const T& x) { return stack({x[0], x[1]}, 1); }, kExact)
        .parity({{7, 587}, {7, 587}});
    c.add("pad_constant", "pad", {in({3, 4})},
          [](const T& x) { return pad(x[0], {1, 2, 0, 1}, "constant", 0.5); }, kExact)
        .parity({{7, 587}});
    c.add("pad_reflect", "pad", {in({2, 3, 5})},
          [](const T& x) { return pad(x[0], {2, 1, 1, 1}, "reflect"); }, kRed)
        .parity({{2, 7, 587}});
    c.add("flip", "flip", {in({2, 3, 4})}, [](const T& x) { return flip(x[0], {0, 2}); }, kExact)
        .parity({{2, 7, 587}});
    c.add("clone", "clone", {in({3, 4}, kAny, kT)}, [](const T& x) { return clone(x[0]); }, kExact)
        .parity({{7, 587}});
    c.add("contiguous", "contiguous", {in({3, 4}, kAny, kT)},
          [](const T& x) { return contiguous(x[0]); }, kExact)
        .parity({{7, 587}});
    // clang-format on
}

}  // namespace marrow::test::cases
