// CPU batch normalization, forward and backward, over x: (N, C, S) contiguous (S = H W for
// NCHW, L for (N, C, L), 1 for (N, C)); channel c's values are the N runs of S contiguous
// elements at x + (n C + c) S. Formulas and their derivation: autograd/functions/norm.cpp.
//
//   reference   (any dtype; float64 gradcheck runs it): per channel, the mean, then the sum of
//               squared deviations from it (two passes: no cancellation), then y; in acc_t<T>
//               (Note [Accumulator type]). Backward: one pass for sum(g) and
//               sum(g (x - mean)), one for dx.
//   version 1   (float32, the production path): per channel (OpenMP over channels), the
//               channel's rows cut into chunks of at most kChunk floats that stay in L1: each
//               chunk's sum, then its squared deviations from its own mean, merged into the
//               channel's (count, mean, M2) with Chan's update (block_reduce.h's Welford
//               combine); then y = x scale + shift while the channel is still in L2
//               (32x64x72x72: 663 KB per channel). x is read once from memory, y written once.
//               Backward: sum(g), sum(g (x - mean)) in one pass, dx in a second. Vectors of
//               16/8/4 floats (AVX-512, AVX2, baseline copies, tensor/cpu/isa.h).
//               S == 1 ((N, C), BatchNorm1d) has its channels as columns of stride C: the
//               same steps run along rows over blocks of 512 channels instead (row blocks
//               of 256 for the statistics), vectorized over the channels.
// Both are deterministic: fixed summation order, no dependence on the thread count (threads
// own whole channels). tests/ops/test_batch_norm.cpp checks version 1 against the reference.
#include "tensor/cpu/norm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/vec_lanes.h"
#include "tensor/math/accumulate.h"

