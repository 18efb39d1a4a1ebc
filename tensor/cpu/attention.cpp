// CPU scaled dot-product attention, fused (flash-attention style) forward and backward.
//
// Note [Fused attention]
// Forward (Dao et al., FlashAttention, 2022; online softmax of Milakov & Gimelshein 2018): per
// (batch-head b, tile of kRows queries), the keys are streamed in blocks of at most kMaxCols:
//   S = scale Q_t K_blk^T (+ mask, causal -inf)          GEMM, Br x Bc
//   m' = max(m, rowmax S);  P = exp(S - m');  l = l e^(m - m') + rowsum P
//   O = O e^(m - m') + (P o Z / (1 - p)) V_blk            GEMM into the output rows
// then O /= l and lse = m + log l, the one statistic backward needs. The L x S score matrix of
// a head never exists: a thread holds one Br x Bc tile (48 x 512 floats at most). A row whose
// scores are all -inf ends with l = 0: O = 0 / 0 = NaN, as PyTorch's math path.
// Backward (FlashAttention-2's, derivation in autograd/functions/attention.cpp): per batch-head,
// on one thread, for each query tile and key block, P = exp(S - lse) is recomputed and
//   dV_blk += (P o Z)^T dO_t;  dP = (dO_t V_blk^T) o Z;  dS = P o (dP - D_t)
//   dQ_t += scale dS K_blk;  dK_blk += scale dS^T Q_t,   D = rowsum(dO o O) once per head;
// five GEMMs per tile pair (the forward's two plus three), sums in a fixed order: the result
// does not depend on the thread count (threads own whole heads, no atomics). Tasks (heads;
// whole heads, or pairs of query tiles, in forward) are handed out dynamically: on a machine
// shared with other jobs a static split waits for the slowest thread.
// The block products run on the project's GEMM micro-kernels (tensor/cpu/gemm.h, serial per
// thread); K and V are transposed once per head into a thread's buffer so that S = Q K^T and
// dP = dO V^T read both operands row-major (the GEMM's unpacked small-matrix path). Row work
// (max, exp, sums) is vectorized per ISA with tensor/cpu/vec_math.h (float32); float64 uses
// libm. tests/ops/test_attention.cpp checks this file against attention_reference.h.
// Under autocast (AttentionParams::precision bf16 or f16, float32 only: fixed when the op is
// recorded, as the GEMMs' gemm_precision(dtype), and replayed by its backward) every block
// product takes operands rounded to that format (nearest even) and sums in float32:
//   S = scale (round(Q) round(K)^T)   (scale on the float32 sum, as matmul(q, k^T) * scale)
//   P = exp(S - m), m, l, lse         float32
//   O = round(P o Z / (1 - p)) round(V) / l    (FlashAttention-2 rounds P before P V too)
//   dV = round(P o Z / (1 - p))^T round(dO),  dP = round(dO) round(V)^T,
//   dS = P o (dP o Z / (1 - p) - D) in float32,
//   dQ = round(scale dS) round(K),  dK = round(scale dS)^T round(Q).
// The composed twin (matmul -> softmax -> dropout -> matmul) under the same AutocastGuard
// rounds exactly these operands (its scaled-scores gradient is its matmul's operand), except
// in two places: it rounds the normalized P (round(P / l) where we take round(P) / l, so O
// differs by one bf16 rounding of P), and its D = rowsum(dP o P) comes from the rounded
// products where ours is rowsum(dO o O); TolClass::attention_autocast covers both. bf16 with
// AVX-512 BF16 (gemm_bf16_native()) runs the bf16 GEMM's vdpbf16ps micro-kernel, with q, k,
// v, dO packed into its bf16 pairs once per head (the forward's Q once per query tile) and P,
// dS once per tile; otherwise (no BF16 ISA, or f16) the float32 micro-kernels run on
// operands rounded once per head: the same products, sums in another order
// (attention_products.h has both policies).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "tensor/cpu/attention_products.h"
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/gemm_bf16.h"
#include "tensor/cpu/gemm.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/vec_lanes.h"
#include "tensor/math/attention_math.h"

