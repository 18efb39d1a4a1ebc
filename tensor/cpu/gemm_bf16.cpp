// CPU GEMM with bf16 / f16 operands and float32 accumulation: autocast's GEMM (Note [Mixed
// precision], tensor/autocast.h). c = alpha * round(a) @ round(b) + beta * c on float32
// tensors; round() is nearest even to bf16 (or f16).
//
// Versions, picked at run time:
//  1. AVX-512 BF16 (processors with avx512_bf16): operands packed once per product into bf16
//     pairs (k, k+1 of one row of a / one column of b in a 32-bit word, vcvtne2ps2bf16), and
//     a 12 x 32 micro-kernel of vdpbf16ps: each instruction adds a[r][k] b[k][j] +
//     a[r][k+1] b[k+1][j] to 16 float32 accumulators, twice the multiply-adds of an f32 FMA.
//     24 zmm accumulators, as the float32 kernel's (tensor/cpu/gemm.cpp): a 12 x KC sliver of a
//     per broadcast pair, a KC x 32 sliver of b (48 KB of bf16 at KC = 768) streamed from L1.
//     The instructions treat denormal inputs (below 2^-126) as zero and flush denormal sums.
//  2. Fallback (no avx512_bf16, MARROW_CPU_ISA=avx2/base, and every f16 GEMM: no f16 FMA on
//     these CPUs): the operands are rounded to bf16 / f16 values kept in float32 (F16C for
//     f16), then the float32 GEMM runs on them: the same exact products, summed in another
//     order. Costs one pass over a and b and a float32 copy of each.
// tests/ops/test_gemm_bf16.cpp checks both against a float64 GEMM of the rounded operands.
#include "tensor/cpu/gemm_bf16.h"

// GCC 12's AVX-512 headers read a deliberately undefined vector in masked loads and
// conversions (_mm512_undefined_*), which -Wmaybe-uninitialized reports after inlining.
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <bit>

#include "tensor/autocast.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/loops.h"
#include "tensor/factory.h"
#include "tensor/ops/view.h"

