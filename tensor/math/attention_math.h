// Scaled dot-product attention's per-score rules, shared by the CPU reference loops
// (tensor/cpu/attention_reference.h), the CPU fast path (tensor/cpu/attention.cpp) and the CUDA
// kernels (cuda/kernels/attention.cu), so every backend masks and drops the same scores.
//   s_ij = scale q_i . k_j + mask_ij   (bool mask: -inf where false; causal: -inf where j > i)
//   P_ij = exp(s_ij - lse_i),  lse_i = log sum_j exp(s_ij)
//   out_i = sum_j P_ij keep_ij / (1 - p) v_j
#pragma once
#include <cstdint>
#include <limits>

#include "tensor/kernels.h"
#include "tensor/math/host_device.h"
#include "tensor/math/pool_math.h"  // dropout_threshold
#include "tensor/philox.h"

namespace marrow::attention {

// Element offset of mask entry (b, i, j) (AttentionParams).
MARROW_HOST_DEVICE inline int64_t mask_offset(const AttentionParams& p, int64_t b, int64_t i,
                                              int64_t j) {
    return (b / p.mask_inner) * p.mask_so + (b % p.mask_inner) * p.mask_si + i * p.mask_sr +
           j * p.mask_sc;
}

// Dropout's keep rule (Note [Philox stream], pool::dropout_threshold) at flat element
// (b L + i) S + j: the mask F.dropout would draw on the (batch, L, S) probabilities from the
// same (seed, offset), so the composed twin `dropout(softmax(...))` reproduces it.
MARROW_HOST_DEVICE inline bool keep(const AttentionParams& p, uint32_t threshold, int64_t b,
                                    int64_t i, int64_t j) {
    uint64_t idx = uint64_t((b * p.L + i) * p.S + j);
    philox::Block bits = philox::generate(p.seed, p.offset + idx / 4);
    return bits.v[idx % 4] >= threshold;
}

// The additive term of score (b, i, j) from the mask and causality: 0, the float mask's value,
// or -inf (masked out). M is the mask's element type (bool or the scores' float type).
template <typename A, typename M>
MARROW_HOST_DEVICE inline A mask_term(const AttentionParams& p, const M* mask, int64_t b, int64_t i,
                                      int64_t j) {
    const A neg_inf = -std::numeric_limits<A>::infinity();
    if (p.causal && j > i) return neg_inf;
    if (!mask) return A(0);
    M m = mask[mask_offset(p, b, i, j)];
    if constexpr (sizeof(M) == 1)
        return m ? A(0) : neg_inf;
    else
        return A(m);
}

}  // namespace marrow::attention
