// The block products of the fused CPU attention (tensor/cpu/attention.cpp), one policy per
// operand precision, so that the forward and backward loops are written once:
//   FloatProducts<T>   float32 / float64 operands on the project's GEMM micro-kernels
//                      (gemm_serial_strided); with a bf16 / f16 precision (autocast) the same
//                      products on operands rounded to it: q, k, v, dO once per head (or query
//                      tile), P and dS once per tile (the fallback: no AVX-512 BF16, and f16).
//   Bf16Products       bf16 under autocast where the CPU has AVX-512 BF16: q, k, v, dO packed
//                      once per head into the bf16 GEMM's sliver layout (tensor/cpu/gemm_bf16.h,
//                      one layout per product that reads them), P and dS once per tile, and
//                      every product on its vdpbf16ps micro-kernel (float32 sums).
// Both compute, per batch-head with q (L, E), k (S, E), v (S, Ev), dO (L, Ev) row-major:
//   scores  s (br x nb)  = scale Q_t K_blk^T            (keys j0 .. j0 + nb, nb a multiple of 32)
//   pv      o (br x Ev) += P V_blk                       (P: br x bc, row stride nb)
//   dv      dV_blk      += P^T dO_t
//   dp      dp (br x nb) = dO_t V_blk^T
//   dq, dk  dQ_t += alpha dS K_blk,  dK_blk += alpha dS^T Q_t   (after prepare_ds)
// where Q_t = rows i0 .. i0 + br (query_tile) and K_blk, V_blk = keys j0 .. j0 + bc. Under a
// low precision every operand above is rounded (nearest even) and sums are float32: Note
// [Fused attention] in attention.cpp. Buffers are per thread and grow only.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "tensor/cpu/gemm.h"
#include "tensor/cpu/gemm_bf16.h"

namespace marrow::cpu::attention_detail {

// A grow-only per-thread buffer; slots are private to one user (one policy, or the loops).
template <typename T>
T* scratch(int slot, int64_t n) {
    thread_local std::vector<T> buffers[12];
    auto& b = buffers[slot];
    if (int64_t(b.size()) < n) b.resize(size_t(n));
    return b.data();
}

constexpr int64_t kColPad = 32;  // K^T, V^T padded to whole AVX-512 micro-kernel widths
inline int64_t pad_cols(int64_t n) { return (n + kColPad - 1) / kColPad * kColPad; }

// src (rows, cols) row-major -> dst (cols, ld) row-major, columns rows..ld-1 zero.
template <typename T>
void transpose_into(const T* src, int64_t rows, int64_t cols, T* dst, int64_t ld) {
    constexpr int64_t kB = 16;
    for (int64_t r0 = 0; r0 < rows; r0 += kB)
        for (int64_t c0 = 0; c0 < cols; c0 += kB)
            for (int64_t c = c0; c < std::min(cols, c0 + kB); ++c)
                for (int64_t r = r0; r < std::min(rows, r0 + kB); ++r)
                    dst[c * ld + r] = src[r * cols + c];
    for (int64_t c = 0; c < cols; ++c) std::fill(dst + c * ld + rows, dst + (c + 1) * ld, T(0));
}

template <typename T>
class FloatProducts {
public:
    // round: a low precision (float32 only): operands are rounded to it first.
    FloatProducts(const AttentionParams& p, GemmPrecision round) : p_(p), round_(round) {}

