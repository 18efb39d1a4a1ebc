// The readable pooling loops, one (H, W) plane at a time: the CPU kernels' general path
// (tensor/cpu/pool.cpp) and the oracle its fast paths are tested against
// (tests/ops/test_pool.cpp). Windows come from tensor/math/pool_math.h, shared with CUDA.
#pragma once
#include <cmath>
#include <limits>

#include "tensor/math/accumulate.h"
#include "tensor/math/pool_math.h"

namespace marrow::cpu {

// x: (H, W) -> out, idx: (OH, OW). max: the first largest element in row-major window order
// (ties keep the earlier one), except that NaN wins and a later NaN replaces an earlier one,
// as PyTorch's `if ((val > maxval) || std::isnan(val))`. A window of -inf keeps its first
// element's index. avg: acc_t<T> sum / divisor.
template <typename T>
void pool2d_plane_reference(const Pool2dParams& p, const T* x, T* out, int64_t* idx) {
    using Acc = acc_t<T>;
    for (int64_t oh = 0; oh < p.oh; ++oh)
        for (int64_t ow = 0; ow < p.ow; ++ow) {
            pool::Window win = pool::window(p, oh, ow);
            int64_t o = oh * p.ow + ow;
            if (p.kind == PoolKind::max) {
                Acc best = -std::numeric_limits<Acc>::infinity();
                int64_t at = win.h0 * p.w + win.w0;
                for (int64_t ih = win.h0; ih < win.h1; ih += win.step_h)
                    for (int64_t iw = win.w0; iw < win.w1; iw += win.step_w) {
                        Acc v = Acc(x[ih * p.w + iw]);
                        if (v > best || std::isnan(v)) {
                            best = v;
                            at = ih * p.w + iw;
                        }
                    }
                out[o] = T(best);
                idx[o] = at;
            } else {
                Acc sum = Acc(0);
                for (int64_t ih = win.h0; ih < win.h1; ++ih)
                    for (int64_t iw = win.w0; iw < win.w1; ++iw) sum += Acc(x[ih * p.w + iw]);
                out[o] = T(sum / Acc(win.divisor));
            }
        }
}

// g: (OH, OW) -> gx: (H, W), written whole. max: each output's gradient goes to its index;
// avg: g / divisor to every element of its window. Contributions are added in output order,
// the order in which the CUDA kernel's gathering threads add them too (same bits).
template <typename T>
void pool2d_backward_plane_reference(const Pool2dParams& p, const T* g, const int64_t* idx, T* gx) {
    using Acc = acc_t<T>;
    for (int64_t i = 0; i < p.h * p.w; ++i) gx[i] = T(0);
    for (int64_t oh = 0; oh < p.oh; ++oh)
        for (int64_t ow = 0; ow < p.ow; ++ow) {
            int64_t o = oh * p.ow + ow;
            if (p.kind == PoolKind::max) {
                gx[idx[o]] = T(Acc(gx[idx[o]]) + Acc(g[o]));
                continue;
            }
            pool::Window win = pool::window(p, oh, ow);
            Acc share = Acc(g[o]) / Acc(win.divisor);
            for (int64_t ih = win.h0; ih < win.h1; ++ih)
                for (int64_t iw = win.w0; iw < win.w1; ++iw)
                    gx[ih * p.w + iw] = T(Acc(gx[ih * p.w + iw]) + share);
        }
}

}  // namespace marrow::cpu
