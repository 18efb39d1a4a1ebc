// Strided geometry passed by value to elementwise kernels: up to kMaxDims coalesced dims and
// the element strides of N operands. offsets() turns a linear index into per-operand element
// offsets (row-major over `shape`).
#pragma once
#include <cstdint>

#include "tensor/coalesce.h"
#include "tensor/error.h"
#include "tensor/math/host_device.h"
#include "tensor/tensor.h"

namespace marrow::cuda {

inline constexpr int kMaxDims = 8;

template <int N>
struct Geometry {
    int ndim = 0;
    int64_t shape[kMaxDims] = {};
    int64_t strides[N][kMaxDims] = {};
    bool contiguous = true;  // every operand is one unit-stride run

    MARROW_HOST_DEVICE void offsets(int64_t i, int64_t (&off)[N]) const {
        for (int k = 0; k < N; ++k) off[k] = 0;
        for (int d = ndim - 1; d >= 0; --d) {
            int64_t idx = i % shape[d];
            i /= shape[d];
            for (int k = 0; k < N; ++k) off[k] += idx * strides[k][d];
        }
    }
};

// The geometry of operands that all have out's shape (already broadcast views).
template <int N>
Geometry<N> make_geometry(const std::array<const Tensor*, N>& ts) {
    std::array<Shape, N> strides;
    for (int k = 0; k < N; ++k) strides[size_t(k)] = ts[size_t(k)]->strides();
    Runs<N> r = coalesce<N>(ts[0]->shape(), strides);
    MARROW_CHECK(int(r.shape.size()) <= kMaxDims,
                 "CUDA elementwise: {} dims after coalescing (shape {}), at most {} supported",
                 r.shape.size(), ts[0]->shape(), kMaxDims);
    Geometry<N> g;
    g.ndim = int(r.shape.size());
    for (int d = 0; d < g.ndim; ++d) {
        g.shape[d] = r.shape[size_t(d)];
        for (int k = 0; k < N; ++k) g.strides[k][d] = r.strides[size_t(k)][size_t(d)];
    }
    for (int k = 0; k < N; ++k)
        g.contiguous = g.contiguous && (g.ndim == 0 || (g.ndim == 1 && g.strides[k][0] == 1));
    return g;
}

}  // namespace marrow::cuda