namespace marrow::cpu {
namespace {

constexpr int64_t kRows = 48;      // forward query tile: 4 AVX-512 (8 AVX2) micro-kernel rows
constexpr int64_t kBwdRows = 96;   // backward: deeper dV, dK products (K = the tile's rows)
constexpr int64_t kMaxCols = 512;  // key block, split evenly: S = 257 is one block
// K^T and V^T rows are zero-padded to a multiple of 32 keys (the AVX-512 micro-kernel's width;
// AVX2's 16 divides it; attention_products.h), so the score products S = Q K^T and dO V^T run
// only full-width, unpacked micro-tiles: S = 257 would otherwise pack all of Q for one last
// column.
using attention_detail::pad_cols;
using attention_detail::scratch;

// ---- per-ISA row helpers (float32)
// dS = P o (dP - D), in place over dP.
MARROW_VEC_INLINE void ds_body(const float* __restrict p, float* __restrict dp, int64_t n,
                               float d) {
    for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - d);
}

MARROW_TARGET_AVX512 float row_max_avx512(const float* s, int64_t n) { return row_max<16>(s, n); }
MARROW_TARGET_AVX2 float row_max_avx2(const float* s, int64_t n) { return row_max<8>(s, n); }
float row_max_base(const float* s, int64_t n) { return row_max<4>(s, n); }
MARROW_TARGET_AVX512 float exp_sum_avx512(const float* s, float* p, int64_t n, float shift) {
    return exp_sum_body<16>(s, p, n, shift);
}
MARROW_TARGET_AVX2 float exp_sum_avx2(const float* s, float* p, int64_t n, float shift) {
    return exp_sum_body<8>(s, p, n, shift);
}
float exp_sum_base(const float* s, float* p, int64_t n, float shift) {
    return exp_sum_body<4>(s, p, n, shift);
}
MARROW_TARGET_AVX512 void ds_avx512(const float* p, float* dp, int64_t n, float d) {
    ds_body(p, dp, n, d);
}
MARROW_TARGET_AVX2 void ds_avx2(const float* p, float* dp, int64_t n, float d) {
    ds_body(p, dp, n, d);
}
void ds_base(const float* p, float* dp, int64_t n, float d) { ds_body(p, dp, n, d); }

// Row operations for T: vectorized for float, libm for double (gradcheck's dtype).
template <typename T>
struct RowOps {
    T (*max)(const T*, int64_t);
    T (*exp_sum)(const T*, T*, int64_t, T);  // p = exp(s - shift); returns sum p
    void (*ds)(const T*, T*, int64_t, T);
};
template <typename T>
RowOps<T> row_ops() {
    if constexpr (std::is_same_v<T, float>) {
        switch (cpu_isa()) {
            case Isa::avx512:
                return {row_max_avx512, exp_sum_avx512, ds_avx512};
            case Isa::avx2:
                return {row_max_avx2, exp_sum_avx2, ds_avx2};
            case Isa::base:
                break;
        }
        return {row_max_base, exp_sum_base, ds_base};
    } else {
        return {[](const T* s, int64_t n) {
                    T m = -std::numeric_limits<T>::infinity();
                    for (int64_t j = 0; j < n; ++j) m = (s[j] > m || s[j] != s[j]) ? s[j] : m;
                    return m;
                },
                [](const T* s, T* p, int64_t n, T shift) {
                    T sum = 0;
                    for (int64_t j = 0; j < n; ++j) sum += p[j] = std::exp(s[j] - shift);
                    return sum;
                },
                [](const T* p, T* dp, int64_t n, T d) {
                    for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - d);
                }};
    }
}

// Key blocks: S split evenly into pieces of at most kMaxCols.
int64_t block_cols(int64_t S) {
    int64_t blocks = std::max<int64_t>(1, (S + kMaxCols - 1) / kMaxCols);
    return pad_cols((S + blocks - 1) / blocks);
}

