// Strided elementwise iteration for CPU kernels. N operands share one (already broadcast)
// shape; dims that are contiguous across all operands are merged, so a contiguous tensor is
// one long run and the body's inner loop sees unit strides it can vectorize. Runs are split
// across OpenMP threads once there are at least kParallelGrain elements.
#pragma once
#include <omp.h>

#include <array>
#include <cstdint>

#include "tensor/coalesce.h"

namespace marrow::cpu {

using marrow::coalesce;
using marrow::Runs;

inline constexpr int64_t kParallelGrain = 32768;

// Calls body(offset, step, n) for runs covering every element: offset[k] is the element offset
// of operand k at the run's start, step[k] its stride along the run, n the run length.
template <size_t N, typename Body>
void for_each_run(const Shape& shape, const std::array<Shape, N>& strides, Body&& body) {
    int64_t total = shape_numel(shape);
    if (total == 0) return;
    Runs<N> r = coalesce<N>(shape, strides);
    std::array<int64_t, N> step{};
    if (r.shape.empty()) {
        body(std::array<int64_t, N>{}, step, int64_t(1));
        return;
    }
    int64_t inner = r.shape.back();
    int64_t rows = total / inner;
    for (size_t k = 0; k < N; ++k) step[k] = r.strides[k].back();
    // Few long rows: cut them into chunks so both threads get work.
    int64_t chunk = inner;
    if (total >= kParallelGrain && rows < 4 * omp_get_max_threads())
        chunk = std::max<int64_t>(4096, (inner + 7) / 8);
    int64_t chunks_per_row = (inner + chunk - 1) / chunk;
    int64_t items = rows * chunks_per_row;
    int64_t outer_dims = int64_t(r.shape.size()) - 1;
#pragma omp parallel for schedule(static) if (total >= kParallelGrain)
    for (int64_t item = 0; item < items; ++item) {
        int64_t row = item / chunks_per_row, c = item % chunks_per_row;
        std::array<int64_t, N> offset{};
        int64_t rem = row;
        for (int64_t d = outer_dims - 1; d >= 0; --d) {
            int64_t idx = rem % r.shape[size_t(d)];
            rem /= r.shape[size_t(d)];
            for (size_t k = 0; k < N; ++k) offset[k] += idx * r.strides[k][size_t(d)];
        }
        for (size_t k = 0; k < N; ++k) offset[k] += c * chunk * step[k];
        body(offset, step, std::min(chunk, inner - c * chunk));
    }
}

}  // namespace marrow::cpu
