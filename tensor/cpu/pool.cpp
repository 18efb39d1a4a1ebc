// CPU pooling (max, avg, adaptive avg over (planes, H, W)) and dropout. Planes are split
// across threads; inside a plane the readable loops of tensor/cpu/pool_reference.h run,
// except on two fast paths that the ResNets hit, each tested against the reference
// (tests/ops/test_pool.cpp):
//   - max pooling with a 2x2 or 3x3 kernel and no dilation (the ResNet stem's 3x3/2 pad 1):
//     the kernel size is a template argument, so the window loops unroll, the comparisons
//     become selects, and the interior of the plane skips the bounds arithmetic;
//   - adaptive average pooling to 1x1 (the ResNet head): a plane's mean, summed with 8
//     interleaved partial sums combined in a fixed order (sum8: deterministic; the rounding
//     differs from the reference's single running sum, within the reduction tolerance).
// normalize (F.normalize) over rows uses sum8 too; over a middle dim, `inner` running sums
// side by side (contiguous inner loops).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/pool_reference.h"
#include "tensor/math/accumulate.h"
#include "tensor/philox.h"

namespace marrow::cpu {
namespace {

template <typename F>
void for_each_plane(int64_t planes, int64_t work_per_plane, F f) {
#pragma omp parallel for schedule(static) if (planes * work_per_plane >= kParallelGrain)
    for (int64_t c = 0; c < planes; ++c) f(c);
}

// Max over a KxK window, no dilation. Same visiting order and NaN rule as the reference:
// start from the window's first element, then take v when v > best or v is NaN. The
// interior of each output row runs window element by window element over a chunk of output
// columns (best / at per column side by side), so the selects vectorize across columns;
// one output at a time (a 9-select dependency chain each) the ResNet stem's 3x3/2 pool took
// 4.8% of a ResNet-18 training step.
// S: the column stride when known at compile time (the stem's 2), 0 for p.sw.
template <typename T, int K, int S>
void max_plane_fixed(const Pool2dParams& p, const T* x, T* out, int64_t* idx) {
    constexpr int64_t kChunk = 64;
    const int64_t sw = S > 0 ? S : p.sw;
    // output columns whose windows lie inside the row: ws = ow sw - pw >= 0, ws + K <= w
    int64_t lo = std::min(p.ow, (p.pw + p.sw - 1) / p.sw);
    int64_t hi = p.w - K + p.pw < 0 ? 0 : (p.w - K + p.pw) / p.sw + 1;
    hi = std::clamp(hi, lo, p.ow);
    auto border = [&](int64_t oh, int64_t ow) {  // clipped to the plane
        int64_t hs = oh * p.sh - p.ph, ws = ow * p.sw - p.pw, o = oh * p.ow + ow;
        int64_t h0 = hs < 0 ? 0 : hs, h1 = hs + K < p.h ? hs + K : p.h;
        int64_t w0 = ws < 0 ? 0 : ws, w1 = ws + K < p.w ? ws + K : p.w;
        T best = -std::numeric_limits<T>::infinity();
        int64_t at = h0 * p.w + w0;
        for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) {
                T v = x[ih * p.w + iw];
                if (v > best || v != v) {
                    best = v;
                    at = ih * p.w + iw;
                }
            }
        out[o] = best;
        idx[o] = at;
    };
    for (int64_t oh = 0; oh < p.oh; ++oh) {
        int64_t hs = oh * p.sh - p.ph;
        if (hs < 0 || hs + K > p.h) {
            for (int64_t ow = 0; ow < p.ow; ++ow) border(oh, ow);
            continue;
        }
        for (int64_t ow = 0; ow < lo; ++ow) border(oh, ow);
        for (int64_t ow = hi; ow < p.ow; ++ow) border(oh, ow);
        for (int64_t c0 = lo; c0 < hi; c0 += kChunk) {
            int64_t n = std::min(kChunk, hi - c0);
            const T* base = x + hs * p.w + c0 * sw - p.pw;  // window of column c0 + u at u sw
            T best[kChunk];
            int32_t at[kChunk];  // within the window: i w + j (32-bit lanes, as wide as T's)
            for (int64_t u = 0; u < n; ++u) best[u] = base[u * sw], at[u] = 0;
            for (int i = 0; i < K; ++i)
                for (int j = 0; j < K; ++j) {
                    const T* row = base + i * p.w + j;
                    int32_t offset = int32_t(i * p.w + j);
                    for (int64_t u = 0; u < n; ++u) {
                        T v = row[u * sw];
                        bool take = (v > best[u]) | (v != v);  // no short circuit: a select
                        best[u] = take ? v : best[u];
                        at[u] = take ? offset : at[u];
                    }
                }
            for (int64_t u = 0; u < n; ++u) {
                out[oh * p.ow + c0 + u] = best[u];
                idx[oh * p.ow + c0 + u] = hs * p.w + (c0 + u) * sw - p.pw + at[u];
            }
        }
    }
}

template <typename T>
using PlaneFn = void (*)(const Pool2dParams&, const T*, T*, int64_t*);

template <typename T>
PlaneFn<T> max_plane_fn(const Pool2dParams& p) {
    if (p.dh == 1 && p.dw == 1 && p.kh == p.kw) {
        if (p.kh == 3) return p.sw == 2 ? max_plane_fixed<T, 3, 2> : max_plane_fixed<T, 3, 0>;
        if (p.kh == 2) return p.sw == 2 ? max_plane_fixed<T, 2, 2> : max_plane_fixed<T, 2, 0>;
    }
    return pool2d_plane_reference<T>;
}

// sum_{i < n} f(i) as 8 partial sums (lane k takes i = k, k + 8, ...) combined pairwise in a
// fixed order: deterministic, and 8 independent chains instead of one (a single running sum
// waits 4 cycles per add).
template <typename Acc, typename F>
Acc sum8(int64_t n, F f) {
    Acc s[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) s[k] += f(i + k);
    for (int k = 0; i < n; ++i, ++k) s[k] += f(i);
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

template <typename T>
T plane_mean(const T* x, int64_t n) {
    using Acc = acc_t<T>;
    return T(sum8<Acc>(n, [&](int64_t i) { return Acc(x[i]); }) / Acc(n));
}

}  // namespace

void pool2d(const Pool2dParams& p, const Tensor& x, const Tensor& out, const Tensor* indices) {
    visit_float(x.dtype(), "pool2d", [&]<typename T>() {
        int64_t planes = x.size(0), in_plane = p.h * p.w, out_plane = p.oh * p.ow;
        const T* px = x.data<T>();
        T* po = out.data<T>();
        if (p.kind == PoolKind::max) {
            int64_t* pi = indices->data<int64_t>();
            PlaneFn<T> fn = max_plane_fn<T>(p);
            return for_each_plane(planes, in_plane + out_plane, [&](int64_t c) {
                fn(p, px + c * in_plane, po + c * out_plane, pi + c * out_plane);
            });
        }
        if (p.kind == PoolKind::adaptive_avg && p.oh == 1 && p.ow == 1)
            return for_each_plane(planes, in_plane, [&](int64_t c) {
                po[c] = plane_mean(px + c * in_plane, in_plane);
            });
        for_each_plane(planes, in_plane + out_plane, [&](int64_t c) {
            pool2d_plane_reference<T>(p, px + c * in_plane, po + c * out_plane, nullptr);
        });
    });
}

void pool2d_backward(const Pool2dParams& p, const Tensor& g, const Tensor* indices,
                     const Tensor& gx) {
    visit_float(g.dtype(), "pool2d_backward", [&]<typename T>() {
        int64_t planes = g.size(0), in_plane = p.h * p.w, out_plane = p.oh * p.ow;
        const T* pg = g.data<T>();
        T* pgx = gx.data<T>();
        const int64_t* pi = indices ? indices->data<int64_t>() : nullptr;
        if (p.kind == PoolKind::adaptive_avg && p.oh == 1 && p.ow == 1)  // a plane of g / HW
            return for_each_plane(planes, in_plane, [&](int64_t c) {
                T share = T(acc_t<T>(pg[c]) / acc_t<T>(in_plane));
                for (int64_t i = 0; i < in_plane; ++i) pgx[c * in_plane + i] = share;
            });
        for_each_plane(planes, in_plane + out_plane, [&](int64_t c) {
            pool2d_backward_plane_reference<T>(
                p, pg + c * out_plane, pi ? pi + c * out_plane : nullptr, pgx + c * in_plane);
        });
    });
}

// y_i = x_i * (kept_i ? 1 / (1 - p) : 0), the product taken even for dropped elements so a
// NaN input stays NaN as in PyTorch (input * mask * scale). Note [Philox stream]: element i
// reads lane i % 4 of block offset + i / 4.
void dropout(uint64_t seed, uint64_t offset, double p, const Tensor& x, const Tensor& out) {
    visit_float(x.dtype(), "dropout", [&]<typename T>() {
        int64_t n = x.numel(), blocks = (n + 3) / 4;
        const T* px = x.data<T>();
        T* po = out.data<T>();
        const T scale = T(1) / T(1 - p);
        const uint32_t threshold = pool::dropout_threshold(p);
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
        for (int64_t blk = 0; blk < blocks; ++blk) {
            philox::Block bits = philox::generate(seed, offset + uint64_t(blk));
            for (int lane = 0; lane < 4 && blk * 4 + lane < n; ++lane) {
                int64_t i = blk * 4 + lane;
                po[i] = px[i] * (bits.v[lane] >= threshold ? scale : T(0));
            }
        }
    });
}

// F.normalize over D of (outer, D, inner), per column (o, i), sums in acc_t<T> taken over D
// in order (as the CUDA kernel: the same bits for p = 1, 2), `inner` columns side by side so
// the inner loops run over contiguous memory:
//   n = ||x||_p, d = max(n, eps), y = x / d.
// Backward: y_k = x_k / d with d = n where n >= eps, else the constant eps, so
//   dL/dx_k = g_k / d - [n >= eps] (sum_j g_j x_j) / d^2 * dn/dx_k,
// dn/dx_k = x_k / n for p = 2 (pool::norm_grad). PyTorch composes the same thing from norm,
// clamp_min (gradient where n >= eps) and a division.
namespace {

// ||x||_p of one contiguous row (sum8's order, not the CUDA kernel's running sum: the two
// agree to the reduction tolerance). p = 2 has its own loop.
template <typename T>
acc_t<T> row_norm(const T* x, int64_t d, double p) {
    using Acc = acc_t<T>;
    Acc s = p == 2 ? sum8<Acc>(d, [&](int64_t k) { return Acc(x[k]) * Acc(x[k]); })
                   : sum8<Acc>(d, [&](int64_t k) { return pool::norm_term(Acc(x[k]), p); });
    return pool::norm_finish(s, p);
}

template <typename T, typename F>
void for_each_normalize_slab(const Tensor& x, F f) {
    int64_t outer = x.size(0), d = x.size(1), inner = x.size(2);
#pragma omp parallel for schedule(static) if (outer * d * inner >= kParallelGrain)
    for (int64_t o = 0; o < outer; ++o) {
        std::vector<acc_t<T>> buf(size_t(2 * inner));
        f(o * d * inner, d, inner, buf.data());
    }
}

}  // namespace

void normalize(double p, double eps, const Tensor& x, const Tensor& y) {
    visit_float(x.dtype(), "normalize", [&]<typename T>() {
        using Acc = acc_t<T>;
        const T* px = x.data<T>();
        T* py = y.data<T>();
        for_each_normalize_slab<T>(x, [&](int64_t at, int64_t d, int64_t inner, Acc* den) {
            const T* xs = px + at;
            T* ys = py + at;
            if (inner == 1) {  // contiguous rows
                Acc n = row_norm(xs, d, p);
                // x * (1 / d): a multiply instead of a divide per element, within an ulp of
                // PyTorch's x / d (0.27 -> 0.18 ms on (4096, 256), one thread)
                Acc inv = Acc(1) / (n < Acc(eps) ? Acc(eps) : n);
                for (int64_t k = 0; k < d; ++k) ys[k] = T(Acc(xs[k]) * inv);
                return;
            }
            for (int64_t i = 0; i < inner; ++i) den[i] = Acc(0);
            for (int64_t k = 0; k < d; ++k)
                for (int64_t i = 0; i < inner; ++i)
                    den[i] += pool::norm_term(Acc(xs[k * inner + i]), p);
            for (int64_t i = 0; i < inner; ++i) {
                Acc n = pool::norm_finish(den[i], p);
                den[i] = n < Acc(eps) ? Acc(eps) : n;  // a NaN norm stays NaN
            }
            for (int64_t k = 0; k < d; ++k)
                for (int64_t i = 0; i < inner; ++i)
                    ys[k * inner + i] = T(Acc(xs[k * inner + i]) / den[i]);
        });
    });
}

void normalize_backward(double p, double eps, const Tensor& x, const Tensor& g, const Tensor& gx) {
    visit_float(x.dtype(), "normalize_backward", [&]<typename T>() {
        using Acc = acc_t<T>;
        const T* px = x.data<T>();
        const T* pg = g.data<T>();
        T* pgx = gx.data<T>();
        for_each_normalize_slab<T>(x, [&](int64_t at, int64_t d, int64_t inner, Acc* buf) {
            const T *xs = px + at, *gs = pg + at;
            T* gxs = pgx + at;
            if (inner == 1) {  // contiguous rows
                Acc n = row_norm(xs, d, p);
                Acc dot = sum8<Acc>(d, [&](int64_t k) { return Acc(gs[k]) * Acc(xs[k]); });
                if (p == 2 && n >= Acc(eps)) {  // pool::normalize_grad, unswitched
                    Acc c = dot / (n * n);
                    for (int64_t k = 0; k < d; ++k)
                        gxs[k] = T(Acc(gs[k]) / n - c * (Acc(xs[k]) / n));
                    return;
                }
                for (int64_t k = 0; k < d; ++k)
                    gxs[k] = T(pool::normalize_grad(Acc(xs[k]), Acc(gs[k]), n, dot, p, eps));
                return;
            }
            Acc *n = buf, *dot = buf + inner;
            for (int64_t i = 0; i < inner; ++i) n[i] = dot[i] = Acc(0);
            for (int64_t k = 0; k < d; ++k)
                for (int64_t i = 0; i < inner; ++i) {
                    Acc v = Acc(xs[k * inner + i]);
                    n[i] += pool::norm_term(v, p);
                    dot[i] += Acc(gs[k * inner + i]) * v;
                }
            for (int64_t i = 0; i < inner; ++i) n[i] = pool::norm_finish(n[i], p);
            for (int64_t k = 0; k < d; ++k)
                for (int64_t i = 0; i < inner; ++i) {
                    int64_t e = k * inner + i;
                    gxs[e] = T(pool::normalize_grad(Acc(xs[e]), Acc(gs[e]), n[i], dot[i], p, eps));
                }
        });
    });
}

}  // namespace marrow::cpu