    void head_forward(const T* q, const T* k, const T* v) {
        q_ = q;
        head_k(k);
        v_ = rounded(v, p_.S * p_.Ev, 6);
    }
    void head_backward(const T* q, const T* k, const T* v, const T* g, bool want_ds) {
        q_ = rounded(q, p_.L * p_.E, 5);
        head_k(k);
        k_ = rounded(k, p_.S * p_.E, 8);
        v_ = rounded(v, p_.S * p_.Ev, 6);
        g_ = rounded(g, p_.L * p_.Ev, 7);
        if (want_ds) {
            vt_ = scratch<T>(1, p_.Ev * pad_cols(p_.S));
            transpose_into(v_, p_.S, p_.Ev, vt_, pad_cols(p_.S));  // of the rounded values
        }
        backward_ = true;
    }
    // Forward: the tile's rows (rounded into a buffer); backward: rows of the rounded head.
    void query_tile(int64_t i0, int64_t br) {
        qt_ = backward_ ? q_ + i0 * p_.E : rounded(q_ + i0 * p_.E, br * p_.E, 9);
    }
    void scores(int64_t br, int64_t j0, int64_t nb, T* s) {
        gemm_serial_strided<T>(br, nb, p_.E, qt_, p_.E, 1, kt_ + j0, pad_cols(p_.S), 1, s, nb,
                               T(p_.scale), T(0));
    }
    void pv(T* pr, int64_t br, int64_t bc, int64_t nb, int64_t j0, T* o) {
        if (low())  // P is not read again in forward: rounded in place
            for (int64_t r = 0; r < br; ++r) round_row(pr + r * nb, bc, pr + r * nb);
        gemm_serial_strided<T>(br, p_.Ev, bc, pr, nb, 1, v_ + j0 * p_.Ev, p_.Ev, 1, o, p_.Ev, T(1),
                               T(1));
    }
    void dv(const T* pz, int64_t br, int64_t bc, int64_t nb, int64_t i0, int64_t j0, T* dv) {
        if (low()) {  // P is dS's operand too: rounded into a copy
            T* c = scratch<T>(10, br * nb);
            for (int64_t r = 0; r < br; ++r) round_row(pz + r * nb, bc, c + r * nb);
            pz = c;
        }
        gemm_serial_strided<T>(bc, p_.Ev, br, pz, 1, nb, g_ + i0 * p_.Ev, p_.Ev, 1, dv + j0 * p_.Ev,
                               p_.Ev, T(1), T(1));
    }
    void dp(int64_t i0, int64_t br, int64_t j0, int64_t nb, T* dp) {
        gemm_serial_strided<T>(br, nb, p_.Ev, g_ + i0 * p_.Ev, p_.Ev, 1, vt_ + j0, pad_cols(p_.S),
                               1, dp, nb, T(1), T(0));
    }
    void prepare_ds(T* ds, int64_t br, int64_t bc, int64_t nb) {
        if (low())
            for (int64_t r = 0; r < br; ++r) round_row(ds + r * nb, bc, ds + r * nb);
    }
    void dq(const T* ds, int64_t br, int64_t bc, int64_t nb, int64_t i0, int64_t j0, T* dq,
            T alpha) {
        gemm_serial_strided<T>(br, p_.E, bc, ds, nb, 1, k_ + j0 * p_.E, p_.E, 1, dq + i0 * p_.E,
                               p_.E, alpha, T(1));
    }
    void dk(const T* ds, int64_t br, int64_t bc, int64_t nb, int64_t i0, int64_t j0, T* dk,
            T alpha) {
        gemm_serial_strided<T>(bc, p_.E, br, ds, 1, nb, q_ + i0 * p_.E, p_.E, 1, dk + j0 * p_.E,
                               p_.E, alpha, T(1));
    }

private:
    bool low() const { return std::is_same_v<T, float> && round_ != GemmPrecision::full; }
    void round_row(const T* src, int64_t n, T* dst) const {
        if constexpr (std::is_same_v<T, float>) round_to_precision(src, 1, n, dst, round_);
    }
    // x (n values) rounded into scratch slot `slot`, or x itself at full precision.
    const T* rounded(const T* x, int64_t n, int slot) const {
        if (!low()) return x;
        T* dst = scratch<T>(slot, n);
        round_row(x, n, dst);
        return dst;
    }
    void head_k(const T* k) {  // K^T (E, S padded), of the rounded values
        const int64_t s_pad = pad_cols(p_.S);
        kt_ = scratch<T>(0, p_.E * s_pad);
        transpose_into(k, p_.S, p_.E, kt_, s_pad);
        if (low())
            for (int64_t e = 0; e < p_.E; ++e) round_row(kt_ + e * s_pad, p_.S, kt_ + e * s_pad);
        k_ = k;
    }

    const AttentionParams& p_;
    GemmPrecision round_;
    bool backward_ = false;
    const T *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *g_ = nullptr, *qt_ = nullptr;
    T *kt_ = nullptr, *vt_ = nullptr;
};

// bf16 operands on the AVX-512 BF16 micro-kernel (only where gemm_bf16_native()). Packed
// per head: kb (K as B of S: columns = keys, pairs along E), vb (V as B of P V: columns = Ev,
// pairs along keys); backward adds kb2 (K as B of dS K), vbt (V as B of dO V^T), qa / ga (Q,
// dO as A: rows, pairs along E), qb / gb (Q, dO as B of dS^T Q / P^T dO: pairs along rows).
// Query tiles start at multiples of 12 rows (the A slivers), key blocks at multiples of 32.
class Bf16Products {
public:
    explicit Bf16Products(const AttentionParams& p)
        : p_(p),
          kpE_((p.E + 1) / 2),
          kpEv_((p.Ev + 1) / 2),
          kpS_((p.S + 1) / 2),
          kpL_((p.L + 1) / 2) {}

