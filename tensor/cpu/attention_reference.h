// Readable reference loops for scaled dot-product attention, forward and backward, one query
// row at a time with the whole row of S scores in a vector (the fused kernels never hold a
// row's scores: tensor/cpu/attention.cpp, cuda/kernels/attention.cu). tests/ops/
// test_attention.cpp checks the fast path against these; formulas in tensor/math/
// attention_math.h and autograd/functions/attention.cpp.
//   q (batch, L, E), k (batch, S, E), v (batch, S, Ev), out (batch, L, Ev), lse (batch, L),
//   g, dq, dk, dv like out, q, k, v; dmask (batch, L, S). All contiguous; M = bool or T.
#pragma once
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/math/accumulate.h"
#include "tensor/math/attention_math.h"

namespace marrow::cpu::reference {

// The probabilities of query row (b, i) before dropout: p_j = exp(s_j - lse); returns lse.
// A row whose scores are all -inf has lse = -inf and NaN probabilities (PyTorch's math path).
template <typename T, typename M>
acc_t<T> attention_row(const AttentionParams& p, const T* q, const T* k, const M* mask, int64_t b,
                       int64_t i, std::vector<acc_t<T>>& prob) {
    using A = acc_t<T>;
    prob.assign(size_t(p.S), A(0));
    A mx = -std::numeric_limits<A>::infinity();
    for (int64_t j = 0; j < p.S; ++j) {
        A dot = 0;
        for (int64_t e = 0; e < p.E; ++e)
            dot += A(q[(b * p.L + i) * p.E + e]) * A(k[(b * p.S + j) * p.E + e]);
        A s = A(p.scale) * dot + attention::mask_term<A>(p, mask, b, i, j);
        prob[size_t(j)] = s;
        mx = (s > mx || s != s) ? s : mx;
    }
    A sum = 0;
    for (int64_t j = 0; j < p.S; ++j) sum += std::exp(prob[size_t(j)] - mx);
    A lse = mx + std::log(sum);
    for (int64_t j = 0; j < p.S; ++j) prob[size_t(j)] = std::exp(prob[size_t(j)] - lse);
    return lse;
}

// The dropout factor of score (b, i, j): keep / (1 - p), or 1 without dropout.
template <typename A>
A attention_drop(const AttentionParams& p, int64_t b, int64_t i, int64_t j) {
    if (p.dropout_p <= 0) return A(1);
    bool kept = attention::keep(p, pool::dropout_threshold(p.dropout_p), b, i, j);
    return kept ? A(1) / A(1 - p.dropout_p) : A(0);
}

template <typename T, typename M>
void attention_forward(const AttentionParams& p, const T* q, const T* k, const T* v, const M* mask,
                       T* out, T* lse) {
    using A = acc_t<T>;
    std::vector<A> prob;
    for (int64_t b = 0; b < p.batch; ++b)
        for (int64_t i = 0; i < p.L; ++i) {
            lse[b * p.L + i] = T(attention_row(p, q, k, mask, b, i, prob));
            for (int64_t e = 0; e < p.Ev; ++e) {
                A acc = 0;
                for (int64_t j = 0; j < p.S; ++j)
                    acc += prob[size_t(j)] * attention_drop<A>(p, b, i, j) *
                           A(v[(b * p.S + j) * p.Ev + e]);
                out[(b * p.L + i) * p.Ev + e] = T(acc);
            }
        }
}

// With Z_ij the dropout factor and D_i = sum_e g_ie out_ie (autograd/functions/attention.cpp):
//   dv_j += P_ij Z_ij g_i;  dP_ij = Z_ij g_i . v_j;  dS_ij = P_ij (dP_ij - D_i);
//   dq_i += scale dS_ij k_j;  dk_j += scale dS_ij q_i;  dmask_ij = dS_ij.
// Null outputs are skipped; the others are overwritten.
template <typename T, typename M>
void attention_backward(const AttentionParams& p, const T* q, const T* k, const T* v, const M* mask,
                        const T* out, const T* g, T* dq, T* dk, T* dv, T* dmask) {
    using A = acc_t<T>;
    std::vector<A> gq(size_t(p.batch * p.L * p.E), A(0)), gk(size_t(p.batch * p.S * p.E), A(0)),
        gv(size_t(p.batch * p.S * p.Ev), A(0)), prob;
    for (int64_t b = 0; b < p.batch; ++b)
        for (int64_t i = 0; i < p.L; ++i) {
            attention_row(p, q, k, mask, b, i, prob);
            const T* gi = g + (b * p.L + i) * p.Ev;
            A d = 0;
            for (int64_t e = 0; e < p.Ev; ++e) d += A(gi[e]) * A(out[(b * p.L + i) * p.Ev + e]);
            for (int64_t j = 0; j < p.S; ++j) {
                A z = attention_drop<A>(p, b, i, j), pij = prob[size_t(j)];
                A dpij = 0;
                for (int64_t e = 0; e < p.Ev; ++e) {
                    gv[size_t((b * p.S + j) * p.Ev + e)] += pij * z * A(gi[e]);
                    dpij += A(gi[e]) * A(v[(b * p.S + j) * p.Ev + e]);
                }
                A ds = pij * (z * dpij - d);
                if (dmask) dmask[(b * p.L + i) * p.S + j] = T(ds);
                for (int64_t e = 0; e < p.E; ++e) {
                    gq[size_t((b * p.L + i) * p.E + e)] +=
                        A(p.scale) * ds * A(k[(b * p.S + j) * p.E + e]);
                    gk[size_t((b * p.S + j) * p.E + e)] +=
                        A(p.scale) * ds * A(q[(b * p.L + i) * p.E + e]);
                }
            }
        }
    for (size_t n = 0; n < gq.size() && dq; ++n) dq[n] = T(gq[n]);
    for (size_t n = 0; n < gk.size() && dk; ++n) dk[n] = T(gk[n]);
    for (size_t n = 0; n < gv.size() && dv; ++n) dv[n] = T(gv[n]);
}

}  // namespace marrow::cpu::reference