namespace marrow::cpu {
namespace {

struct Geometry {
    int64_t n, c, s;
    int64_t count() const { return n * s; }                                 // values per channel
    int64_t at(int64_t in, int64_t ic) const { return (in * c + ic) * s; }  // row (n, c)
};
Geometry geometry(const Tensor& x) { return {x.size(0), x.size(1), x.size(2)}; }

template <typename T>
const T* data_or_null(const Tensor* t) {
    return t ? t->data<T>() : nullptr;
}
template <typename T>
T* mutable_or_null(const Tensor* t) {
    return t ? t->data<T>() : nullptr;
}

template <typename F>
void for_each_channel(Geometry g, F f) {
#pragma omp parallel for schedule(static) if (g.n * g.c * g.s >= kParallelGrain)
    for (int64_t c = 0; c < g.c; ++c) f(c);
}

// Everything one channel's forward needs besides x and y.
template <typename T>
struct ForwardArgs {
    const BatchNormParams* params;
    const T *weight, *bias;
    T *running_mean, *running_var, *mean, *invstd;
};

// Channel c's statistics are known (training: the batch's mean and biased var): store what
// backward reads, update the running buffers, and return invstd.
template <typename T, typename Acc>
Acc finish_statistics(const ForwardArgs<T>& a, int64_t c, int64_t count, Acc mean, Acc var) {
    const BatchNormParams& p = *a.params;
    Acc invstd = Acc(1) / std::sqrt(var + Acc(p.eps));
    a.mean[c] = T(mean);
    a.invstd[c] = T(invstd);
    Acc m = Acc(p.momentum);
    if (a.running_mean) a.running_mean[c] = T((Acc(1) - m) * Acc(a.running_mean[c]) + m * mean);
    if (a.running_var) {
        Acc unbiased = var * Acc(count) / Acc(count - 1);  // count >= 2 (entry point)
        a.running_var[c] = T((Acc(1) - m) * Acc(a.running_var[c]) + m * unbiased);
    }
    return invstd;
}

// ---- reference loops

template <typename T>
void forward_reference_channel(Geometry g, const T* x, T* y, const ForwardArgs<T>& a, int64_t c) {
    using Acc = acc_t<T>;
    Acc mean, invstd;
    if (a.params->training) {
        Acc sum = 0;
        for (int64_t n = 0; n < g.n; ++n)
            for (int64_t s = 0; s < g.s; ++s) sum += Acc(x[g.at(n, c) + s]);
        mean = sum / Acc(g.count());
        Acc m2 = 0;
        for (int64_t n = 0; n < g.n; ++n)
            for (int64_t s = 0; s < g.s; ++s) {
                Acc d = Acc(x[g.at(n, c) + s]) - mean;
                m2 += d * d;
            }
        invstd = finish_statistics(a, c, g.count(), mean, m2 / Acc(g.count()));
    } else {
        mean = Acc(a.running_mean[c]);
        invstd = Acc(1) / std::sqrt(Acc(a.running_var[c]) + Acc(a.params->eps));
        a.mean[c] = T(mean);
        a.invstd[c] = T(invstd);
    }
    Acc w = a.weight ? Acc(a.weight[c]) : Acc(1), b = a.bias ? Acc(a.bias[c]) : Acc(0);
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t s = 0; s < g.s; ++s) {
            int64_t i = g.at(n, c) + s;
            y[i] = T((Acc(x[i]) - mean) * invstd * w + b);
        }
}

template <typename T>
struct BackwardArgs {
    bool training;
    const T *x, *g, *mean, *invstd, *weight;
    T *dx, *dweight, *dbias;
};

template <typename T>
void backward_reference_channel(Geometry geo, const BackwardArgs<T>& a, int64_t c) {
    using Acc = acc_t<T>;
    Acc mean = Acc(a.mean[c]), invstd = Acc(a.invstd[c]);
    Acc w = a.weight ? Acc(a.weight[c]) : Acc(1);
    Acc sum_g = 0, dot = 0;  // sum(g), sum(g (x - mean))
    if (a.dweight || a.dbias || (a.training && a.dx))
        for (int64_t n = 0; n < geo.n; ++n)
            for (int64_t s = 0; s < geo.s; ++s) {
                int64_t i = geo.at(n, c) + s;
                sum_g += Acc(a.g[i]);
                if (a.x) dot += Acc(a.g[i]) * (Acc(a.x[i]) - mean);
            }
    if (a.dweight) a.dweight[c] = T(dot * invstd);
    if (a.dbias) a.dbias[c] = T(sum_g);
    if (!a.dx) return;
    Acc grad_mean = sum_g / Acc(geo.count());
    Acc proj = dot * invstd * invstd / Acc(geo.count());
    for (int64_t n = 0; n < geo.n; ++n)
        for (int64_t s = 0; s < geo.s; ++s) {
            int64_t i = geo.at(n, c) + s;
            Acc gv = Acc(a.g[i]);
            a.dx[i] = a.training ? T((gv - grad_mean - (Acc(a.x[i]) - mean) * proj) * invstd * w)
                                 : T(gv * invstd * w);
        }
}

// ---- version 1: float32, vectorized

constexpr int64_t kChunk = 4096;  // floats per statistics chunk: 16 KB, twice over, in L1

// Sums of a run into (vector, scalar tail) accumulators: two vectors, so consecutive adds do
// not wait on each other.
template <int W>
MARROW_VEC_INLINE void add_run(const float* __restrict p, int64_t len, Lanes<W>& a0, Lanes<W>& a1,
                               float& tail) {
    int64_t i = 0;
    for (; i + 2 * W <= len; i += 2 * W) {
        a0 += load<W>(p + i);
        a1 += load<W>(p + i + W);
    }
    for (; i + W <= len; i += W) a0 += load<W>(p + i);
    for (; i < len; ++i) tail += p[i];
}
template <int W>
MARROW_VEC_INLINE void add_sq_dev_run(const float* __restrict p, int64_t len, float mean,
                                      Lanes<W>& a0, Lanes<W>& a1, float& tail) {
    Lanes<W> m = Lanes<W>{} + mean;
    int64_t i = 0;
    for (; i + 2 * W <= len; i += 2 * W) {
        Lanes<W> d0 = load<W>(p + i) - m, d1 = load<W>(p + i + W) - m;
        a0 += d0 * d0;
        a1 += d1 * d1;
    }
    for (; i + W <= len; i += W) {
        Lanes<W> d = load<W>(p + i) - m;
        a0 += d * d;
    }
    for (; i < len; ++i) tail += (p[i] - mean) * (p[i] - mean);
}
template <int W>
MARROW_VEC_INLINE float lane_sum(Lanes<W> a0, Lanes<W> a1, float tail) {
    Lanes<W> a = a0 + a1;
    float r = 0;
    for (int l = 0; l < W; ++l) r += a[l];
    return r + tail;
}

// Chan et al.'s merge of (count, mean, M2) summaries (as WelfordCombine, block_reduce.h).
struct Moments {
    int64_t count = 0;
    float mean = 0, m2 = 0;
};
MARROW_VEC_INLINE Moments merge(Moments a, Moments b) {
    if (a.count == 0) return b;
    int64_t n = a.count + b.count;
    float delta = b.mean - a.mean, b_share = float(b.count) / float(n);
    return {n, a.mean + delta * b_share, a.m2 + b.m2 + delta * delta * float(a.count) * b_share};
}

// Channel c's (count, mean, M2), chunk by chunk: a chunk is rows [n0, n1) of elements
// [s0, s0 + len), at most kChunk floats, so its second pass reads L1.
template <int W>
MARROW_VEC_INLINE Moments channel_moments(Geometry g, const float* x, int64_t c) {
    int64_t piece = std::min(g.s, kChunk), rows = std::max<int64_t>(1, kChunk / g.s);
    Moments total;
    for (int64_t n0 = 0; n0 < g.n; n0 += rows) {
        int64_t n1 = std::min(g.n, n0 + rows);
        for (int64_t s0 = 0; s0 < g.s; s0 += piece) {
            int64_t len = std::min(piece, g.s - s0);
            Lanes<W> a0{}, a1{};
            float tail = 0;
            for (int64_t n = n0; n < n1; ++n) add_run<W>(x + g.at(n, c) + s0, len, a0, a1, tail);
            Moments chunk{(n1 - n0) * len, 0, 0};
            chunk.mean = lane_sum<W>(a0, a1, tail) / float(chunk.count);
            a0 = Lanes<W>{}, a1 = Lanes<W>{}, tail = 0;
            for (int64_t n = n0; n < n1; ++n)
                add_sq_dev_run<W>(x + g.at(n, c) + s0, len, chunk.mean, a0, a1, tail);
            chunk.m2 = lane_sum<W>(a0, a1, tail);
            total = merge(total, chunk);
        }
    }
    return total;
}

// y = x scale + shift over one run.
template <int W>
MARROW_VEC_INLINE void affine_run(const float* __restrict x, float* __restrict y, int64_t len,
                                  float scale, float shift) {
    Lanes<W> a = Lanes<W>{} + scale, b = Lanes<W>{} + shift;
    int64_t i = 0;
    for (; i + W <= len; i += W) {
        Lanes<W> v = load<W>(x + i) * a + b;
        std::memcpy(y + i, &v, sizeof v);
    }
    for (; i < len; ++i) y[i] = x[i] * scale + shift;
}

template <int W>
MARROW_VEC_INLINE void forward_channel_v1(Geometry g, const float* x, float* y,
                                          const ForwardArgs<float>& a, int64_t c) {
    float mean, invstd;
    if (a.params->training) {
        Moments m = channel_moments<W>(g, x, c);
        mean = m.mean;
        invstd = finish_statistics(a, c, m.count, m.mean, m.m2 / float(m.count));
    } else {
        mean = a.running_mean[c];
        invstd = 1.0f / std::sqrt(a.running_var[c] + float(a.params->eps));
        a.mean[c] = mean;
        a.invstd[c] = invstd;
    }
    // (x - mean) invstd w + b = x scale + shift, as PyTorch's CPU kernel
    float scale = invstd * (a.weight ? a.weight[c] : 1.0f);
    float shift = (a.bias ? a.bias[c] : 0.0f) - mean * scale;
    for (int64_t n = 0; n < g.n; ++n)
        affine_run<W>(x + g.at(n, c), y + g.at(n, c), g.s, scale, shift);
}

template <int W>
MARROW_VEC_INLINE void backward_channel_v1(Geometry geo, const BackwardArgs<float>& a, int64_t c) {
    float mean = a.mean[c], invstd = a.invstd[c], w = a.weight ? a.weight[c] : 1.0f;
    float sum_g = 0, dot = 0;  // sum(g), sum(g (x - mean))
    if (a.dweight || a.dbias || (a.training && a.dx)) {
        Lanes<W> sg{}, sd{}, m = Lanes<W>{} + mean;
        float tg = 0, td = 0;
        for (int64_t n = 0; n < geo.n; ++n) {
            const float *g = a.g + geo.at(n, c), *x = a.x ? a.x + geo.at(n, c) : nullptr;
            int64_t i = 0;
            for (; i + W <= geo.s; i += W) {
                Lanes<W> gv = load<W>(g + i);
                sg += gv;
                if (x) sd += gv * (load<W>(x + i) - m);
            }
            for (; i < geo.s; ++i) {
                tg += g[i];
                if (x) td += g[i] * (x[i] - mean);
            }
        }
        sum_g = lane_sum<W>(sg, Lanes<W>{}, tg);
        dot = lane_sum<W>(sd, Lanes<W>{}, td);
    }
    if (a.dweight) a.dweight[c] = dot * invstd;
    if (a.dbias) a.dbias[c] = sum_g;
    if (!a.dx) return;
    float scale = invstd * w;
    // training: dx = (g - grad_mean - (x - mean) proj) scale; eval: dx = g scale
    float grad_mean = a.training ? sum_g / float(geo.count()) : 0.0f;
    float proj = a.training ? dot * invstd * invstd / float(geo.count()) : 0.0f;
    Lanes<W> vs = Lanes<W>{} + scale, vgm = Lanes<W>{} + grad_mean, vp = Lanes<W>{} + proj,
             vm = Lanes<W>{} + mean;
    for (int64_t n = 0; n < geo.n; ++n) {
        const float* g = a.g + geo.at(n, c);
        float* dx = a.dx + geo.at(n, c);
        int64_t i = 0;
        if (a.training) {
            const float* x = a.x + geo.at(n, c);
            for (; i + W <= geo.s; i += W) {
                Lanes<W> v = (load<W>(g + i) - vgm - (load<W>(x + i) - vm) * vp) * vs;
                std::memcpy(dx + i, &v, sizeof v);
            }
            for (; i < geo.s; ++i) dx[i] = (g[i] - grad_mean - (x[i] - mean) * proj) * scale;
        } else {
            for (; i + W <= geo.s; i += W) {
                Lanes<W> v = load<W>(g + i) * vs;
                std::memcpy(dx + i, &v, sizeof v);
            }
            for (; i < geo.s; ++i) dx[i] = g[i] * scale;
        }
    }
}

// ---- version 1 for S == 1, (N, C) inputs: channel c is a column of stride C, so the loops
// run along rows over a block of channels [c0, c1) (plain loops, vectorized by the compiler
// over the channels, each channel's arithmetic in its own lane: the same bits for any block
// split). Statistics per block of kRowBlock rows (sum, then squared deviations, both in L2),
// merged per channel with Chan's update.
constexpr int64_t kRowBlock = 256;
constexpr int64_t kColumnBlock = 512;  // channels per task: 2 KB of each row

MARROW_VEC_INLINE void columns_forward(Geometry g, const float* __restrict x, float* __restrict y,
                                       const ForwardArgs<float>& a, int64_t c0, int64_t c1) {
    int64_t w = c1 - c0;
    std::vector<float> scratch(size_t(4 * w), 0.0f);
    float *mean = scratch.data(), *m2 = mean + w, *block_mean = m2 + w, *block_m2 = block_mean + w;
    if (a.params->training) {
        int64_t count = 0;
        for (int64_t n0 = 0; n0 < g.n; n0 += kRowBlock) {
            int64_t n1 = std::min(g.n, n0 + kRowBlock), rows = n1 - n0;
            std::fill(block_mean, block_mean + 2 * w, 0.0f);  // block_mean and block_m2
            for (int64_t n = n0; n < n1; ++n)
                for (int64_t j = 0; j < w; ++j) block_mean[j] += x[n * g.c + c0 + j];
            for (int64_t j = 0; j < w; ++j) block_mean[j] /= float(rows);
            for (int64_t n = n0; n < n1; ++n)
                for (int64_t j = 0; j < w; ++j) {
                    float d = x[n * g.c + c0 + j] - block_mean[j];
                    block_m2[j] += d * d;
                }
            float share = float(rows) / float(count + rows), before = float(count);
            for (int64_t j = 0; j < w; ++j) {  // Chan's merge (count 0: takes the block's)
                float delta = block_mean[j] - mean[j];
                mean[j] += delta * share;
                m2[j] += block_m2[j] + delta * delta * before * share;
            }
            count += rows;
        }
        for (int64_t j = 0; j < w; ++j) {
            float invstd = finish_statistics(a, c0 + j, count, mean[j], m2[j] / float(count));
            m2[j] = invstd;  // m2 now holds invstd
        }
    } else {
        for (int64_t j = 0; j < w; ++j) {
            mean[j] = a.mean[c0 + j] = a.running_mean[c0 + j];
            m2[j] = a.invstd[c0 + j] =
                1.0f / std::sqrt(a.running_var[c0 + j] + float(a.params->eps));
        }
    }
    float *scale = block_mean, *shift = block_m2;
    for (int64_t j = 0; j < w; ++j) {
        scale[j] = m2[j] * (a.weight ? a.weight[c0 + j] : 1.0f);
        shift[j] = (a.bias ? a.bias[c0 + j] : 0.0f) - mean[j] * scale[j];
    }
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t j = 0; j < w; ++j)
            y[n * g.c + c0 + j] = x[n * g.c + c0 + j] * scale[j] + shift[j];
}

