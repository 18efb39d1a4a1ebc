// Indexing, sorting and one_hot. Parity tier: index ranges keep their small-tier bounds, so
// gradients of index_select, gather and embedding accumulate many duplicates; sorts run on
// rows of 70, just past the 64 where the CUDA sort moves from a thread per row to a block per
// row (k block-wide steps, slow on the simulator), and topk (k = 2) on rows of 1031.
#include "tests/ops/cases/cases.h"

namespace marrow::test::cases {

void add_index(std::vector<OpCase>& list) {
    // One case per statement, its tiers chained under it (clang-format would split them).
    // clang-format off
    CaseList c(list, "index");
    c.add("index_select", "index_select", {in({3, 5}), index({6}, 5)},
          [](const T& x) { return index_select(x[0], 1, x[1]); }, kExact)
        .parity({{5, 1031}, {300}});
    c.add("gather", "gather", {in({3, 5}), index({3, 4}, 5)},
          [](const T& x) { return gather(x[0], 1, x[1]); }, kExact)
        .parity({{7, 587}, {7, 300}});
    c.add("scatter_add", "scatter_add", {in({4, 3}), index({5, 3}, 4), in({5, 3})},
          [](const T& x) { return scatter_add(x[0], 0, x[1], x[2]); }, kRed)
        .parity({{4, 587}, {9, 587}, {9, 587}});
    c.add("embedding", "embedding", {in({10, 3}), index({2, 4}, 10)},
          [](const T& x) { return embedding(x[0], x[1]); }, kExact)
        .parity({{10, 300}, {7, 40}});
    c.add("topk", "topk", {in({3, 6})}, [](const T& x) { return topk(x[0], 2, 1).first; }, kExact)
        .parity({{5, 1031}});
    c.add("topk_indices", "topk", {in({3, 6})},
          [](const T& x) { return topk(x[0], 3, 0, false).second; }, kExact, false)
        .parity({{150, 5}});
    c.add("sort", "sort", {in({4, 3}, kAny, kT)},
          [](const T& x) { return sort(x[0], 0, true).first; }, kExact)
        .parity({{70, 3}});
    c.add("sort_indices", "sort", {in({3, 5})}, [](const T& x) { return sort(x[0], 1).second; },
          kExact, false)
        .parity({{3, 70}});
    c.add("one_hot", "one_hot", {index({5}, 4)}, [](const T& x) { return one_hot(x[0], 6); },
          kExact, false)
        .parity({{1031}});
    // clang-format on
}

}  // namespace marrow::test::cases
