// The readable interpolate loops, one (H, W) plane at a time: the oracle the CPU kernel's
// separable fast path (tensor/cpu/interpolate.cpp) is tested against
// (tests/ops/test_interpolate.cpp). Taps and weights come from tensor/math/interpolate_math.h,
// shared with CUDA.
#pragma once
#include <cstdint>

#include "tensor/math/accumulate.h"
#include "tensor/math/interpolate_math.h"

namespace marrow::cpu {

// x: (h.in, w.in) -> out: (h.out, w.out). Each output sums its row taps i of its column taps
// j, columns innermost, as PyTorch's upsample kernels:
//   out[oh, ow] = sum_i wy_i (sum_j wx_j x[y_i, x_j]).
template <typename T>
void interpolate_plane_reference(const InterpolateParams& p, const T* x, T* out) {
    using A = acc_t<T>;
    A ry = interp::axis_ratio<A>(p.h, p.align_corners);
    A rx = interp::axis_ratio<A>(p.w, p.align_corners);
    for (int64_t oh = 0; oh < p.h.out; ++oh) {
        interp::Taps<A> ty = interp::axis_taps<A>(p.mode, p.align_corners, p.h, ry, oh);
        for (int64_t ow = 0; ow < p.w.out; ++ow) {
            interp::Taps<A> tx = interp::axis_taps<A>(p.mode, p.align_corners, p.w, rx, ow);
            A acc = A(0);
            for (int i = 0; i < ty.n; ++i) {
                const T* row = x + ty.idx[i] * p.w.in;
                A t = A(row[tx.idx[0]]) * tx.w[0];
                for (int j = 1; j < tx.n; ++j) t += A(row[tx.idx[j]]) * tx.w[j];
                acc = i == 0 ? t * ty.w[0] : acc + t * ty.w[i];
            }
            out[oh * p.w.out + ow] = T(acc);
        }
    }
}

// The adjoint: g: (h.out, w.out) -> gx: (h.in, w.in), overwritten. Forward is linear in x,
// out = Wy x Wx^T with the tap-weight matrices Wy (h.out, h.in) and Wx (w.out, w.in), so
// dL/dx = Wy^T g Wx: every output scatters g[oh, ow] wy_i wx_j back to the input elements it
// read (PyTorch's upsample_*_backward), here in output order (deterministic).
template <typename T>
void interpolate_backward_plane_reference(const InterpolateParams& p, const T* g, T* gx) {
    using A = acc_t<T>;
    int64_t in_plane = p.h.in * p.w.in;
    A ry = interp::axis_ratio<A>(p.h, p.align_corners);
    A rx = interp::axis_ratio<A>(p.w, p.align_corners);
    // Accumulate in A (T is float or double, A the same type): no separate buffer needed.
    for (int64_t i = 0; i < in_plane; ++i) gx[i] = T(0);
    for (int64_t oh = 0; oh < p.h.out; ++oh) {
        interp::Taps<A> ty = interp::axis_taps<A>(p.mode, p.align_corners, p.h, ry, oh);
        for (int64_t ow = 0; ow < p.w.out; ++ow) {
            interp::Taps<A> tx = interp::axis_taps<A>(p.mode, p.align_corners, p.w, rx, ow);
            A v = A(g[oh * p.w.out + ow]);
            for (int i = 0; i < ty.n; ++i)
                for (int j = 0; j < tx.n; ++j)
                    gx[ty.idx[i] * p.w.in + tx.idx[j]] += T(v * ty.w[i] * tx.w[j]);
        }
    }
}

}  // namespace marrow::cpu