MARROW_VEC_INLINE void columns_backward(Geometry geo, const BackwardArgs<float>& a, int64_t c0,
                                        int64_t c1) {
    int64_t w = c1 - c0, C = geo.c;
    std::vector<float> scratch(size_t(6 * w), 0.0f);
    float *sum_g = scratch.data(), *dot = sum_g + w, *block_g = dot + w, *block_dot = block_g + w;
    float *k_g = block_dot + w, *k_x = k_g + w;
    const float *g = a.g, *x = a.x, *mean = a.mean + c0, *invstd = a.invstd + c0;
    if (a.dweight || a.dbias || (a.training && a.dx)) {
        for (int64_t n0 = 0; n0 < geo.n; n0 += kRowBlock) {  // two-level sums
            int64_t n1 = std::min(geo.n, n0 + kRowBlock);
            std::fill(block_g, block_g + 2 * w, 0.0f);
            for (int64_t n = n0; n < n1; ++n) {
                for (int64_t j = 0; j < w; ++j) block_g[j] += g[n * C + c0 + j];
                if (x)
                    for (int64_t j = 0; j < w; ++j)
                        block_dot[j] += g[n * C + c0 + j] * (x[n * C + c0 + j] - mean[j]);
            }
            for (int64_t j = 0; j < w; ++j) sum_g[j] += block_g[j], dot[j] += block_dot[j];
        }
    }
    for (int64_t j = 0; j < w; ++j) {
        if (a.dweight) a.dweight[c0 + j] = dot[j] * invstd[j];
        if (a.dbias) a.dbias[c0 + j] = sum_g[j];
    }
    if (!a.dx) return;
    // dx = (g - grad_mean - (x - mean) proj) scale = g k_g + (x - mean) k_x - grad_mean k_g
    float count = float(geo.count());
    for (int64_t j = 0; j < w; ++j) {
        float scale = invstd[j] * (a.weight ? a.weight[c0 + j] : 1.0f);
        float grad_mean = a.training ? sum_g[j] / count : 0.0f;
        float proj = a.training ? dot[j] * invstd[j] * invstd[j] / count : 0.0f;
        k_g[j] = scale;
        k_x[j] = proj;
        block_g[j] = grad_mean;
    }
    for (int64_t n = 0; n < geo.n; ++n) {
        float* dx = a.dx + n * C + c0;
        const float* gn = g + n * C + c0;
        if (a.training) {
            const float* xn = x + n * C + c0;
            for (int64_t j = 0; j < w; ++j)
                dx[j] = (gn[j] - block_g[j] - (xn[j] - mean[j]) * k_x[j]) * k_g[j];
        } else {
            for (int64_t j = 0; j < w; ++j) dx[j] = gn[j] * k_g[j];
        }
    }
}

