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
// Backward stays on attention.cu's SIMT kernels (operands rounded as they are staged).
// Limits: E, Ev <= 128 (48 KB of shared memory); larger heads use the SIMT forward.
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

template <GemmPrecision P, typename M>
__global__ void attention_forward_mma_kernel(AttentionParams p, const float* q, const float* k,
                                             const float* v, const M* mask, float* out,
                                             float* lse, int ep, int evp) {
    MARROW_DYNAMIC_SHARED(double, raw);
    uint16_t* qs = reinterpret_cast<uint16_t*>(raw);  // kBr x ep
    uint16_t* ks = qs + kBr * ep;                      // kBc x ep
    uint16_t* vts = ks + kBc * ep;                     // evp x kBc (V^T)
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
            ks[idx] = j0 + c < p.S && e < p.E ? operand_bits<P>(k[(b * p.S + j0 + c) * p.E + e])
                                              : 0;
        }
        for (int idx = int(threadIdx.x); idx < kBc * evp; idx += int(blockDim.x)) {
            int64_t c = idx / evp, e = idx % evp;  // reads rows of v, writes columns of V^T
            vts[e * kBc + c] = j0 + c < p.S && e < p.Ev
                                   ? operand_bits<P>(v[(b * p.S + j0 + c) * p.Ev + e])
                                   : 0;
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
        for (int kk = 0; kk < kBc / 16; ++kk) {
            const float* lo = s[2 * kk];
            const float* hi = s[2 * kk + 1];
            uint32_t a[4] = {pack2<P>(lo[0], lo[1]), pack2<P>(lo[2], lo[3]),
                             pack2<P>(hi[0], hi[1]), pack2<P>(hi[2], hi[3])};
            for (int nv = 0; nv < kMaxOutTiles; ++nv) {
                if (nv >= n_out) break;
                const uint16_t* vr = vts + (nv * 8 + g) * kBc + kk * 16 + 2 * t;
                uint32_t bf[2] = {load_pair(vr), load_pair(vr + 8)};
                mma_16816<P>(o[nv], a, bf, o[nv]);
            }
        }
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

}  // namespace

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
    auto launch = [&]<GemmPrecision P, typename M>(const M* m) {
        auto* kernel = &attention_forward_mma_kernel<P, M>;
        MARROW_LAUNCH(kernel, grid, unsigned(32 * kWarps), bytes, p, q.data_ptr<float>(),
                      k.data_ptr<float>(), v.data_ptr<float>(), m, out.data_ptr<float>(),
                      lse.data_ptr<float>(), ep, evp);
    };
    auto with_mask = [&]<GemmPrecision P>() {
        if (!mask)
            launch.template operator()<P, bool>(static_cast<const bool*>(nullptr));
        else if (mask->dtype() == DType::b8)
            launch.template operator()<P, bool>(mask->data_ptr<bool>());
        else
            launch.template operator()<P, float>(mask->data_ptr<float>());
    };
    if (p.precision == GemmPrecision::bf16)
        with_mask.template operator()<GemmPrecision::bf16>();
    else
        with_mask.template operator()<GemmPrecision::f16>();
}

}  // namespace marrow::cuda