namespace marrow::cpu {
namespace {

std::atomic<bool> g_native_allowed{true};

// Micro-tile 12 x 32 floats; K in slices of at most 768 (even, so a slice starts on a pair);
// a block of MC = 12 slivers of a (144 rows x 768 k of bf16 = 216 KB) stays in L2 while the
// 32-column slivers of b of one column block (16 slivers, 512 columns) pass through L1.
// KC = 768 rather than the float32 kernel's 512 (a bf16 sliver is half the bytes): K = 768
// in one slice instead of two, one C tile update fewer; measured 1 thread, three alternating
// runs on the loaded VM: 3152x768x2304 289-324 -> 350-359 GFLOP/s, 3152x768x768 251-310 ->
// 305-330, other shapes within the noise.
constexpr int64_t kMR = kBf16MR, kNR = kBf16NR, kKC = 768, kMcSlivers = 12, kNcSlivers = 16;

inline __mmask16 lanes(int64_t n) {  // the first n of 16 lanes (n clamped to [0, 16])
    return __mmask16((1u << std::clamp<int64_t>(n, 0, 16)) - 1u);
}

// vcvtneps2bf16's rounding for the scalar packing path: nearest even, denormals to zero,
// NaN quieted, so every layout packs the same bits.
inline uint32_t bf16_bits(float f) {
    uint32_t u = std::bit_cast<uint32_t>(f);
    if ((u & 0x7f800000u) == 0) return (u >> 16) & 0x8000u;             // zero or denormal
    if ((u & 0x7fffffffu) > 0x7f800000u) return ((u >> 16) | 0x40u) & 0xffffu;  // NaN
    return ((u + 0x7fffu + ((u >> 16) & 1u)) >> 16) & 0xffffu;
}

// A 16 x 16 matrix of 32-bit words, w[i] = row i, transposed in place (w[j] = column j):
// pairs of rows interleaved by 32-bit words, then by 64-bit words (each 128-bit lane L of
// u[4j + c] then holds column 4L + c of rows 4j..4j+3), then a 4 x 4 transpose of the
// 128-bit lanes.
MARROW_TARGET_AVX512_BF16 inline void transpose16x16(__m512i w[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_epi32(w[2 * i], w[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(w[2 * i], w[2 * i + 1]);
    }
    for (int j = 0; j < 4; ++j) {
        u[4 * j] = _mm512_unpacklo_epi64(t[4 * j], t[4 * j + 2]);
        u[4 * j + 1] = _mm512_unpackhi_epi64(t[4 * j], t[4 * j + 2]);
        u[4 * j + 2] = _mm512_unpacklo_epi64(t[4 * j + 1], t[4 * j + 3]);
        u[4 * j + 3] = _mm512_unpackhi_epi64(t[4 * j + 1], t[4 * j + 3]);
    }
    for (int c = 0; c < 4; ++c) {
        __m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);  // lanes 0, 1 of each
        __m512i v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xee);  // lanes 2, 3
        __m512i v2 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
        __m512i v3 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xee);
        w[c] = _mm512_shuffle_i32x4(v0, v2, 0x88);  // lane 0 of u[c], u[4+c], u[8+c], u[12+c]
        w[4 + c] = _mm512_shuffle_i32x4(v0, v2, 0xdd);
        w[8 + c] = _mm512_shuffle_i32x4(v1, v3, 0x88);
        w[12 + c] = _mm512_shuffle_i32x4(v1, v3, 0xdd);
    }
}

// Packs `nx` lines (rows of a, or columns of b) of a K-deep operand as bf16 pairs:
// dst[p * width + x] = bf16(src(2p, x)) | bf16(src(2p + 1, x)) << 16 for p < ceil(K / 2),
// src(k, x) = src[k * sk + x * sx]; zero for k >= K and for x in [nx, width).
MARROW_TARGET_AVX512_BF16 void pack_pairs(const float* src, int64_t sk, int64_t sx, int64_t K,
                                          int64_t nx, int64_t width, uint32_t* dst) {
    int64_t kp = (K + 1) / 2;
    if (sx == 1) {  // lines contiguous (a transposed, b row-major): rows k and k + 1 at once
        for (int64_t p = 0; p < kp; ++p) {
            const float* r0 = src + 2 * p * sk;
            bool odd_tail = 2 * p + 1 >= K;
            for (int64_t x0 = 0; x0 < width; x0 += 16) {
                __mmask16 m = lanes(nx - x0);
                __m512 v0 = _mm512_maskz_loadu_ps(m, r0 + x0);
                __m512 v1 = odd_tail ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, r0 + sk + x0);
                __m512i w0 = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v0));
                __m512i w1 = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v1));
                _mm512_mask_storeu_epi32(dst + p * width + x0, lanes(width - x0),
                                         _mm512_or_si512(w0, _mm512_slli_epi32(w1, 16)));
            }
        }
        return;
    }
    if (sk == 1) {  // k contiguous (a row-major, b transposed): 16 lines x 16 pairs at a time,
        // converted along the lines, transposed in registers, stored as 16 rows of pairs.
        for (int64_t x0 = 0; x0 < width; x0 += 16) {
            __mmask16 store = lanes(width - x0);
            for (int64_t p0 = 0; p0 < kp; p0 += 16) {
                int64_t k0 = 2 * p0;
                __m512i w[16];
                for (int i = 0; i < 16; ++i) {
                    w[i] = _mm512_setzero_si512();
                    if (x0 + i >= nx) continue;
                    const float* line = src + (x0 + i) * sx + k0;
                    __m512 lo = _mm512_maskz_loadu_ps(lanes(K - k0), line);
                    __m512 hi = _mm512_maskz_loadu_ps(lanes(K - k0 - 16), line + 16);
                    w[i] = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
                }
                transpose16x16(w);
                int64_t np = std::min<int64_t>(16, kp - p0);
                for (int64_t i = 0; i < np; ++i)
                    _mm512_mask_storeu_epi32(dst + (p0 + i) * width + x0, store, w[i]);
            }
        }
        return;
    }
    for (int64_t p = 0; p < kp; ++p)  // any other strides
        for (int64_t x = 0; x < width; ++x) {
            uint32_t lo = 0, hi = 0;
            if (x < nx) {
                lo = bf16_bits(src[2 * p * sk + x * sx]);
                if (2 * p + 1 < K) hi = bf16_bits(src[(2 * p + 1) * sk + x * sx]);
            }
            dst[p * width + x] = lo | hi << 16;
        }
}