    void head_forward(const float* q, const float* k, const float* v) {
        q_ = q;
        kb_ = pack(0, k, 1, p_.E, p_.E, p_.S, kBf16NR);
        vb_ = pack(1, v, p_.Ev, 1, p_.S, p_.Ev, kBf16NR);
    }
    void head_backward(const float* q, const float* k, const float* v, const float* g,
                       bool want_ds) {
        backward_ = true;
        kb_ = pack(0, k, 1, p_.E, p_.E, p_.S, kBf16NR);
        qa_ = pack(2, q, 1, p_.E, p_.E, p_.L, kBf16MR);
        gb_ = pack(3, g, p_.Ev, 1, p_.L, p_.Ev, kBf16NR);
        if (!want_ds) return;
        kb2_ = pack(4, k, p_.E, 1, p_.S, p_.E, kBf16NR);
        vbt_ = pack(1, v, 1, p_.Ev, p_.Ev, p_.S, kBf16NR);
        qb_ = pack(5, q, p_.E, 1, p_.L, p_.E, kBf16NR);
        ga_ = pack(6, g, 1, p_.Ev, p_.Ev, p_.L, kBf16MR);
    }
    void query_tile(int64_t i0, int64_t br) {
        qt_ = backward_ ? qa_ + i0 * kpE_ : pack(2, q_ + i0 * p_.E, 1, p_.E, p_.E, br, kBf16MR);
    }
    void scores(int64_t br, int64_t j0, int64_t nb, float* s) {
        bf16_gemm_packed(br, nb, kpE_, qt_, kBf16MR * kpE_, kb_ + j0 * kpE_, kBf16NR * kpE_, s, nb,
                         float(p_.scale), 0.0f);
    }
    void pv(float* pr, int64_t br, int64_t bc, int64_t nb, int64_t j0, float* o) {
        const uint32_t* pa = pack(7, pr, 1, nb, bc, br, kBf16MR);
        const int64_t kp = (bc + 1) / 2;
        bf16_gemm_packed(br, p_.Ev, kp, pa, kBf16MR * kp, vb_ + j0 / 2 * kBf16NR, kBf16NR * kpS_, o,
                         p_.Ev, 1.0f, 1.0f);
    }
    void dv(const float* pz, int64_t br, int64_t bc, int64_t nb, int64_t i0, int64_t j0,
            float* dv) {
        const uint32_t* pta = pack(7, pz, nb, 1, br, bc, kBf16MR);  // P^T: rows = keys
        const int64_t kp = (br + 1) / 2;
        bf16_gemm_packed(bc, p_.Ev, kp, pta, kBf16MR * kp, gb_ + i0 / 2 * kBf16NR, kBf16NR * kpL_,
                         dv + j0 * p_.Ev, p_.Ev, 1.0f, 1.0f);
    }
    void dp(int64_t i0, int64_t br, int64_t j0, int64_t nb, float* dp) {
        bf16_gemm_packed(br, nb, kpEv_, ga_ + i0 * kpEv_, kBf16MR * kpEv_, vbt_ + j0 * kpEv_,
                         kBf16NR * kpEv_, dp, nb, 1.0f, 0.0f);
    }
    void prepare_ds(float* ds, int64_t br, int64_t bc, int64_t nb) {
        dsa_ = pack(8, ds, 1, nb, bc, br, kBf16MR);   // dS: rows = queries, pairs along keys
        dsta_ = pack(9, ds, nb, 1, br, bc, kBf16MR);  // dS^T: rows = keys, pairs along queries
    }
    void dq(const float*, int64_t br, int64_t bc, int64_t, int64_t i0, int64_t j0, float* dq,
            float alpha) {
        const int64_t kp = (bc + 1) / 2;
        bf16_gemm_packed(br, p_.E, kp, dsa_, kBf16MR * kp, kb2_ + j0 / 2 * kBf16NR, kBf16NR * kpS_,
                         dq + i0 * p_.E, p_.E, alpha, 1.0f);
    }
    void dk(const float*, int64_t br, int64_t bc, int64_t, int64_t i0, int64_t j0, float* dk,
            float alpha) {
        const int64_t kp = (br + 1) / 2;
        bf16_gemm_packed(bc, p_.E, kp, dsta_, kBf16MR * kp, qb_ + i0 / 2 * kBf16NR, kBf16NR * kpL_,
                         dk + j0 * p_.E, p_.E, alpha, 1.0f);
    }

private:
    // Packs element (k, x) = src[k * sk + x * sx], k < K, x < lines, into scratch `slot`.
    static const uint32_t* pack(int slot, const float* src, int64_t sk, int64_t sx, int64_t K,
                                int64_t lines, int64_t width) {
        uint32_t* dst = scratch<uint32_t>(slot, bf16_packed_words(lines, K, width));
        bf16_pack(src, sk, sx, K, lines, width, dst);
        return dst;
    }

    const AttentionParams& p_;
    const int64_t kpE_, kpEv_, kpS_, kpL_;  // pairs along E, Ev, S, L
    bool backward_ = false;
    const float* q_ = nullptr;
    const uint32_t *kb_ = nullptr, *vb_ = nullptr, *kb2_ = nullptr, *vbt_ = nullptr, *qa_ = nullptr,
                   *qb_ = nullptr, *ga_ = nullptr, *gb_ = nullptr, *qt_ = nullptr, *dsa_ = nullptr,
                   *dsta_ = nullptr;
};

}  // namespace marrow::cpu::attention_detail
