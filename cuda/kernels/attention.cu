// CUDA scaled dot-product attention, fused forward and backward (Note [Fused attention],
// tensor/cpu/attention.cpp; formulas in autograd/functions/attention.cpp). Version 1: one
// thread per query (or key) row, tiles of `tile` rows of Q, K, V (and dO) staged in shared
// memory, online softmax in registers, sums in acc_t<T> in a fixed order. No tensor cores and
// no warp-level tiling yet; checked on the SIMT simulator (tests/ops/test_parity.cpp and
// test_attention.cpp), never run on a GPU.
//   forward      grid (query tiles, batch): per key tile, scores into shared memory, the
//                running max / sum / output row updated as on the CPU; writes out and lse.
//   backward     D = rowsum(dO o O) (one thread per row); then grid (key tiles, batch), one
//                thread per key row j accumulating dK_j, dV_j (and writing dM_ij) over all
//                query tiles; and grid (query tiles, batch), one thread per query row i
//                accumulating dQ_i over all key tiles. Each gradient row has one owner
//                thread: deterministic, no atomics (FlashAttention-2's split of the work).
// The dropout mask and the mask / causal terms come from tensor/math/attention_math.h, the
// CPU's rules, so both backends drop and mask the same scores.
// Under autocast (p.precision bf16 / f16, float32; Note [Fused attention]) forward and
// backward are version 2 on tensor cores (attention_mma.cu) for heads up to 128 (forward) and
// 64 (backward) wide; wider heads run these SIMT kernels, which then round every staged tile
// and P, scale dS to the precision before their products.
#include <algorithm>
#include <limits>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/attention_mma.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"
#include "tensor/factory.h"
#include "tensor/math/accumulate.h"
#include "tensor/math/attention_math.h"