// Adds the mask / causal terms to the score tile rows [i0, i0 + br) x keys [j0, j0 + bc), and
// applies dropout's factor to a tile (rows of stride ld).
template <typename T, typename M>
void add_mask(const AttentionParams& p, const M* mask, int64_t b, int64_t i0, int64_t br,
              int64_t j0, int64_t bc, T* s, int64_t ld) {
    if (!mask && !p.causal) return;
    for (int64_t r = 0; r < br; ++r)
        for (int64_t c = 0; c < bc; ++c)
            s[r * ld + c] += attention::mask_term<T>(p, mask, b, i0 + r, j0 + c);
}
template <typename T>
void apply_dropout(const AttentionParams& p, int64_t b, int64_t i0, int64_t br, int64_t j0,
                   int64_t bc, T* s, int64_t ld) {
    if (p.dropout_p <= 0) return;
    const uint32_t threshold = pool::dropout_threshold(p.dropout_p);
    const T scale = T(1) / T(1 - p.dropout_p);
    for (int64_t r = 0; r < br; ++r)
        for (int64_t c = 0; c < bc; ++c)
            s[r * ld + c] *= attention::keep(p, threshold, b, i0 + r, j0 + c) ? scale : T(0);
}

// Keys a causal query tile [i0, i0 + br) can see: [0, i0 + br).
int64_t visible_keys(const AttentionParams& p, int64_t i0, int64_t br) {
    return p.causal ? std::min(p.S, i0 + br) : p.S;
}

// Prod: the block products' policy (attention_products.h), constructed once per thread.
template <typename T, typename M, typename Prod, typename MakeProd>
void forward_fast(const AttentionParams& p, const T* q, const T* k, const T* v, const M* mask,
                  T* out, T* lse, MakeProd make_prod) {
    const RowOps<T> ops = row_ops<T>();
    const int64_t tiles = (p.L + kRows - 1) / kRows, bc_max = block_cols(p.S);
    const T kInf = std::numeric_limits<T>::infinity();
    // Whole heads per task when there are heads enough (K, V are then transposed / packed once
    // per head, not once per task: on a shared machine threads interleave chunks); pairs of
    // query tiles for a few long sequences.
    const int64_t chunk = p.batch >= 4 * omp_get_max_threads() ? tiles : 2;
#pragma omp parallel
    {
        Prod prod = make_prod();
        int64_t cached = -1;  // the head whose K (and V) this thread's products hold
        T* s = scratch<T>(2, kRows * bc_max);
        T m[kRows], l[kRows];
#pragma omp for schedule(dynamic, chunk)
        for (int64_t task = 0; task < p.batch * tiles; ++task) {
            const int64_t b = task / tiles, i0 = task % tiles * kRows;
            const int64_t br = std::min(kRows, p.L - i0);
            if (b != cached) {
                prod.head_forward(q + b * p.L * p.E, k + b * p.S * p.E, v + b * p.S * p.Ev);
                cached = b;
            }
            prod.query_tile(i0, br);
            T* o = out + (b * p.L + i0) * p.Ev;
            std::fill(o, o + br * p.Ev, T(0));
            std::fill(m, m + br, -kInf);
            std::fill(l, l + br, T(0));
            const int64_t keys = visible_keys(p, i0, br);
            for (int64_t j0 = 0; j0 < keys; j0 += bc_max) {
                const int64_t bc = std::min(bc_max, keys - j0), nb = pad_cols(bc);
                prod.scores(br, j0, nb, s);
                add_mask(p, mask, b, i0, br, j0, bc, s, nb);
                for (int64_t r = 0; r < br; ++r) {
                    T* row = s + r * nb;
                    T mt = ops.max(row, bc);
                    T mn = (mt > m[r] || mt != mt) ? mt : m[r];
                    // All -inf so far: exp(-inf - 0) = 0 keeps P, l and O at zero.
                    T shift = std::isinf(mn) && mn < 0 ? T(0) : mn;
                    T alpha = std::exp(m[r] - shift);
                    T sum = ops.exp_sum(row, row, bc, shift);
                    l[r] = mn != mn ? mn : l[r] * alpha + sum;  // a NaN score: NaN row
                    m[r] = mn;
                    if (alpha != T(1))
                        for (int64_t e = 0; e < p.Ev; ++e) o[r * p.Ev + e] *= alpha;
                }
                apply_dropout(p, b, i0, br, j0, bc, s, nb);
                prod.pv(s, br, bc, nb, j0, o);  // O += (P o Z) V_blk
            }
            for (int64_t r = 0; r < br; ++r) {
                T inv = T(1) / l[r];  // l = 0 (all masked): NaN, as 0 / 0
                for (int64_t e = 0; e < p.Ev; ++e)
                    o[r * p.Ev + e] =
                        l[r] == T(0) ? std::numeric_limits<T>::quiet_NaN() : o[r * p.Ev + e] * inv;
                lse[b * p.L + i0 + r] = m[r] + std::log(l[r]);
            }
        }
    }
}

