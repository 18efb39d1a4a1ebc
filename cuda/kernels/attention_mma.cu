// CUDA scaled dot-product attention forward on tensor cores, for float32 operands under
// autocast (AttentionParams::precision bf16 or f16; Note [Fused attention] in
// tensor/cpu/attention.cpp has the rounding rules). Version 2 of attention.cu's forward
// (FlashAttention-2, Dao 2023, forward pass), through the warp tile op of cuda/kernels/mma.h:
//   grid (query tiles of 64, batch-heads), 4 warps, each owning 16 query rows.
//   Shared (16-bit operand bits): Q tile (64 x Ep), K tile (64 keys x Ep), V^T tile (Evp x 64);
//   Ep = E rounded up to 16 and Evp = Ev to 8, zero-padded, so odd sizes need no branches.
//   Per key tile: S (16 x 64 per warp) = Q K^T as 4 x 8 mma.m16n8k16 (k = E), in the
//   accumulators' layout; scale, mask, causal and keys past S (-inf) applied there; the
//   online softmax statistics (m, l: float32, rows reduced over the 4 lanes of a quad with
//   shuffles); P o Z / (1 - p) rounded into A fragments straight from the S accumulators (the
//   C layout of two n8 tiles is the A layout of one k16 chunk); O += P V (k = 64 keys).
//   Then O / l and lse = m + log l, as the CPU.
// P is rounded relative to the running max of its 64-key tile, the CPU's relative to its
// (<= 512-key) block: for S > 64 the two round different values (TolClass::attention_autocast
// covers it; S <= 64 agrees with the CPU to the sums' order).
// Backward (FlashAttention-2's split): D = rowsum(dO o O) by attention.cu's row kernel, then
//   dK, dV  grid (key tiles of 64, batch-heads), a warp per 16 keys, transposed products
//           (rows = keys) so P^T and dS^T go from accumulators to A fragments as in forward;
//   dQ      grid (query tiles of 64, batch-heads), a warp per 16 queries;
// P recomputed from lse; every gradient row owned by one warp (no atomics, deterministic).
// Limits: E, Ev <= 128 forward, <= 64 backward (48 KB of shared memory); wider heads use
// attention.cu's SIMT kernels, which round the same operands.
// Simulator-checked (tests/ops/test_attention_autocast.cpp, suite "cuda"); never run on a GPU.
#include <algorithm>
#include <limits>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/attention_mma.h"
#include "cuda/kernels/mma.h"
#include "cuda/launch.h"
#include "tensor/math/attention_math.h"