namespace marrow::cuda {
namespace {

constexpr int64_t kSharedBytes = 48 * 1024;  // the default per-block limit

// x rounded to the products' precision (Note [Fused attention] under autocast): bf16 / f16
// values, nearest even, for float32; float64 is never rounded.
template <typename A>
__device__ A round_to(A x, GemmPrecision precision) {
    if constexpr (std::is_same_v<A, float>) {
        if (precision == GemmPrecision::bf16) return float(BFloat16(x));
        if (precision == GemmPrecision::f16) return float(Half(x));
    }
    return x;
}

// Rows [row0, row0 + tile) of src (rows x cols), zero past `rows`, rounded to `precision`:
// every tile feeds only products, so it is rounded once as it is staged.
template <typename A, typename T>
__device__ void load_tile(A* dst, const T* src, int64_t row0, int64_t rows, int64_t cols,
                          int64_t tile, GemmPrecision precision) {
    for (int64_t idx = threadIdx.x; idx < tile * cols; idx += blockDim.x) {
        int64_t r = idx / cols;
        dst[idx] = row0 + r < rows ? round_to(A(src[(row0 + r) * cols + idx % cols]), precision)
                                   : A(0);
    }
}

template <typename A>
__device__ A dot(const A* a, const A* b, int64_t n) {
    A acc = A(0);
    for (int64_t e = 0; e < n; ++e) acc += a[e] * b[e];
    return acc;
}

template <typename A>
__device__ A drop_factor(const AttentionParams& p, uint32_t threshold, int64_t b, int64_t i,
                         int64_t j) {
    if (p.dropout_p <= 0) return A(1);
    return attention::keep(p, threshold, b, i, j) ? A(1) / A(1 - p.dropout_p) : A(0);
}

// Shared: Q tile (tile x E), K tile, V tile (tile x Ev), O rows (tile x Ev), scores (tile^2).
template <typename T, typename M>
__global__ void attention_forward_kernel(AttentionParams p, const T* q, const T* k, const T* v,
                                         const M* mask, T* out, T* lse, int64_t tile) {
    using A = acc_t<T>;
    MARROW_DYNAMIC_SHARED(double, raw);
    A* qs = reinterpret_cast<A*>(raw);
    A* ks = qs + tile * p.E;
    A* vs = ks + tile * p.E;
    A* os = vs + tile * p.Ev;
    A* ss = os + tile * p.Ev;
    const A kInf = std::numeric_limits<A>::infinity();
    const int64_t b = blockIdx.y, i0 = int64_t(blockIdx.x) * tile, r = threadIdx.x, i = i0 + r;
    const bool valid = i < p.L;
    const uint32_t threshold = pool::dropout_threshold(p.dropout_p);
    load_tile(qs, q + b * p.L * p.E, i0, p.L, p.E, tile, p.precision);
    for (int64_t e = 0; e < p.Ev; ++e) os[r * p.Ev + e] = A(0);
    A m = -kInf, l = A(0);
    const int64_t keys = p.causal ? std::min(p.S, i0 + tile) : p.S;
    for (int64_t j0 = 0; j0 < keys; j0 += tile) {
        __syncthreads();  // the previous tile is no longer read
        load_tile(ks, k + b * p.S * p.E, j0, p.S, p.E, tile, p.precision);
        load_tile(vs, v + b * p.S * p.Ev, j0, p.S, p.Ev, tile, p.precision);
        __syncthreads();
        if (!valid) continue;
        const int64_t bc = std::min(tile, p.S - j0);
        A* srow = ss + r * tile;
        A mt = -kInf;
        for (int64_t c = 0; c < bc; ++c) {
            A s = A(p.scale) * dot(qs + r * p.E, ks + c * p.E, p.E) +
                  attention::mask_term<A>(p, mask, b, i, j0 + c);
            srow[c] = s;
            mt = (s > mt || s != s) ? s : mt;
        }
        A mn = (mt > m || mt != mt) ? mt : m;
        A shift = (mn == -kInf) ? A(0) : mn;  // all -inf so far: P, l and O stay 0
        A alpha = MARROW_MATH(exp)(m - shift), sum = A(0);
        for (int64_t c = 0; c < bc; ++c) {
            A pc = MARROW_MATH(exp)(srow[c] - shift);
            sum += pc;
            srow[c] = round_to(pc * drop_factor<A>(p, threshold, b, i, j0 + c), p.precision);
        }
        l = mn != mn ? mn : l * alpha + sum;
        m = mn;
        for (int64_t e = 0; e < p.Ev; ++e) {
            A acc = os[r * p.Ev + e] * alpha;
            for (int64_t c = 0; c < bc; ++c) acc += srow[c] * vs[c * p.Ev + e];
            os[r * p.Ev + e] = acc;
        }
    }
    if (!valid) return;
    for (int64_t e = 0; e < p.Ev; ++e)  // l = 0 (every key masked): NaN, as 0 / 0
        out[(b * p.L + i) * p.Ev + e] =
            T(l == A(0) ? std::numeric_limits<A>::quiet_NaN() : os[r * p.Ev + e] / l);
    lse[b * p.L + i] = T(m + MARROW_MATH(log)(l));
}

// scale dS_ij, the operand of dQ and dK's products: rounded under a low precision (the
// composed twin's matmul operand is the scaled gradient).
template <typename A>
__device__ A scaled_ds(const AttentionParams& p, A ds) {
    return round_to(A(p.scale) * ds, p.precision);
}

// P_ij from the score and the row's lse; NaN for a row whose every key was masked.
template <typename A>
__device__ A prob(A s, A lse) {
    if (lse != lse || MARROW_MATH(isinf)(lse)) return std::numeric_limits<A>::quiet_NaN();
    return MARROW_MATH(exp)(s - lse);
}

template <typename T>
__global__ void attention_rowdot_kernel(const T* g, const T* out, acc_t<T>* d, int64_t rows,
                                        int64_t ev) {
    using A = acc_t<T>;
    MARROW_GRID_STRIDE(row, rows) {
        A acc = A(0);
        for (int64_t e = 0; e < ev; ++e) acc += A(g[row * ev + e]) * A(out[row * ev + e]);
        d[row] = acc;
    }
}

// One thread per key row j: dV_j, dK_j over every query (and dM_ij). Shared: K, V tiles of
// this block's keys, Q and dO tiles of the current queries, their lse and D.
template <typename T, typename M>
__global__ void attention_dkdv_kernel(AttentionParams p, const T* q, const T* k, const T* v,
                                      const M* mask, const T* lse, const acc_t<T>* dd, const T* g,
                                      T* dk, T* dv, T* dmask, int64_t tile) {
    using A = acc_t<T>;
    MARROW_DYNAMIC_SHARED(double, raw);
    A* ks = reinterpret_cast<A*>(raw);
    A* vs = ks + tile * p.E;
    A* qs = vs + tile * p.Ev;
    A* gs = qs + tile * p.E;
    A* ls = gs + tile * p.Ev;
    A* ds = ls + tile;
    const int64_t b = blockIdx.y, j0 = int64_t(blockIdx.x) * tile, c = threadIdx.x, j = j0 + c;
    const bool valid = j < p.S;
    const uint32_t threshold = pool::dropout_threshold(p.dropout_p);
    load_tile(ks, k + b * p.S * p.E, j0, p.S, p.E, tile, p.precision);
    load_tile(vs, v + b * p.S * p.Ev, j0, p.S, p.Ev, tile, p.precision);
    if (valid) {
        for (int64_t e = 0; dk && e < p.E; ++e) dk[(b * p.S + j) * p.E + e] = T(0);
        for (int64_t e = 0; dv && e < p.Ev; ++e) dv[(b * p.S + j) * p.Ev + e] = T(0);
    }
    const int64_t first = p.causal ? j0 : 0;  // causal: earlier queries see none of these keys
    for (int64_t i0 = first; i0 < p.L; i0 += tile) {
        __syncthreads();
        load_tile(qs, q + b * p.L * p.E, i0, p.L, p.E, tile, p.precision);
        load_tile(gs, g + b * p.L * p.Ev, i0, p.L, p.Ev, tile, p.precision);
        for (int64_t r = threadIdx.x; r < tile; r += blockDim.x) {
            ls[r] = i0 + r < p.L ? A(lse[b * p.L + i0 + r]) : A(0);
            ds[r] = i0 + r < p.L ? dd[b * p.L + i0 + r] : A(0);
        }
        __syncthreads();
        if (!valid) continue;
        const int64_t br = std::min(tile, p.L - i0);
        for (int64_t r = 0; r < br; ++r) {
            const int64_t i = i0 + r;
            A s = A(p.scale) * dot(qs + r * p.E, ks + c * p.E, p.E) +
                  attention::mask_term<A>(p, mask, b, i, j);
            A pij = prob(s, ls[r]), z = drop_factor<A>(p, threshold, b, i, j);
            A pz = round_to(pij * z, p.precision);
            for (int64_t e = 0; dv && e < p.Ev; ++e)
                dv[(b * p.S + j) * p.Ev + e] =
                    T(A(dv[(b * p.S + j) * p.Ev + e]) + pz * gs[r * p.Ev + e]);
            if (!dk && !dmask) continue;
            A dsij = pij * (z * dot(gs + r * p.Ev, vs + c * p.Ev, p.Ev) - ds[r]);
            if (dmask) dmask[(b * p.L + i) * p.S + j] = T(dsij);
            const A gs_ij = scaled_ds(p, dsij);
            for (int64_t e = 0; dk && e < p.E; ++e)
                dk[(b * p.S + j) * p.E + e] =
                    T(A(dk[(b * p.S + j) * p.E + e]) + gs_ij * qs[r * p.E + e]);
        }
    }
}

// One thread per query row i: dQ_i over every key. Shared: Q and dO tiles of this block's
// queries, K and V tiles of the current keys.
template <typename T, typename M>
__global__ void attention_dq_kernel(AttentionParams p, const T* q, const T* k, const T* v,
                                    const M* mask, const T* lse, const acc_t<T>* dd, const T* g,
                                    T* dq, int64_t tile) {
    using A = acc_t<T>;
    MARROW_DYNAMIC_SHARED(double, raw);
    A* qs = reinterpret_cast<A*>(raw);
    A* gs = qs + tile * p.E;
    A* ks = gs + tile * p.Ev;
    A* vs = ks + tile * p.E;
    const int64_t b = blockIdx.y, i0 = int64_t(blockIdx.x) * tile, r = threadIdx.x, i = i0 + r;
    const bool valid = i < p.L;
    const uint32_t threshold = pool::dropout_threshold(p.dropout_p);
    load_tile(qs, q + b * p.L * p.E, i0, p.L, p.E, tile, p.precision);
    load_tile(gs, g + b * p.L * p.Ev, i0, p.L, p.Ev, tile, p.precision);
    const A li = valid ? A(lse[b * p.L + i]) : A(0), di = valid ? dd[b * p.L + i] : A(0);
    if (valid)
        for (int64_t e = 0; e < p.E; ++e) dq[(b * p.L + i) * p.E + e] = T(0);
    const int64_t keys = p.causal ? std::min(p.S, i0 + tile) : p.S;
    for (int64_t j0 = 0; j0 < keys; j0 += tile) {
        __syncthreads();
        load_tile(ks, k + b * p.S * p.E, j0, p.S, p.E, tile, p.precision);
        load_tile(vs, v + b * p.S * p.Ev, j0, p.S, p.Ev, tile, p.precision);
        __syncthreads();
        if (!valid) continue;
        const int64_t bc = std::min(tile, p.S - j0);
        for (int64_t c = 0; c < bc; ++c) {
            const int64_t j = j0 + c;
            A s = A(p.scale) * dot(qs + r * p.E, ks + c * p.E, p.E) +
                  attention::mask_term<A>(p, mask, b, i, j);
            A pij = prob(s, li), z = drop_factor<A>(p, threshold, b, i, j);
            A dsij = scaled_ds(p, pij * (z * dot(gs + r * p.Ev, vs + c * p.Ev, p.Ev) - di));
            for (int64_t e = 0; e < p.E; ++e)
                dq[(b * p.L + i) * p.E + e] =
                    T(A(dq[(b * p.L + i) * p.E + e]) + dsij * ks[c * p.E + e]);
        }
    }
}

// The largest tile (32, 16 or 8 rows) whose shared buffers (`per_row` accumulators per tile
// row plus `square` tile^2) fit the default 48 KB.
int64_t pick_tile(int64_t per_row, int64_t square, size_t acc_bytes, const char* what) {
    for (int64_t t : {32, 16, 8})
        if (int64_t((t * per_row + t * t * square) * int64_t(acc_bytes)) <= kSharedBytes) return t;
    fail("{}: head dims too large for the CUDA kernel's shared memory ({} values per row)", what,
         per_row);
}

template <typename Fn>
void with_types(const Tensor& q, const Tensor* mask, Fn&& fn) {
    visit_float(q.dtype(), "scaled_dot_product_attention", [&]<typename T>() {
        if (!mask)
            fn.template operator()<T, bool>(static_cast<const bool*>(nullptr));
        else if (mask->dtype() == DType::b8)
            fn.template operator()<T, bool>(mask->data_ptr<bool>());
        else
            fn.template operator()<T, T>(mask->data_ptr<T>());
    });
}

template <typename T>
T* ptr(const Tensor* t) {
    return t ? t->data_ptr<T>() : nullptr;
}

}  // namespace

void attention(const AttentionParams& p, const Tensor& q, const Tensor& k, const Tensor& v,
               const Tensor* mask, const Tensor& out, const Tensor& lse) {
    if (attention_mma_supported(p, q.dtype()))  // autocast: version 2, on tensor cores
        return attention_forward_mma(p, q, k, v, mask, out, lse);
    with_types(q, mask, [&]<typename T, typename M>(const M* m) {
        using A = acc_t<T>;
        int64_t tile = pick_tile(2 * p.E + 2 * p.Ev, 1, sizeof(A), "scaled_dot_product_attention");
        size_t bytes = size_t(tile * (2 * p.E + 2 * p.Ev) + tile * tile) * sizeof(A);
        auto* kernel = &attention_forward_kernel<T, M>;
        MARROW_LAUNCH(kernel, dim3(unsigned((p.L + tile - 1) / tile), unsigned(p.batch)),
                      unsigned(tile), bytes, p, q.data_ptr<T>(), k.data_ptr<T>(), v.data_ptr<T>(),
                      m, out.data_ptr<T>(), lse.data_ptr<T>(), tile);
    });
}

void attention_backward(const AttentionParams& p, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor* mask, const Tensor& out, const Tensor& lse, const Tensor& g,
                        const Tensor* dq, const Tensor* dk, const Tensor* dv, const Tensor* dmask) {
    with_types(q, mask, [&]<typename T, typename M>(const M* m) {
        using A = acc_t<T>;
        const char* name = "scaled_dot_product_attention_backward";
        Tensor d = empty({p.batch * p.L}, dtype_v<A>, q.device());
        auto* rowdot = &attention_rowdot_kernel<T>;
        MARROW_LAUNCH(rowdot, blocks_for(p.batch * p.L), kThreads, 0, g.data_ptr<T>(),
                      out.data_ptr<T>(), d.data_ptr<A>(), p.batch * p.L, p.Ev);
        if (attention_mma_backward_supported(p, q.dtype()))  // autocast: on tensor cores
            return attention_backward_mma(p, q, k, v, mask, lse, d, g, dq, dk, dv, dmask);
        int64_t tile = pick_tile(2 * p.E + 2 * p.Ev + 2, 0, sizeof(A), name);
        size_t bytes = size_t(tile * (2 * p.E + 2 * p.Ev + 2)) * sizeof(A);
        if (dk || dv || dmask) {
            auto* dkdv = &attention_dkdv_kernel<T, M>;
            MARROW_LAUNCH(dkdv, dim3(unsigned((p.S + tile - 1) / tile), unsigned(p.batch)),
                          unsigned(tile), bytes, p, q.data_ptr<T>(), k.data_ptr<T>(),
                          v.data_ptr<T>(), m, lse.data_ptr<T>(), d.data_ptr<A>(), g.data_ptr<T>(),
                          ptr<T>(dk), ptr<T>(dv), ptr<T>(dmask), tile);
        }
        if (dq) {
            auto* dqk = &attention_dq_kernel<T, M>;
            MARROW_LAUNCH(dqk, dim3(unsigned((p.L + tile - 1) / tile), unsigned(p.batch)),
                          unsigned(tile), bytes, p, q.data_ptr<T>(), k.data_ptr<T>(),
                          v.data_ptr<T>(), m, lse.data_ptr<T>(), d.data_ptr<A>(), g.data_ptr<T>(),
                          dq->data_ptr<T>(), tile);
        }
    });
}

}  // namespace marrow::cuda