template <typename T, typename M, typename Prod, typename MakeProd>
void backward_fast(const AttentionParams& p, const T* q, const T* k, const T* v, const M* mask,
                   const T* out, const T* lse, const T* g, T* dq, T* dk, T* dv, T* dmask,
                   MakeProd make_prod) {
    const RowOps<T> ops = row_ops<T>();
    const int64_t bc_max = block_cols(p.S);
    const bool want_ds = dq || dk || dmask;
    const bool drop = p.dropout_p > 0;
    // Full precision: dQ, dK = scale (dS K), scale (dS^T Q). Low precision: the composed
    // twin's order, round(scale dS) K (its matmul's operand is the scaled gradient).
    const bool low = p.precision != GemmPrecision::full && std::is_same_v<T, float>;
    const T ds_alpha = low ? T(1) : T(p.scale);
#pragma omp parallel for schedule(dynamic)
    for (int64_t b = 0; b < p.batch; ++b) {
        Prod prod = make_prod();
        T* pt = scratch<T>(2, kBwdRows * bc_max);
        T* dpt = scratch<T>(3, kBwdRows * bc_max);
        T* pz = drop ? scratch<T>(4, kBwdRows * bc_max) : pt;
        prod.head_backward(q + b * p.L * p.E, k + b * p.S * p.E, v + b * p.S * p.Ev,
                           g + b * p.L * p.Ev, want_ds);
        T* dqb = dq ? dq + b * p.L * p.E : nullptr;
        T* dkb = dk ? dk + b * p.S * p.E : nullptr;
        T* dvb = dv ? dv + b * p.S * p.Ev : nullptr;
        if (dqb) std::fill(dqb, dqb + p.L * p.E, T(0));
        if (dkb) std::fill(dkb, dkb + p.S * p.E, T(0));
        if (dvb) std::fill(dvb, dvb + p.S * p.Ev, T(0));
        if (dmask) std::fill(dmask + b * p.L * p.S, dmask + (b + 1) * p.L * p.S, T(0));
        for (int64_t i0 = 0; i0 < p.L; i0 += kBwdRows) {
            const int64_t br = std::min(kBwdRows, p.L - i0);
            const T* gt = g + (b * p.L + i0) * p.Ev;
            const T* ot = out + (b * p.L + i0) * p.Ev;
            prod.query_tile(i0, br);
            T d[kBwdRows];
            for (int64_t r = 0; r < br; ++r) {
                T acc = 0;
                for (int64_t e = 0; e < p.Ev; ++e) acc += gt[r * p.Ev + e] * ot[r * p.Ev + e];
                d[r] = acc;
            }
            const int64_t keys = visible_keys(p, i0, br);
            for (int64_t j0 = 0; j0 < keys; j0 += bc_max) {
                const int64_t bc = std::min(bc_max, keys - j0), nb = pad_cols(bc);
                prod.scores(br, j0, nb, pt);
                add_mask(p, mask, b, i0, br, j0, bc, pt, nb);
                for (int64_t r = 0; r < br; ++r) {
                    T shift = lse[b * p.L + i0 + r];
                    if (std::isinf(shift) || shift != shift)  // all masked: NaN, as the forward
                        std::fill(pt + r * nb, pt + r * nb + bc,
                                  std::numeric_limits<T>::quiet_NaN());
                    else
                        ops.exp_sum(pt + r * nb, pt + r * nb, bc, shift);
                }
                if (drop) {
                    std::memcpy(pz, pt, size_t(br * nb) * sizeof(T));
                    apply_dropout(p, b, i0, br, j0, bc, pz, nb);
                }
                if (dvb) prod.dv(pz, br, bc, nb, i0, j0, dvb);  // dV_blk += (P o Z)^T dO_t
                if (!want_ds) continue;
                prod.dp(i0, br, j0, nb, dpt);  // dP = dO_t V_blk^T
                apply_dropout(p, b, i0, br, j0, bc, dpt, nb);
                for (int64_t r = 0; r < br; ++r) ops.ds(pt + r * nb, dpt + r * nb, bc, d[r]);
                if (dmask)
                    for (int64_t r = 0; r < br; ++r)
                        std::memcpy(dmask + (b * p.L + i0 + r) * p.S + j0, dpt + r * nb,
                                    size_t(bc) * sizeof(T));
                if (low)
                    for (int64_t r = 0; r < br; ++r)
                        for (int64_t c = 0; c < bc; ++c) dpt[r * nb + c] *= T(p.scale);
                if (!dqb && !dkb) continue;
                prod.prepare_ds(dpt, br, bc, nb);
                if (dqb) prod.dq(dpt, br, bc, nb, i0, j0, dqb, ds_alpha);  // dQ_t += s dS K_blk
                if (dkb) prod.dk(dpt, br, bc, nb, i0, j0, dkb, ds_alpha);  // dK_blk += s dS^T Q_t
            }
        }
    }
}