// The per-ISA copies of one channel's work; the OpenMP loop over channels stays outside the
// target-attributed functions (as softmax's rows), so nothing compiled for one ISA is inlined
// into code compiled for another.
using ForwardV1 = void (*)(Geometry, const float*, float*, const ForwardArgs<float>&, int64_t);
using BackwardV1 = void (*)(Geometry, const BackwardArgs<float>&, int64_t);

MARROW_TARGET_AVX512 void forward_avx512(Geometry g, const float* x, float* y,
                                         const ForwardArgs<float>& a, int64_t c) {
    forward_channel_v1<16>(g, x, y, a, c);
}
MARROW_TARGET_AVX2 void forward_avx2(Geometry g, const float* x, float* y,
                                     const ForwardArgs<float>& a, int64_t c) {
    forward_channel_v1<8>(g, x, y, a, c);
}
void forward_base(Geometry g, const float* x, float* y, const ForwardArgs<float>& a, int64_t c) {
    forward_channel_v1<4>(g, x, y, a, c);
}
MARROW_TARGET_AVX512 void backward_avx512(Geometry g, const BackwardArgs<float>& a, int64_t c) {
    backward_channel_v1<16>(g, a, c);
}
MARROW_TARGET_AVX2 void backward_avx2(Geometry g, const BackwardArgs<float>& a, int64_t c) {
    backward_channel_v1<8>(g, a, c);
}
void backward_base(Geometry g, const BackwardArgs<float>& a, int64_t c) {
    backward_channel_v1<4>(g, a, c);
}