namespace marrow::cuda {
namespace {

constexpr int kWarps = 4, kBr = 16 * kWarps, kBc = 64, kMaxDim = 128;
constexpr int kKeyTiles = kBc / 8, kMaxOutTiles = kMaxDim / 8;

// Max with NaN propagation (the CPU's row max rule).
__device__ inline float nan_max(float a, float b) { return (b > a || b != b) ? b : a; }

// a (low half), b (high half) as one A-fragment register.
template <GemmPrecision P>
__device__ inline uint32_t pack2(float a, float b) {
    return uint32_t(operand_bits<P>(a)) | (uint32_t(operand_bits<P>(b)) << 16);
}

// The warp's A fragment of k columns [kk, kk + 16) of a 16-row tile (row stride ld).
__device__ inline void load_a(const uint16_t* tile, int ld, int kk, int g, int t, uint32_t a[4]) {
    a[0] = load_pair(tile + g * ld + kk + 2 * t);
    a[1] = load_pair(tile + (g + 8) * ld + kk + 2 * t);
    a[2] = load_pair(tile + g * ld + kk + 2 * t + 8);
    a[3] = load_pair(tile + (g + 8) * ld + kk + 2 * t + 8);
}

// acc (16 x 8 n-tiles, nt of them) += A (16 x K, row stride lda) B, with B column-major:
// its n-th column is row n of `bt` (row stride ldb). K a multiple of 16.
template <GemmPrecision P, int kTiles>
__device__ inline void warp_product(float (&acc)[kTiles][4], int nt, const uint16_t* a_tile,
                                    int lda, const uint16_t* bt, int ldb, int K, int g, int t) {
    for (int kk = 0; kk < K; kk += 16) {
        uint32_t a[4];
        load_a(a_tile, lda, kk, g, t, a);
        for (int n = 0; n < kTiles; ++n) {
            if (n >= nt) break;
            const uint16_t* br = bt + (n * 8 + g) * ldb + kk + 2 * t;
            uint32_t b[2] = {load_pair(br), load_pair(br + 8)};
            mma_16816<P>(acc[n], a, b, acc[n]);
        }
    }
}

// acc (16 x 8 n-tiles) += X B where X (16 x 64) is held in accumulator layout (x[0..7], the
// C layout of 8 n-tiles = the A layout of 4 k16 chunks), rounded to P; B column-major as
// above, k = 64.
template <GemmPrecision P, int kTiles>
__device__ inline void warp_product_acc(float (&acc)[kTiles][4], int nt, const float (&x)[8][4],
                                        const uint16_t* bt, int ldb, int g, int t) {
    for (int kk = 0; kk < 4; ++kk) {
        const float* lo = x[2 * kk];
        const float* hi = x[2 * kk + 1];
        uint32_t a[4] = {pack2<P>(lo[0], lo[1]), pack2<P>(lo[2], lo[3]), pack2<P>(hi[0], hi[1]),
                         pack2<P>(hi[2], hi[3])};
        for (int n = 0; n < kTiles; ++n) {
            if (n >= nt) break;
            const uint16_t* br = bt + (n * 8 + g) * ldb + kk * 16 + 2 * t;
            uint32_t b[2] = {load_pair(br), load_pair(br + 8)};
            mma_16816<P>(acc[n], a, b, acc[n]);
        }
    }
}

// Rows [row0, row0 + 64) of src (rows x cols) as operand bits into `dst` (64 x ld, row-major)
// and, when dst_t is given, transposed into dst_t (ld x 64); zero past rows and cols.
template <GemmPrecision P>
__device__ void stage(const float* src, int64_t row0, int64_t rows, int64_t cols, int ld,
                      uint16_t* dst, uint16_t* dst_t) {
    for (int idx = int(threadIdx.x); idx < 64 * ld; idx += int(blockDim.x)) {
        int r = idx / ld, c = idx % ld;
        uint16_t bits =
            row0 + r < rows && c < cols ? operand_bits<P>(src[(row0 + r) * cols + c]) : uint16_t(0);
        if (dst) dst[idx] = bits;
        if (dst_t) dst_t[c * 64 + r] = bits;
    }
}

// P_ij from the score and the row's lse; NaN for a row whose every key was masked.
__device__ inline float prob(float s, float lse) {
    if (lse != lse || MARROW_MATH(isinf)(lse)) return std::numeric_limits<float>::quiet_NaN();
    return MARROW_MATH(exp)(s - lse);
}

template <GemmPrecision P, typename M>
__global__ void attention_forward_mma_kernel(AttentionParams p, const float* q, const float* k,
                                             const float* v, const M* mask, float* out, float* lse,
                                             int ep, int evp) {
    MARROW_DYNAMIC_SHARED(double, raw);
    uint16_t* qs = reinterpret_cast<uint16_t*>(raw);  // kBr x ep
    uint16_t* ks = qs + kBr * ep;                     // kBc x ep
    uint16_t* vts = ks + kBc * ep;                    // evp x kBc (V^T)
    const float kInf = std::numeric_limits<float>::infinity();
    const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32, g = lane / 4,
              t = lane % 4;
    const int64_t b = blockIdx.y, i0 = int64_t(blockIdx.x) * kBr;
    const int64_t row[2] = {i0 + warp * 16 + g, i0 + warp * 16 + g + 8};  // this lane's rows
    const uint32_t threshold = pool::dropout_threshold(p.dropout_p);
    const float drop_scale = 1.0f / float(1 - p.dropout_p);  // the CPU's factor, in float
    for (int idx = int(threadIdx.x); idx < kBr * ep; idx += int(blockDim.x)) {
        int64_t r = idx / ep, e = idx % ep;
        qs[idx] = i0 + r < p.L && e < p.E ? operand_bits<P>(q[(b * p.L + i0 + r) * p.E + e]) : 0;
    }
    float o[kMaxOutTiles][4] = {};
    float m[2] = {-kInf, -kInf}, l[2] = {0, 0};
    const int n_out = evp / 8;
    const int64_t keys = p.causal ? std::min(p.S, i0 + kBr) : p.S;
    const uint16_t* qw = qs + warp * 16 * ep;
    for (int64_t j0 = 0; j0 < keys; j0 += kBc) {
        __syncthreads();  // the previous K, V tiles are no longer read
        for (int idx = int(threadIdx.x); idx < kBc * ep; idx += int(blockDim.x)) {
            int64_t c = idx / ep, e = idx % ep;
            ks[idx] =
                j0 + c < p.S && e < p.E ? operand_bits<P>(k[(b * p.S + j0 + c) * p.E + e]) : 0;
        }
        for (int idx = int(threadIdx.x); idx < kBc * evp; idx += int(blockDim.x)) {
            int64_t c = idx / evp, e = idx % evp;  // reads rows of v, writes columns of V^T
            vts[e * kBc + c] =
                j0 + c < p.S && e < p.Ev ? operand_bits<P>(v[(b * p.S + j0 + c) * p.Ev + e]) : 0;
        }
        __syncthreads();
        // S = Q K^T: B = K^T (k = E) is column-major, i.e. the K tile's rows.
        float s[kKeyTiles][4] = {};
        for (int kk = 0; kk < ep; kk += 16) {
            uint32_t a[4] = {load_pair(qw + g * ep + kk + 2 * t),
                             load_pair(qw + (g + 8) * ep + kk + 2 * t),
                             load_pair(qw + g * ep + kk + 2 * t + 8),
                             load_pair(qw + (g + 8) * ep + kk + 2 * t + 8)};
            for (int nt = 0; nt < kKeyTiles; ++nt) {
                const uint16_t* kr = ks + (nt * 8 + g) * ep + kk + 2 * t;
                uint32_t bf[2] = {load_pair(kr), load_pair(kr + 8)};
                mma_16816<P>(s[nt], a, bf, s[nt]);
            }
        }
        // Scale, mask; entry i of tile nt is (row[i / 2], key j0 + 8 nt + 2 t + i % 2).
        float mt[2] = {-kInf, -kInf};
        for (int nt = 0; nt < kKeyTiles; ++nt)
            for (int i = 0; i < 4; ++i) {
                int64_t r = row[i / 2], j = j0 + nt * 8 + 2 * t + i % 2;
                float x = float(p.scale) * s[nt][i];
                if (j >= p.S)
                    x = -kInf;
                else if (r < p.L)
                    x += attention::mask_term<float>(p, mask, b, r, j);
                s[nt][i] = x;
                mt[i / 2] = nan_max(mt[i / 2], x);
            }
        float alpha[2], shift[2], sum[2] = {0, 0};
        for (int h = 0; h < 2; ++h) {
            for (int off = 1; off < 4; off *= 2)  // the row's 4 lanes (t = 0..3) of the quad
                mt[h] = nan_max(mt[h], __shfl_xor_sync(0xffffffffu, mt[h], off));
            float mn = nan_max(m[h], mt[h]);
            shift[h] = MARROW_MATH(isinf)(mn) && mn < 0 ? 0.0f : mn;  // all -inf so far
            alpha[h] = MARROW_MATH(exp)(m[h] - shift[h]);
            m[h] = mn;
        }
        for (int nt = 0; nt < kKeyTiles; ++nt)
            for (int i = 0; i < 4; ++i) {
                float pij = MARROW_MATH(exp)(s[nt][i] - shift[i / 2]);
                sum[i / 2] += pij;
                int64_t r = row[i / 2], j = j0 + nt * 8 + 2 * t + i % 2;
                if (p.dropout_p > 0 && r < p.L && j < p.S)
                    pij *= attention::keep(p, threshold, b, r, j) ? drop_scale : 0.0f;
                s[nt][i] = pij;
            }
        for (int h = 0; h < 2; ++h) {
            for (int off = 1; off < 4; off *= 2)
                sum[h] += __shfl_xor_sync(0xffffffffu, sum[h], off);
            l[h] = m[h] != m[h] ? m[h] : l[h] * alpha[h] + sum[h];  // a NaN score: NaN row
        }
        for (int nv = 0; nv < kMaxOutTiles; ++nv)
            if (nv < n_out)
                for (int i = 0; i < 4; ++i) o[nv][i] *= alpha[i / 2];
        // O += P V: the A fragment of keys [16 kk, 16 kk + 16) is S tiles 2 kk and 2 kk + 1.
        warp_product_acc<P, kMaxOutTiles>(o, n_out, s, vts, kBc, g, t);
    }
    const float kNaN = std::numeric_limits<float>::quiet_NaN();
    for (int nv = 0; nv < n_out; ++nv)
        for (int i = 0; i < 4; ++i) {
            int64_t r = row[i / 2], col = nv * 8 + 2 * t + i % 2;
            if (r < p.L && col < p.Ev)  // l = 0 (every key masked): NaN, as 0 / 0
                out[(b * p.L + r) * p.Ev + col] = l[i / 2] == 0 ? kNaN : o[nv][i] / l[i / 2];
        }
    for (int h = 0; h < 2; ++h)
        if (t == 0 && row[h] < p.L) lse[b * p.L + row[h]] = m[h] + MARROW_MATH(log)(l[h]);
}

constexpr int kMaxBwdDim = 64;  // backward: six (five) 64 x 64 bf16 tiles in 48 KB

// One warp per 16 keys j of this block's 64: dK_j, dV_j over every query tile (and dM_ij),
// computed transposed (rows = keys, columns = queries) so the accumulators stay per key:
//   S^T = K_w Q^T, P^T = exp(scale S^T + M^T - lse), dV_w += round(P^T o Z) dO,
//   dP^T = V_w dO^T, dS^T = P^T o (dP^T o Z - D), dK_w += round(scale dS^T) Q.
// Shared: K, V tiles of the block's keys (rows), Q and dO of the query tile as rows and as
// transposes (the B operands of dK and dV: k = queries). ep, evp: E, Ev rounded up to 16.
template <GemmPrecision P, typename M>
__global__ void attention_dkdv_mma_kernel(AttentionParams p, const float* q, const float* k,
                                          const float* v, const M* mask, const float* lse,
                                          const float* dd, const float* g, float* dk, float* dv,
                                          float* dmask, int ep, int evp) {
    MARROW_DYNAMIC_SHARED(double, raw);
    uint16_t* ks = reinterpret_cast<uint16_t*>(raw);  // 64 x ep
    uint16_t* vs = ks + 64 * ep;                      // 64 x evp
    uint16_t* qs = vs + 64 * evp;                     // 64 x ep
    uint16_t* qts = qs + 64 * ep;                     // ep x 64
    uint16_t* gs = qts + 64 * ep;                     // 64 x evp
    uint16_t* gts = gs + 64 * evp;                    // evp x 64
    const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32, gq = lane / 4,
              t = lane % 4;
    const int64_t b = blockIdx.y, j0 = int64_t(blockIdx.x) * 64;
    const int64_t key[2] = {j0 + warp * 16 + gq, j0 + warp * 16 + gq + 8};
    const uint32_t threshold = pool::dropout_threshold(p.dropout_p);
    const float drop_scale = 1.0f / float(1 - p.dropout_p);
    stage<P>(k + b * p.S * p.E, j0, p.S, p.E, ep, ks, nullptr);
    stage<P>(v + b * p.S * p.Ev, j0, p.S, p.Ev, evp, vs, nullptr);
    float dk_acc[kMaxBwdDim / 8][4] = {}, dv_acc[kMaxBwdDim / 8][4] = {};
    const int64_t first = p.causal ? j0 : 0;  // causal: earlier queries see none of these keys
    for (int64_t i0 = first; i0 < p.L; i0 += 64) {
        __syncthreads();  // the previous query tile is no longer read
        stage<P>(q + b * p.L * p.E, i0, p.L, p.E, ep, qs, qts);
        stage<P>(g + b * p.L * p.Ev, i0, p.L, p.Ev, evp, gs, gts);
        __syncthreads();
        float st[8][4] = {}, dpt[8][4] = {}, pz[8][4];
        warp_product<P>(st, 8, ks + warp * 16 * ep, ep, qs, ep, ep, gq, t);
        warp_product<P>(dpt, 8, vs + warp * 16 * evp, evp, gs, evp, evp, gq, t);
        for (int nt = 0; nt < 8; ++nt)
            for (int i = 0; i < 4; ++i) {  // entry i: key key[i / 2], query i0 + 8 nt + 2 t + i % 2
                const int64_t j = key[i / 2], qi = i0 + nt * 8 + 2 * t + i % 2;
                float pij = 0, z = 1, ds = 0;
                if (j < p.S && qi < p.L) {
                    float x =
                        float(p.scale) * st[nt][i] + attention::mask_term<float>(p, mask, b, qi, j);
                    pij = prob(x, lse[b * p.L + qi]);
                    if (p.dropout_p > 0)
                        z = attention::keep(p, threshold, b, qi, j) ? drop_scale : 0.0f;
                    ds = pij * (dpt[nt][i] * z - dd[b * p.L + qi]);
                    if (dmask) dmask[(b * p.L + qi) * p.S + j] = ds;
                }
                pz[nt][i] = pij * z;
                st[nt][i] = float(p.scale) * ds;  // the dK product's operand (rounded there)
            }
        warp_product_acc<P>(dv_acc, evp / 8, pz, gts, 64, gq, t);
        warp_product_acc<P>(dk_acc, ep / 8, st, qts, 64, gq, t);
    }
    for (int h = 0; h < 2; ++h) {
        if (key[h] >= p.S) continue;
        for (int n = 0; n < kMaxBwdDim / 8; ++n)
            for (int c = 0; c < 2; ++c) {
                const int64_t col = n * 8 + 2 * t + c;
                if (dk && col < p.E) dk[(b * p.S + key[h]) * p.E + col] = dk_acc[n][2 * h + c];
                if (dv && col < p.Ev) dv[(b * p.S + key[h]) * p.Ev + col] = dv_acc[n][2 * h + c];
            }
    }
}

// One warp per 16 queries i of this block's 64: dQ_i over every key tile,
//   S = Q_w K^T, dP = dO_w V^T, dS = P o (dP o Z - D), dQ_w += round(scale dS) K.
// Shared: Q, dO of the block (rows), K (rows and transposed: dQ's B) and V of the key tile.
template <GemmPrecision P, typename M>
__global__ void attention_dq_mma_kernel(AttentionParams p, const float* q, const float* k,
                                        const float* v, const M* mask, const float* lse,
                                        const float* dd, const float* g, float* dq, int ep,
                                        int evp) {
    MARROW_DYNAMIC_SHARED(double, raw);
    uint16_t* qs = reinterpret_cast<uint16_t*>(raw);  // 64 x ep
    uint16_t* gs = qs + 64 * ep;                      // 64 x evp
    uint16_t* ks = gs + 64 * evp;                     // 64 x ep
    uint16_t* kts = ks + 64 * ep;                     // ep x 64
    uint16_t* vs = kts + 64 * ep;                     // 64 x evp
    const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32, gq = lane / 4,
              t = lane % 4;
    const int64_t b = blockIdx.y, i0 = int64_t(blockIdx.x) * 64;
    const int64_t row[2] = {i0 + warp * 16 + gq, i0 + warp * 16 + gq + 8};
    float li[2], di[2];
    for (int h = 0; h < 2; ++h) {
        li[h] = row[h] < p.L ? lse[b * p.L + row[h]] : 0.0f;
        di[h] = row[h] < p.L ? dd[b * p.L + row[h]] : 0.0f;
    }
    const uint32_t threshold = pool::dropout_threshold(p.dropout_p);
    const float drop_scale = 1.0f / float(1 - p.dropout_p);
    stage<P>(q + b * p.L * p.E, i0, p.L, p.E, ep, qs, nullptr);
    stage<P>(g + b * p.L * p.Ev, i0, p.L, p.Ev, evp, gs, nullptr);
    float dq_acc[kMaxBwdDim / 8][4] = {};
    const int64_t keys = p.causal ? std::min(p.S, i0 + 64) : p.S;
    for (int64_t j0 = 0; j0 < keys; j0 += 64) {
        __syncthreads();
        stage<P>(k + b * p.S * p.E, j0, p.S, p.E, ep, ks, kts);
        stage<P>(v + b * p.S * p.Ev, j0, p.S, p.Ev, evp, vs, nullptr);
        __syncthreads();
        float s[8][4] = {}, dp[8][4] = {};
        warp_product<P>(s, 8, qs + warp * 16 * ep, ep, ks, ep, ep, gq, t);
        warp_product<P>(dp, 8, gs + warp * 16 * evp, evp, vs, evp, evp, gq, t);
        for (int nt = 0; nt < 8; ++nt)
            for (int i = 0; i < 4; ++i) {
                const int64_t qi = row[i / 2], j = j0 + nt * 8 + 2 * t + i % 2;
                float ds = 0;
                if (j < p.S && qi < p.L) {
                    float x =
                        float(p.scale) * s[nt][i] + attention::mask_term<float>(p, mask, b, qi, j);
                    float z = p.dropout_p > 0
                                  ? (attention::keep(p, threshold, b, qi, j) ? drop_scale : 0.0f)
                                  : 1.0f;
                    ds = prob(x, li[i / 2]) * (dp[nt][i] * z - di[i / 2]);
                }
                s[nt][i] = float(p.scale) * ds;
            }
        warp_product_acc<P>(dq_acc, ep / 8, s, kts, 64, gq, t);
    }
    for (int h = 0; h < 2; ++h) {
        if (row[h] >= p.L) continue;
        for (int n = 0; n < kMaxBwdDim / 8; ++n)
            for (int c = 0; c < 2; ++c) {
                const int64_t col = n * 8 + 2 * t + c;
                if (col < p.E) dq[(b * p.L + row[h]) * p.E + col] = dq_acc[n][2 * h + c];
            }
    }
}

// Runs fn.template operator()<P, M>(mask pointer) for p's precision and the mask's type.
template <typename Fn>
void with_precision_and_mask(const AttentionParams& p, const Tensor* mask, Fn&& fn) {
    auto with_mask = [&]<GemmPrecision P>() {
        if (!mask)
            fn.template operator()<P, bool>(static_cast<const bool*>(nullptr));
        else if (mask->dtype() == DType::b8)
            fn.template operator()<P, bool>(mask->data_ptr<bool>());
        else
            fn.template operator()<P, float>(mask->data_ptr<float>());
    };
    if (p.precision == GemmPrecision::bf16)
        with_mask.template operator()<GemmPrecision::bf16>();
    else
        with_mask.template operator()<GemmPrecision::f16>();
}

}  // namespace

bool attention_mma_backward_supported(const AttentionParams& p, DType dtype) {
    return dtype == DType::f32 && p.precision != GemmPrecision::full && p.E <= kMaxBwdDim &&
           p.Ev <= kMaxBwdDim;
}

void attention_backward_mma(const AttentionParams& p, const Tensor& q, const Tensor& k,
                            const Tensor& v, const Tensor* mask, const Tensor& lse, const Tensor& d,
                            const Tensor& g, const Tensor* dq, const Tensor* dk, const Tensor* dv,
                            const Tensor* dmask) {
    const int ep = int((p.E + 15) / 16 * 16), evp = int((p.Ev + 15) / 16 * 16);
    auto f = [](const Tensor* t) { return t ? t->data_ptr<float>() : nullptr; };
    with_precision_and_mask(p, mask, [&]<GemmPrecision P, typename M>(const M* m) {
        if (dk || dv || dmask) {
            const size_t bytes = size_t(64 * (3 * ep + 3 * evp)) * sizeof(uint16_t);
            auto* kernel = &attention_dkdv_mma_kernel<P, M>;
            MARROW_LAUNCH(kernel, dim3(unsigned((p.S + 63) / 64), unsigned(p.batch)),
                          unsigned(32 * kWarps), bytes, p, q.data_ptr<float>(), k.data_ptr<float>(),
                          v.data_ptr<float>(), m, lse.data_ptr<float>(), d.data_ptr<float>(),
                          g.data_ptr<float>(), f(dk), f(dv), f(dmask), ep, evp);
        }
        if (dq) {
            const size_t bytes = size_t(64 * (3 * ep + 2 * evp)) * sizeof(uint16_t);
            auto* kernel = &attention_dq_mma_kernel<P, M>;
            MARROW_LAUNCH(kernel, dim3(unsigned((p.L + 63) / 64), unsigned(p.batch)),
                          unsigned(32 * kWarps), bytes, p, q.data_ptr<float>(), k.data_ptr<float>(),
                          v.data_ptr<float>(), m, lse.data_ptr<float>(), d.data_ptr<float>(),
                          g.data_ptr<float>(), dq->data_ptr<float>(), ep, evp);
        }
    });
}

bool attention_mma_supported(const AttentionParams& p, DType dtype) {
    return dtype == DType::f32 && p.precision != GemmPrecision::full && p.E <= kMaxDim &&
           p.Ev <= kMaxDim;
}

void attention_forward_mma(const AttentionParams& p, const Tensor& q, const Tensor& k,
                           const Tensor& v, const Tensor* mask, const Tensor& out,
                           const Tensor& lse) {
    const int ep = int((p.E + 15) / 16 * 16), evp = int((p.Ev + 7) / 8 * 8);
    const size_t bytes = size_t(kBr * ep + kBc * ep + evp * kBc) * sizeof(uint16_t);
    const dim3 grid(unsigned((p.L + kBr - 1) / kBr), unsigned(p.batch));
    with_precision_and_mask(p, mask, [&]<GemmPrecision P, typename M>(const M* m) {
        auto* kernel = &attention_forward_mma_kernel<P, M>;
        MARROW_LAUNCH(kernel, grid, unsigned(32 * kWarps), bytes, p, q.data_ptr<float>(),
                      k.data_ptr<float>(), v.data_ptr<float>(), m, out.data_ptr<float>(),
                      lse.data_ptr<float>(), ep, evp);
    });
}

}  // namespace marrow::cuda