// The mr x nr part of the 12 x 32 tile at c (row stride ldc) = alpha * sum over kp pairs of
// a's pairs (a[p * 12 + r]) times b's (b + p * 32) + beta * c (beta == 0: c is not read).
MARROW_TARGET_AVX512_BF16 void micro_kernel(int64_t kp, const uint32_t* __restrict a,
                                            const uint32_t* __restrict b, float* __restrict c,
                                            int64_t ldc, float alpha, float beta, int64_t mr,
                                            int64_t nr) {
    __m512 acc[kMR][2];
#pragma GCC unroll 12
    for (int r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int64_t p = 0; p < kp; ++p) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
        _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNR), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNR + 16), _MM_HINT_T0);
#pragma GCC unroll 12
        for (int r = 0; r < kMR; ++r) {
            __m512bh av = (__m512bh)_mm512_set1_epi32(int(a[r]));
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
        a += kMR;
        b += kNR;
    }
    __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
    for (int r = 0; r < kMR; ++r) {
        if (r >= mr) break;
        float* dst = c + r * ldc;
        __m512 o0 = _mm512_mul_ps(acc[r][0], va), o1 = _mm512_mul_ps(acc[r][1], va);
        if (beta != 0.0f) {
            o0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, dst), vb, o0);
            o1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, dst + 16), vb, o1);
        }
        _mm512_mask_storeu_ps(dst, m0, o0);
        _mm512_mask_storeu_ps(dst + 16, m1, o1);
    }
}

struct Strided {  // element (i, j) at p[i * rs + j * cs]
    const float* p;
    int64_t rs, cs;
};

// One product c (M x N, contiguous) = alpha a @ b + beta c with a and b packed into apack /
// bpack (unless pack_a / pack_b is false: already packed, an operand broadcast over a batch).
// team > 1: every thread of a parallel region calls this with its t; packing is split by
// slivers, then a barrier, then the (row block, column block) tasks are shared out.
void product(int64_t M, int64_t N, int64_t K, Strided a, Strided b, float* c, float alpha,
             float beta, uint32_t* apack, uint32_t* bpack, bool pack_a, bool pack_b, int t,
             int team) {
    int64_t kp = (K + 1) / 2, a_slivers = (M + kMR - 1) / kMR, b_slivers = (N + kNR - 1) / kNR;
    if (pack_a)
        for (int64_t s = a_slivers * t / team; s < a_slivers * (t + 1) / team; ++s)
            pack_pairs(a.p + s * kMR * a.rs, a.cs, a.rs, K, std::min(kMR, M - s * kMR), kMR,
                       apack + s * kMR * kp);
    if (pack_b)
        for (int64_t s = b_slivers * t / team; s < b_slivers * (t + 1) / team; ++s)
            pack_pairs(b.p + s * kNR * b.cs, b.rs, b.cs, K, std::min(kNR, N - s * kNR), kNR,
                       bpack + s * kNR * kp);
    if (team > 1) {
#pragma omp barrier
    }
    // Row blocks halved until there are >= 4 tasks per thread (M = 2056, N = 384: 29 tasks).
    int64_t mcs = kMcSlivers, n_jc = (b_slivers + kNcSlivers - 1) / kNcSlivers;
    while (mcs > 1 && (a_slivers + mcs - 1) / mcs * n_jc < 4 * team) mcs = (mcs + 1) / 2;
    int64_t n_ic = (a_slivers + mcs - 1) / mcs;
    // K in equal even slices of at most KC: 3072 = 4 x 768, 1536 = 2 x 768, 1152 = 2 x 576.
    int64_t n_slices = (K + kKC - 1) / kKC, slice = (K + n_slices - 1) / n_slices;
    slice += slice % 2;
    auto task = [&](int64_t task_index) {
        int64_t ic = task_index / n_jc, jc = task_index % n_jc;
        int64_t is0 = ic * mcs, is1 = std::min(a_slivers, is0 + mcs);
        int64_t js0 = jc * kNcSlivers, js1 = std::min(b_slivers, js0 + kNcSlivers);
        for (int64_t k0 = 0; k0 < K; k0 += slice) {
            int64_t p0 = k0 / 2, pairs = (std::min(slice, K - k0) + 1) / 2;
            float beta_eff = k0 == 0 ? beta : 1.0f;
            for (int64_t js = js0; js < js1; ++js)
                for (int64_t is = is0; is < is1; ++is)
                    micro_kernel(pairs, apack + is * kMR * kp + p0 * kMR,
                                 bpack + js * kNR * kp + p0 * kNR, c + is * kMR * N + js * kNR,
                                 N, alpha, beta_eff, std::min(kMR, M - is * kMR),
                                 std::min(kNR, N - js * kNR));
        }
    };
    if (team > 1) {
#pragma omp for schedule(dynamic)
        for (int64_t i = 0; i < n_ic * n_jc; ++i) task(i);
    } else {
        for (int64_t i = 0; i < n_ic * n_jc; ++i) task(i);
    }
}