using ColumnsForward = void (*)(Geometry, const float*, float*, const ForwardArgs<float>&, int64_t,
                                int64_t);
using ColumnsBackward = void (*)(Geometry, const BackwardArgs<float>&, int64_t, int64_t);
MARROW_TARGET_AVX512 void columns_forward_avx512(Geometry g, const float* x, float* y,
                                                 const ForwardArgs<float>& a, int64_t c0,
                                                 int64_t c1) {
    columns_forward(g, x, y, a, c0, c1);
}
MARROW_TARGET_AVX2 void columns_forward_avx2(Geometry g, const float* x, float* y,
                                             const ForwardArgs<float>& a, int64_t c0, int64_t c1) {
    columns_forward(g, x, y, a, c0, c1);
}
void columns_forward_base(Geometry g, const float* x, float* y, const ForwardArgs<float>& a,
                          int64_t c0, int64_t c1) {
    columns_forward(g, x, y, a, c0, c1);
}
MARROW_TARGET_AVX512 void columns_backward_avx512(Geometry g, const BackwardArgs<float>& a,
                                                  int64_t c0, int64_t c1) {
    columns_backward(g, a, c0, c1);
}
MARROW_TARGET_AVX2 void columns_backward_avx2(Geometry g, const BackwardArgs<float>& a, int64_t c0,
                                              int64_t c1) {
    columns_backward(g, a, c0, c1);
}
void columns_backward_base(Geometry g, const BackwardArgs<float>& a, int64_t c0, int64_t c1) {
    columns_backward(g, a, c0, c1);
}