// Runs fn.template operator()<Prod>(make_prod) with the products' policy for p's precision.
template <typename T, typename Fn>
void with_products(const AttentionParams& p, Fn&& fn) {
    using attention_detail::Bf16Products;
    using attention_detail::FloatProducts;
    if constexpr (std::is_same_v<T, float>) {
        if (p.precision == GemmPrecision::bf16 && gemm_bf16_native())
            return fn.template operator()<Bf16Products>([&] { return Bf16Products(p); });
        return fn.template operator()<FloatProducts<T>>(
            [&] { return FloatProducts<T>(p, p.precision); });
    } else {  // float64 is never rounded
        return fn.template operator()<FloatProducts<T>>(
            [&] { return FloatProducts<T>(p, GemmPrecision::full); });
    }
}

template <typename Fn>
void with_mask_type(DType dtype, const Tensor* mask, Fn&& fn) {
    visit_float(dtype, "scaled_dot_product_attention", [&]<typename T>() {
        if (!mask)
            fn.template operator()<T, bool>(nullptr);
        else if (mask->dtype() == DType::b8)
            fn.template operator()<T, bool>(mask->data<bool>());
        else
            fn.template operator()<T, T>(mask->data<T>());
    });
}

template <typename T>
T* ptr_or_null(const Tensor* t) {
    return t ? t->data<T>() : nullptr;
}

}  // namespace

void attention(const AttentionParams& p, const Tensor& q, const Tensor& k, const Tensor& v,
               const Tensor* mask, const Tensor& out, const Tensor& lse) {
    with_mask_type(q.dtype(), mask, [&]<typename T, typename M>(const M* m) {
        with_products<T>(p, [&]<typename Prod>(auto make_prod) {
            forward_fast<T, M, Prod>(p, q.data<T>(), k.data<T>(), v.data<T>(), m, out.data<T>(),
                                     lse.data<T>(), make_prod);
        });
    });
}

void attention_backward(const AttentionParams& p, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor* mask, const Tensor& out, const Tensor& lse, const Tensor& g,
                        const Tensor* dq, const Tensor* dk, const Tensor* dv, const Tensor* dmask) {
    with_mask_type(q.dtype(), mask, [&]<typename T, typename M>(const M* m) {
        with_products<T>(p, [&]<typename Prod>(auto make_prod) {
            backward_fast<T, M, Prod>(p, q.data<T>(), k.data<T>(), v.data<T>(), m, out.data<T>(),
                                      lse.data<T>(), g.data<T>(), ptr_or_null<T>(dq),
                                      ptr_or_null<T>(dk), ptr_or_null<T>(dv),
                                      ptr_or_null<T>(dmask), make_prod);
        });
    });
}

}  // namespace marrow::cpu