void gemm_native(const Tensor& a, const Tensor& b, const Tensor& c, float alpha, float beta) {
    int64_t batch = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
    float* pc = c.data<float>();
    if (K == 0) {  // no products: c = beta * c
        for (int64_t i = 0; i < c.numel(); ++i) pc[i] = beta == 0.0f ? 0.0f : beta * pc[i];
        return;
    }
    int64_t kp = (K + 1) / 2;
    int64_t a_words = (M + kMR - 1) / kMR * kMR * kp, b_words = (N + kNR - 1) / kNR * kNR * kp;
    auto operands = [&](int64_t i) {
        return std::pair{Strided{a.data<float>() + i * a.stride(0), a.stride(1), a.stride(2)},
                         Strided{b.data<float>() + i * b.stride(0), b.stride(1), b.stride(2)}};
    };
    int threads = omp_get_max_threads();
    double mnk = double(M) * double(N) * double(K);
    bool across_batch = batch > 1 && threads > 1 &&
                        (batch >= 4 * threads || mnk < double(1 << 20)) &&
                        double(batch) * mnk >= double(kParallelGrain);
    int slots = across_batch ? threads : 1;
    // Packing buffers from the caching allocator (int32 words: a bf16 pair each).
    Tensor buffer = empty({slots * (a_words + b_words)}, DType::i32);
    auto* words = reinterpret_cast<uint32_t*>(buffer.data<int32_t>());
    if (across_batch) {  // one matrix per thread, each packing its own operands
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < batch; ++i) {
            uint32_t* mine = words + omp_get_thread_num() * (a_words + b_words);
            auto [sa, sb] = operands(i);
            product(M, N, K, sa, sb, pc + i * M * N, alpha, beta, mine, mine + a_words, true,
                    true, 0, 1);
        }
        return;
    }
    auto run = [&](int t, int team) {
        for (int64_t i = 0; i < batch; ++i) {
            auto [sa, sb] = operands(i);  // a broadcast operand (stride 0) is packed once
            product(M, N, K, sa, sb, pc + i * M * N, alpha, beta, words, words + a_words,
                    i == 0 || a.stride(0) != 0, i == 0 || b.stride(0) != 0, t, team);
        }
    };
    if (threads > 1 && mnk >= double(1 << 20)) {
#pragma omp parallel
        run(omp_get_thread_num(), omp_get_num_threads());
    } else {
        run(0, 1);
    }
}

// ---- Fallback: round the operands to bf16 / f16 values in float32, then the float32 GEMM.

// dst[j] = round(src[j * stride]) for j < n.
[[gnu::target("avx2,fma,f16c")]] void round_f16_row(const float* src, int64_t stride, int64_t n,
                                                    float* dst) {
    int64_t j = 0;
    if (stride == 1)
        for (; j + 8 <= n; j += 8)
            _mm256_storeu_ps(dst + j, _mm256_cvtph_ps(_mm256_cvtps_ph(
                                          _mm256_loadu_ps(src + j), _MM_FROUND_TO_NEAREST_INT)));
    for (; j < n; ++j) dst[j] = float(Half(src[j * stride]));
}
void round_bf16_row(const float* src, int64_t stride, int64_t n, float* dst) {
    for (int64_t j = 0; j < n; ++j) dst[j] = float(BFloat16(src[j * stride]));
}