// Blocks of kColumnBlock channels, split across threads.
template <typename F>
void for_each_column_block(Geometry g, F f) {
    int64_t blocks = (g.c + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for schedule(static) if (g.n * g.c >= kParallelGrain)
    for (int64_t b = 0; b < blocks; ++b) f(b * kColumnBlock, std::min(g.c, (b + 1) * kColumnBlock));
}

template <typename T>
ForwardArgs<T> forward_args(const BatchNormParams& params, const Tensor* weight, const Tensor* bias,
                            const Tensor* running_mean, const Tensor* running_var,
                            const Tensor& mean, const Tensor& invstd) {
    return {&params,
            data_or_null<T>(weight),
            data_or_null<T>(bias),
            mutable_or_null<T>(running_mean),
            mutable_or_null<T>(running_var),
            mean.data<T>(),
            invstd.data<T>()};
}

template <typename T>
BackwardArgs<T> backward_args(bool training, const Tensor* x, const Tensor& g, const Tensor& mean,
                              const Tensor& invstd, const Tensor* weight, const Tensor* dx,
                              const Tensor* dweight, const Tensor* dbias) {
    return {training,
            data_or_null<T>(x),
            g.data<T>(),
            mean.data<T>(),
            invstd.data<T>(),
            data_or_null<T>(weight),
            mutable_or_null<T>(dx),
            mutable_or_null<T>(dweight),
            mutable_or_null<T>(dbias)};
}

}  // namespace

