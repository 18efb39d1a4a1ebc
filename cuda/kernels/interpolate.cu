// CUDA interpolate (nearest, linear, bilinear, bicubic) over (planes, H, W), taps and weights
// from tensor/math/interpolate_math.h (shared with the CPU kernels):
//   forward:  one thread per output element sums its row taps of its column taps, in the CPU
//             reference's order (columns innermost, then rows).
//   backward: gather form, one thread per input element: the outputs reading it along each
//             axis form an interval (interp::outputs_reading, two binary searches over the
//             monotone taps), and the thread sums g[oh, ow] wy(oh, ih) wx(ow, iw) over the
//             product of the two intervals in increasing output order. Deterministic and free
//             of atomics (each gradient element has one writer); the order differs from the
//             CPU's separable scatter, so parity is within the reduction tolerance.
#include "cuda/cuda_kernels.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"
#include "tensor/math/accumulate.h"
#include "tensor/math/interpolate_math.h"

namespace marrow::cuda {
namespace {

template <typename T>
__global__ void interpolate_kernel(InterpolateParams p, const T* x, T* out, int64_t total) {
    using A = acc_t<T>;
    const A ry = interp::axis_ratio<A>(p.h, p.align_corners);
    const A rx = interp::axis_ratio<A>(p.w, p.align_corners);
    const int64_t out_plane = p.h.out * p.w.out;
    MARROW_GRID_STRIDE(e, total) {
        int64_t c = e / out_plane, o = e % out_plane;
        interp::Taps<A> ty = interp::axis_taps<A>(p.mode, p.align_corners, p.h, ry, o / p.w.out);
        interp::Taps<A> tx = interp::axis_taps<A>(p.mode, p.align_corners, p.w, rx, o % p.w.out);
        const T* plane = x + c * p.h.in * p.w.in;
        A acc = A(0);
        for (int i = 0; i < ty.n; ++i) {
            const T* row = plane + ty.idx[i] * p.w.in;
            A t = A(row[tx.idx[0]]) * tx.w[0];
            for (int j = 1; j < tx.n; ++j) t += A(row[tx.idx[j]]) * tx.w[j];
            acc = i == 0 ? t * ty.w[0] : acc + t * ty.w[i];
        }
        out[e] = T(acc);
    }
}

template <typename T>
__global__ void interpolate_backward_kernel(InterpolateParams p, const T* g, T* gx, int64_t total) {
    using A = acc_t<T>;
    const A ry = interp::axis_ratio<A>(p.h, p.align_corners);
    const A rx = interp::axis_ratio<A>(p.w, p.align_corners);
    const int64_t in_plane = p.h.in * p.w.in, out_plane = p.h.out * p.w.out;
    MARROW_GRID_STRIDE(e, total) {
        int64_t c = e / in_plane, at = e % in_plane;
        int64_t ih = at / p.w.in, iw = at % p.w.in;
        interp::Range rows = interp::outputs_reading<A>(p.mode, p.align_corners, p.h, ry, ih);
        interp::Range cols = interp::outputs_reading<A>(p.mode, p.align_corners, p.w, rx, iw);
        const T* gp = g + c * out_plane;
        A acc = A(0);
        for (int64_t oh = rows.lo; oh < rows.hi; ++oh) {
            A wy =
                interp::weight_at(interp::axis_taps<A>(p.mode, p.align_corners, p.h, ry, oh), ih);
            A row = A(0);
            for (int64_t ow = cols.lo; ow < cols.hi; ++ow) {
                A wx = interp::weight_at(interp::axis_taps<A>(p.mode, p.align_corners, p.w, rx, ow),
                                         iw);
                row += wx * A(gp[oh * p.w.out + ow]);
            }
            acc += wy * row;
        }
        gx[e] = T(acc);
    }
}

}  // namespace

void interpolate(const InterpolateParams& p, const Tensor& x, const Tensor& out) {
    int64_t total = out.numel();
    if (total == 0) return;
    visit_float(x.dtype(), "interpolate", [&]<typename T>() {
        auto* interpolate_k = &interpolate_kernel<T>;
        MARROW_LAUNCH(interpolate_k, blocks_for(total), kThreads, 0, p, x.data_ptr<T>(),
                      out.data_ptr<T>(), total);
    });
}

void interpolate_backward(const InterpolateParams& p, const Tensor& g, const Tensor& gx) {
    int64_t total = gx.numel();
    if (total == 0) return;
    visit_float(g.dtype(), "interpolate_backward", [&]<typename T>() {
        auto* interpolate_backward_k = &interpolate_backward_kernel<T>;
        MARROW_LAUNCH(interpolate_backward_k, blocks_for(total), kThreads, 0, p, g.data_ptr<T>(),
                      gx.data_ptr<T>(), total);
    });
}

}  // namespace marrow::cuda
