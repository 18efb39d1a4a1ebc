// CUDA pooling (max, avg, adaptive avg over (planes, H, W)) and dropout.
//   forward:  one thread per output element walks its window (tensor/math/pool_math.h, the
//             windows and the NaN rule of the CPU reference, tensor/cpu/pool_reference.h);
//   backward: one thread per input element gathers from the outputs whose windows may hold
//             it (pool::outputs_touching), in increasing output order: deterministic, no
//             atomics, and the same additions in the same order as the CPU's scatter loop,
//             so the same bits. Max pooling adds g where the saved index is this element.
//   dropout:  one thread per Philox block of 4 elements (Note [Philox stream]): the mask
//             depends only on (seed, offset, i), as on the CPU.
#include <limits>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"
#include "tensor/math/accumulate.h"
#include "tensor/math/pool_math.h"
#include "tensor/philox.h"

namespace marrow::cuda {
namespace {

template <typename T>
__global__ void pool2d_kernel(Pool2dParams p, const T* x, T* out, int64_t* indices, int64_t total) {
    using Acc = acc_t<T>;
    int64_t out_plane = p.oh * p.ow;
    MARROW_GRID_STRIDE(i, total) {
        int64_t c = i / out_plane, o = i % out_plane;
        const T* plane = x + c * p.h * p.w;
        pool::Window win = pool::window(p, o / p.ow, o % p.ow);
        if (p.kind == PoolKind::max) {
            Acc best = -std::numeric_limits<Acc>::infinity();
            int64_t at = win.h0 * p.w + win.w0;
            for (int64_t ih = win.h0; ih < win.h1; ih += win.step_h)
                for (int64_t iw = win.w0; iw < win.w1; iw += win.step_w) {
                    Acc v = Acc(plane[ih * p.w + iw]);
                    if (v > best || v != v) {  // NaN wins, a later NaN replaces an earlier one
                        best = v;
                        at = ih * p.w + iw;
                    }
                }
            out[i] = T(best);
            indices[i] = at;
        } else {
            Acc sum = Acc(0);
            for (int64_t ih = win.h0; ih < win.h1; ++ih)
                for (int64_t iw = win.w0; iw < win.w1; ++iw) sum += Acc(plane[ih * p.w + iw]);
            out[i] = T(sum / Acc(win.divisor));
        }
    }
}

template <typename T>
__global__ void pool2d_backward_kernel(Pool2dParams p, const T* g, const int64_t* indices, T* gx,
                                       int64_t total) {
    using Acc = acc_t<T>;
    int64_t in_plane = p.h * p.w, out_plane = p.oh * p.ow;
    MARROW_GRID_STRIDE(i, total) {
        int64_t c = i / in_plane, at = i % in_plane;
        int64_t ih = at / p.w, iw = at % p.w;
        pool::Range rows = pool::outputs_touching(p, true, ih);
        pool::Range cols = pool::outputs_touching(p, false, iw);
        const T* gp = g + c * out_plane;
        Acc acc = Acc(0);
        for (int64_t oh = rows.lo; oh < rows.hi; ++oh)
            for (int64_t ow = cols.lo; ow < cols.hi; ++ow) {
                int64_t o = oh * p.ow + ow;
                if (p.kind == PoolKind::max) {
                    if (indices[c * out_plane + o] == at) acc = acc + Acc(gp[o]);
                } else {
                    pool::Window win = pool::window(p, oh, ow);
                    if (pool::contains(win, ih, iw)) acc = acc + Acc(gp[o]) / Acc(win.divisor);
                }
            }
        gx[i] = T(acc);
    }
}

template <typename T>
__global__ void dropout_kernel(uint64_t seed, uint64_t offset, uint32_t threshold, T scale,
                               const T* x, T* out, int64_t n) {
    int64_t blocks = (n + 3) / 4;
    MARROW_GRID_STRIDE(blk, blocks) {
        philox::Block bits = philox::generate(seed, offset + uint64_t(blk));
        for (int lane = 0; lane < 4 && blk * 4 + lane < n; ++lane) {
            int64_t i = blk * 4 + lane;
            out[i] = x[i] * (bits.v[lane] >= threshold ? scale : T(0));
        }
    }
}

// normalize: one thread per (outer, inner) column walking D, summing in order as the CPU
// kernel does (neighbouring threads read neighbouring addresses when inner > 1).
#define MARROW_COLUMNS(col, outer, inner)                                                       \
    for (int64_t col = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; col < (outer) * (inner); \
         col += int64_t(blockDim.x) * gridDim.x)

template <typename T>
__global__ void normalize_kernel(double p, double eps, const T* x, T* y, int64_t outer, int64_t d,
                                 int64_t inner) {
    using Acc = acc_t<T>;
    MARROW_COLUMNS(col, outer, inner) {
        int64_t base = (col / inner) * d * inner + col % inner;
        Acc sum = Acc(0);
        for (int64_t k = 0; k < d; ++k) sum += pool::norm_term(Acc(x[base + k * inner]), p);
        Acc n = pool::norm_finish(sum, p);
        Acc den = n < Acc(eps) ? Acc(eps) : n;
        for (int64_t k = 0; k < d; ++k) y[base + k * inner] = T(Acc(x[base + k * inner]) / den);
    }
}

template <typename T>
__global__ void normalize_backward_kernel(double p, double eps, const T* x, const T* g, T* gx,
                                          int64_t outer, int64_t d, int64_t inner) {
    using Acc = acc_t<T>;
    MARROW_COLUMNS(col, outer, inner) {
        int64_t base = (col / inner) * d * inner + col % inner;
        Acc sum = Acc(0), dot = Acc(0);
        for (int64_t k = 0; k < d; ++k) {
            Acc v = Acc(x[base + k * inner]);
            sum += pool::norm_term(v, p);
            dot += Acc(g[base + k * inner]) * v;
        }
        Acc n = pool::norm_finish(sum, p);
        for (int64_t k = 0; k < d; ++k) {
            int64_t e = base + k * inner;
            gx[e] = T(pool::normalize_grad(Acc(x[e]), Acc(g[e]), n, dot, p, eps));
        }
    }
}

}  // namespace

void pool2d(const Pool2dParams& p, const Tensor& x, const Tensor& out, const Tensor* indices) {
    int64_t total = out.numel();
    if (total == 0) return;
    visit_float(x.dtype(), "pool2d", [&]<typename T>() {
        auto* pool2d_k = &pool2d_kernel<T>;
        MARROW_LAUNCH(pool2d_k, blocks_for(total), kThreads, 0, p, x.data_ptr<T>(),
                      out.data_ptr<T>(), indices ? indices->data_ptr<int64_t>() : nullptr, total);
    });
}

void pool2d_backward(const Pool2dParams& p, const Tensor& g, const Tensor* indices,
                     const Tensor& gx) {
    int64_t total = gx.numel();
    if (total == 0) return;
    visit_float(g.dtype(), "pool2d_backward", [&]<typename T>() {
        auto* pool2d_backward_k = &pool2d_backward_kernel<T>;
        MARROW_LAUNCH(pool2d_backward_k, blocks_for(total), kThreads, 0, p, g.data_ptr<T>(),
                      indices ? indices->data_ptr<int64_t>() : nullptr, gx.data_ptr<T>(), total);
    });
}

void dropout(uint64_t seed, uint64_t offset, double p, const Tensor& x, const Tensor& out) {
    int64_t n = x.numel();
    if (n == 0) return;
    visit_float(x.dtype(), "dropout", [&]<typename T>() {
        auto* dropout_k = &dropout_kernel<T>;
        MARROW_LAUNCH(dropout_k, blocks_for((n + 3) / 4), kThreads, 0, seed, offset,
                      pool::dropout_threshold(p), T(1) / T(1 - p), x.data_ptr<T>(),
                      out.data_ptr<T>(), n);
    });
}

void normalize(double p, double eps, const Tensor& x, const Tensor& y) {
    int64_t outer = x.size(0), d = x.size(1), inner = x.size(2);
    if (x.numel() == 0) return;
    visit_float(x.dtype(), "normalize", [&]<typename T>() {
        auto* normalize_k = &normalize_kernel<T>;
        MARROW_LAUNCH(normalize_k, blocks_for(outer * inner), kThreads, 0, p, eps, x.data_ptr<T>(),
                      y.data_ptr<T>(), outer, d, inner);
    });
}

void normalize_backward(double p, double eps, const Tensor& x, const Tensor& g, const Tensor& gx) {
    int64_t outer = x.size(0), d = x.size(1), inner = x.size(2);
    if (x.numel() == 0) return;
    visit_float(x.dtype(), "normalize_backward", [&]<typename T>() {
        auto* normalize_backward_k = &normalize_backward_kernel<T>;
        MARROW_LAUNCH(normalize_backward_k, blocks_for(outer * inner), kThreads, 0, p, eps,
                      x.data_ptr<T>(), g.data_ptr<T>(), gx.data_ptr<T>(), outer, d, inner);
    });
}

}  // namespace marrow::cuda
