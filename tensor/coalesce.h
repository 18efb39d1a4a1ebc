// Dim coalescing shared by the CPU loops and the CUDA elementwise kernels: N operands of one
// (already broadcast) shape; size-1 dims are dropped and neighbouring dims merged whenever
// they are contiguous with each other in every operand, so a contiguous tensor is one run.
#pragma once
#include <array>
#include <cstdint>

#include "tensor/shape.h"

namespace marrow {

template <size_t N>
struct Runs {
    Shape shape;                   // coalesced; empty means a single element
    std::array<Shape, N> strides;  // per operand, same rank as shape
};

template <size_t N>
Runs<N> coalesce(const Shape& shape, const std::array<Shape, N>& strides) {
    Runs<N> r;
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == 1) continue;  // size-1 dims never move the pointer
        bool merge = !r.shape.empty();
        for (size_t k = 0; k < N && merge; ++k)
            merge = r.strides[k].back() == strides[k][d] * shape[d];
        if (merge) {
            r.shape.back() *= shape[d];
            for (size_t k = 0; k < N; ++k) r.strides[k].back() = strides[k][d];
        } else {
            r.shape.push_back(shape[d]);
            for (size_t k = 0; k < N; ++k) r.strides[k].push_back(strides[k][d]);
        }
    }
    return r;
}

}  // namespace marrow
