// Pooling windows and the dropout keep rule, shared by the CPU kernels (tensor/cpu/pool.cpp,
// tensor/cpu/pool_reference.h) and the CUDA kernels (cuda/kernels/pool.cu), so both backends
// visit the same input elements in the same order and divide by the same count.
//
// Windows follow PyTorch's kernels (aten/src/ATen/native/cpu/{MaxPool,AvgPool}Kernel.cpp and
// AdaptiveAveragePooling.cpp in 1.13):
//   max:          rows oh*sH - pH + i*dH (i < kH) that fall inside [0, H), same for columns;
//   avg:          [oh*sH - pH, min(oh*sH - pH + kH, H + pH)) clipped to [0, H); the divisor is
//                 divisor_override, else the window size before clipping to the input
//                 (count_include_pad) or after it;
//   adaptive_avg: [floor(oh H / OH), ceil((oh + 1) H / OH)), divisor = its area.
#pragma once
#include <cstdint>

#include "tensor/kernels.h"
#include "tensor/math/host_device.h"

namespace marrow::pool {

// The input elements of one output: rows h0, h0 + step_h, ... < h1, columns likewise.
struct Window {
    int64_t h0, h1, step_h;
    int64_t w0, w1, step_w;
    int64_t divisor;  // avg and adaptive_avg: what the sum is divided by
};

MARROW_HOST_DEVICE inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
MARROW_HOST_DEVICE inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

MARROW_HOST_DEVICE inline Window window(const Pool2dParams& p, int64_t oh, int64_t ow) {
    Window win{};
    if (p.kind == PoolKind::adaptive_avg) {
        win.h0 = oh * p.h / p.oh;
        win.h1 = ((oh + 1) * p.h + p.oh - 1) / p.oh;
        win.w0 = ow * p.w / p.ow;
        win.w1 = ((ow + 1) * p.w + p.ow - 1) / p.ow;
        win.step_h = win.step_w = 1;
        win.divisor = (win.h1 - win.h0) * (win.w1 - win.w0);
    } else if (p.kind == PoolKind::avg) {
        int64_t hs = oh * p.sh - p.ph, ws = ow * p.sw - p.pw;
        int64_t he = min64(hs + p.kh, p.h + p.ph), we = min64(ws + p.kw, p.w + p.pw);
        int64_t padded_area = (he - hs) * (we - ws);
        win.h0 = max64(hs, 0);
        win.w0 = max64(ws, 0);
        win.h1 = min64(he, p.h);
        win.w1 = min64(we, p.w);
        win.step_h = win.step_w = 1;
        if (p.divisor_override != 0)
            win.divisor = p.divisor_override;
        else if (p.count_include_pad)
            win.divisor = padded_area;
        else
            win.divisor = (win.h1 - win.h0) * (win.w1 - win.w0);
    } else {  // max: the first in-bounds tap of each dim, then every dilation step
        int64_t hs = oh * p.sh - p.ph, ws = ow * p.sw - p.pw;
        win.h1 = min64(hs + (p.kh - 1) * p.dh + 1, p.h);
        win.w1 = min64(ws + (p.kw - 1) * p.dw + 1, p.w);
        while (hs < 0) hs += p.dh;
        while (ws < 0) ws += p.dw;
        win.h0 = hs;
        win.w0 = ws;
        win.step_h = p.dh;
        win.step_w = p.dw;
        win.divisor = 1;
    }
    return win;
}

// Output rows [lo, hi) whose windows may hold input row ih (a superset: callers test the
// window itself); `stride`, `pad`, `span` = (k - 1) * dilation + 1 of that dim. For adaptive
// pooling, start(o) <= ih < end(o) gives o in [floor(ih O / I), ceil((ih + 1) O / I)).
struct Range {
    int64_t lo, hi;
};
MARROW_HOST_DEVICE inline Range outputs_touching(const Pool2dParams& p, bool rows, int64_t i) {
    int64_t in = rows ? p.h : p.w, out = rows ? p.oh : p.ow;
    if (p.kind == PoolKind::adaptive_avg)
        return {i * out / in, min64(((i + 1) * out + in - 1) / in, out)};
    int64_t stride = rows ? p.sh : p.sw, pad = rows ? p.ph : p.pw;
    int64_t span = p.kind == PoolKind::max ? ((rows ? p.kh : p.kw) - 1) * (rows ? p.dh : p.dw) + 1
                                           : (rows ? p.kh : p.kw);
    // window o covers [o*stride - pad, o*stride - pad + span): o*stride <= i + pad and
    // o*stride > i + pad - span
    int64_t lo = i + pad < span ? 0 : (i + pad - span) / stride + 1;
    return {lo, min64((i + pad) / stride + 1, out)};
}

// Whether input (ih, iw) is one of the window's elements.
MARROW_HOST_DEVICE inline bool contains(const Window& win, int64_t ih, int64_t iw) {
    return ih >= win.h0 && ih < win.h1 && (ih - win.h0) % win.step_h == 0 && iw >= win.w0 &&
           iw < win.w1 && (iw - win.w0) % win.step_w == 0;
}

// Dropout's mask (Note [Philox stream]): element i of a draw at (seed, offset) is kept when
// lane i % 4 of block offset + i / 4 is at least `threshold` = p * 2^32 (rounded up), so
// P(drop) = p to 2^-32 and the mask depends only on (seed, offset, i): the same on every
// device, dtype and thread count.
MARROW_HOST_DEVICE inline uint32_t dropout_threshold(double p) {
    double t = p * 4294967296.0;
    uint64_t u = uint64_t(t);
    if (double(u) < t) ++u;
    return u > 0xFFFFFFFFull ? 0xFFFFFFFFu : uint32_t(u);
}

// F.normalize's p-norm in pieces, so the CPU and CUDA kernels sum the same terms in the same
// order: n = finish(sum_k term(x_k)); dn/dx_k = grad(x_k, n).
template <typename A>
MARROW_HOST_DEVICE inline A norm_term(A v, double p) {
    A a = v < A(0) ? -v : v;
    return p == 2 ? v * v : p == 1 ? a : A(MARROW_MATH(pow)(a, A(p)));
}
template <typename A>
MARROW_HOST_DEVICE inline A norm_finish(A sum, double p) {
    return p == 2 ? A(MARROW_MATH(sqrt)(sum)) : p == 1 ? sum : A(MARROW_MATH(pow)(sum, A(1 / p)));
}
// d||x||_p / dx_k = sign(x_k) |x_k|^(p-1) / n^(p-1): x_k / n for p = 2, sign(x_k) for p = 1.
template <typename A>
MARROW_HOST_DEVICE inline A norm_grad(A v, A n, double p) {
    A s = v > A(0) ? A(1) : v < A(0) ? A(-1) : A(0);
    if (p == 2) return v / n;
    if (p == 1) return s;
    A a = v < A(0) ? -v : v;
    return s * A(MARROW_MATH(pow)(a / n, A(p - 1)));
}

// One element of normalize's gradient from x_k, g_k, the column's norm n and sum_j g_j x_j.
template <typename A>
MARROW_HOST_DEVICE inline A normalize_grad(A v, A g, A n, A dot, double p, double eps) {
    if (n < A(eps)) return g / A(eps);  // the clamp holds: d = eps, a constant (NaN n: below)
    return g / n - dot / (n * n) * norm_grad(v, n, p);
}

}  // namespace marrow::pool