void batch_norm_reference(const BatchNormParams& params, const Tensor& x, const Tensor* weight,
                          const Tensor* bias, const Tensor* running_mean, const Tensor* running_var,
                          const Tensor& y, const Tensor& mean, const Tensor& invstd) {
    visit_float(x.dtype(), "batch_norm", [&]<typename T>() {
        Geometry g = geometry(x);
        ForwardArgs<T> a =
            forward_args<T>(params, weight, bias, running_mean, running_var, mean, invstd);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        for_each_channel(g, [&](int64_t c) { forward_reference_channel(g, px, py, a, c); });
    });
}

void batch_norm_backward_reference(bool training, const Tensor* x, const Tensor& g,
                                   const Tensor& mean, const Tensor& invstd, const Tensor* weight,
                                   const Tensor* dx, const Tensor* dweight, const Tensor* dbias) {
    visit_float(g.dtype(), "batch_norm_backward", [&]<typename T>() {
        Geometry geo = geometry(g);
        BackwardArgs<T> a =
            backward_args<T>(training, x, g, mean, invstd, weight, dx, dweight, dbias);
        for_each_channel(geo, [&](int64_t c) { backward_reference_channel(geo, a, c); });
    });
}

void batch_norm(const BatchNormParams& params, const Tensor& x, const Tensor* weight,
                const Tensor* bias, const Tensor* running_mean, const Tensor* running_var,
                const Tensor& y, const Tensor& mean, const Tensor& invstd) {
    if (x.dtype() != DType::f32)
        return batch_norm_reference(params, x, weight, bias, running_mean, running_var, y, mean,
                                    invstd);
    ForwardArgs<float> a =
        forward_args<float>(params, weight, bias, running_mean, running_var, mean, invstd);
    Geometry g = geometry(x);
    const float* px = x.data<float>();
    float* py = y.data<float>();
    if (g.s == 1) {
        ColumnsForward columns = for_isa<ColumnsForward>(
            columns_forward_avx512, columns_forward_avx2, columns_forward_base);
        return for_each_column_block(
            g, [&](int64_t c0, int64_t c1) { columns(g, px, py, a, c0, c1); });
    }
    ForwardV1 run = for_isa<ForwardV1>(forward_avx512, forward_avx2, forward_base);
    for_each_channel(g, [&](int64_t c) { run(g, px, py, a, c); });
}

void batch_norm_backward(bool training, const Tensor* x, const Tensor& g, const Tensor& mean,
                         const Tensor& invstd, const Tensor* weight, const Tensor* dx,
                         const Tensor* dweight, const Tensor* dbias) {
    if (g.dtype() != DType::f32)
        return batch_norm_backward_reference(training, x, g, mean, invstd, weight, dx, dweight,
                                             dbias);
    BackwardArgs<float> a =
        backward_args<float>(training, x, g, mean, invstd, weight, dx, dweight, dbias);
    Geometry geo = geometry(g);
    if (geo.s == 1) {
        ColumnsBackward columns = for_isa<ColumnsBackward>(
            columns_backward_avx512, columns_backward_avx2, columns_backward_base);
        return for_each_column_block(geo, [&](int64_t c0, int64_t c1) { columns(geo, a, c0, c1); });
    }
    BackwardV1 run = for_isa<BackwardV1>(backward_avx512, backward_avx2, backward_base);
    for_each_channel(geo, [&](int64_t c) { run(geo, a, c); });
}

}  // namespace marrow::cpu