// x: (B, R, C) float32, any strides -> the same values rounded, in a float32 tensor of x's
// shape; a batch broadcast (stride 0) stays a broadcast, a transposed matrix is read (and
// written) in memory order.
Tensor rounded(const Tensor& x, GemmPrecision precision) {
    bool broadcast = x.size(0) > 1 && x.stride(0) == 0;
    Tensor v = broadcast ? op::narrow(x, 0, 0, 1) : x;
    bool transposed = v.stride(2) != 1 && v.stride(1) == 1;
    if (transposed) v = op::transpose(v, 1, 2);
    Tensor out = empty(v.shape(), DType::f32);
    int64_t B = v.size(0), R = v.size(1), C = v.size(2);
    const float* src = v.data<float>();
    float* dst = out.data<float>();
    bool f16 = precision == GemmPrecision::f16;
#pragma omp parallel for schedule(static) if (B * R * C >= kParallelGrain)
    for (int64_t row = 0; row < B * R; ++row) {
        const float* s = src + row / R * v.stride(0) + row % R * v.stride(1);
        f16 ? round_f16_row(s, v.stride(2), C, dst + row * C)
            : round_bf16_row(s, v.stride(2), C, dst + row * C);
    }
    if (transposed) out = op::transpose(out, 1, 2);
    return broadcast ? op::expand(out, x.shape()) : out;
}

}  // namespace

int64_t bf16_packed_words(int64_t lines, int64_t K, int64_t width) {
    return (lines + width - 1) / width * width * ((K + 1) / 2);
}

void bf16_pack(const float* src, int64_t sk, int64_t sx, int64_t K, int64_t lines, int64_t width,
               uint32_t* dst) {
    const int64_t kp = (K + 1) / 2;
    for (int64_t x0 = 0; x0 < lines; x0 += width)
        pack_pairs(src + x0 * sx, sk, sx, K, std::min(width, lines - x0), width,
                   dst + x0 * kp);
}

void bf16_gemm_packed(int64_t M, int64_t N, int64_t pairs, const uint32_t* a, int64_t a_ld,
                      const uint32_t* b, int64_t b_ld, float* c, int64_t ldc, float alpha,
                      float beta) {
    for (int64_t j0 = 0; j0 < N; j0 += kNR)  // one B sliver in L1 against every A sliver
        for (int64_t i0 = 0; i0 < M; i0 += kMR)
            micro_kernel(pairs, a + i0 / kMR * a_ld, b + j0 / kNR * b_ld, c + i0 * ldc + j0, ldc,
                         alpha, beta, std::min(kMR, M - i0), std::min(kNR, N - j0));
}

void round_to_precision(const float* src, int64_t stride, int64_t n, float* dst,
                        GemmPrecision precision) {
    precision == GemmPrecision::f16 ? round_f16_row(src, stride, n, dst)
                                    : round_bf16_row(src, stride, n, dst);
}

bool gemm_bf16_native() { return cpu_has_avx512_bf16() && g_native_allowed.load(); }
void set_gemm_bf16_native_allowed(bool allowed) { g_native_allowed.store(allowed); }

void gemm_low_precision(const Tensor& a, const Tensor& b, const Tensor& c, double alpha,
                        double beta, GemmPrecision precision) {
    MARROW_CHECK(a.dtype() == DType::f32, "gemm: {} operands need float32, got {}",
                 gemm_precision_name(precision), a.dtype());
    if (c.numel() == 0) return;
    if (precision == GemmPrecision::bf16 && gemm_bf16_native())
        return gemm_native(a, b, c, float(alpha), float(beta));
    gemm(rounded(a, precision), rounded(b, precision), c, alpha, beta, GemmPrecision::full);
}

}  // namespace marrow::cpu
