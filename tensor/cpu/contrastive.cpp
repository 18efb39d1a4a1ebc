// Fused CPU kernels of the contrastive losses: SimCLR's NT-Xent and DINOv2's KoLeo, forward
// and backward (formulas and derivations: autograd/functions/contrastive.cpp; readable loops:
// contrastive_reference.h, which tests/ssl/test_contrastive.cpp checks these against).
//
// Note [Contrastive losses]
// Both losses are a Gram matrix of l2-normalized rows and some work per row of it:
//   nt_xent   zn = normalize(z) (the normalize kernel), S = zn zn^T / tau (one GEMM, the
//             project's blocked micro-kernels with their own threads), then per row i, the
//             diagonal set to -inf: m = max_j S_ij, lse_i = m + log sum_j exp(S_ij - m)
//             (vexp_neg per ISA for float32), l_i = lse_i - S_{i, p(i)}. Only lse (2N,) is
//             kept for backward. Backward recomputes zn and S (a GEMM is cheaper than keeping
//             2N x 2N floats alive between forward and backward at SimCLR's batch of 4096),
//             forms H = G + G^T row by row without a transpose (S is symmetric, so
//             P_ji = exp(S_ij - lse_j)): H_ij = c (exp(S_ij - lse_i) + exp(S_ij - lse_j)
//             - 2 [j = p(i)]), H_ii = 0, c = g / (2N tau); then dzn = H zn (a second GEMM) and
//             the normalize backward kernel.
//   koleo     xh = normalize(x, eps), G = xh xh^T (GEMM), per row: G_ii = -1, nn(i) = the
//             first maximum (fast_row_arg: torch.max's rule, NaN wins), d_i and the loss term.
//             Backward recomputes xh, writes a_i u_i into row i of dxh (rows in parallel),
//             then subtracts a_i u_i from row nn(i) in row order on one thread (rows share
//             neighbours; a fixed order keeps the result independent of the thread count).
// The per-row loss terms are summed in row order on one thread: deterministic.
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/isa.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/vec_kernels.h"
#include "tensor/cpu/vec_lanes.h"
#include "tensor/factory.h"
#include "tensor/math/accumulate.h"
#include "tensor/ops/view.h"

namespace marrow::cpu {
namespace {

constexpr double kNtXentEps = 1e-12;   // F.normalize's default, as SimCLR's l2 normalization
constexpr double kPairwiseEps = 1e-8;  // nn.PairwiseDistance(2, eps=1e-8) in KoLeoLoss

// ---- per-ISA row helpers (float32)

// h_j = c (exp(s_j - lse_i) + exp(s_j - lse_j)), in place over s.
MARROW_VEC_INLINE void sym_grad_body(float* __restrict s, const float* __restrict lse, int64_t n,
                                     float lse_i, float c) {
    for (int64_t j = 0; j < n; ++j) s[j] = c * (vexp_neg(s[j] - lse_i) + vexp_neg(s[j] - lse[j]));
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
MARROW_TARGET_AVX512 void sym_grad_avx512(float* s, const float* lse, int64_t n, float li,
                                          float c) {
    sym_grad_body(s, lse, n, li, c);
}
MARROW_TARGET_AVX2 void sym_grad_avx2(float* s, const float* lse, int64_t n, float li, float c) {
    sym_grad_body(s, lse, n, li, c);
}
void sym_grad_base(float* s, const float* lse, int64_t n, float li, float c) {
    sym_grad_body(s, lse, n, li, c);
}

// Row operations for T: vectorized for float, libm for double (gradcheck's dtype).
template <typename T>
struct RowOps {
    T (*max)(const T*, int64_t);
    T (*exp_sum)(const T*, T*, int64_t, T);  // p = exp(s - shift); returns sum p
    void (*sym_grad)(T*, const T*, int64_t, T, T);
    int64_t (*argmax)(const T*, int64_t);  // first maximum, NaN wins (torch.max)
};
template <typename T>
RowOps<T> row_ops() {
    if constexpr (std::is_same_v<T, float>) {
        static const RowArgFn arg = fast_row_arg();
        auto argmax = [](const float* s, int64_t n) { return arg(s, n, true).index; };
        switch (cpu_isa()) {
            case Isa::avx512:
                return {row_max_avx512, exp_sum_avx512, sym_grad_avx512, argmax};
            case Isa::avx2:
                return {row_max_avx2, exp_sum_avx2, sym_grad_avx2, argmax};
            case Isa::base:
                break;
        }
        return {row_max_base, exp_sum_base, sym_grad_base, argmax};
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
                [](T* s, const T* lse, int64_t n, T li, T c) {
                    for (int64_t j = 0; j < n; ++j)
                        s[j] = c * (std::exp(s[j] - li) + std::exp(s[j] - lse[j]));
                },
                [](const T* s, int64_t n) {
                    int64_t at = 0;
                    for (int64_t j = 1; j < n; ++j)
                        if (s[at] == s[at] && (s[j] > s[at] || s[j] != s[j])) at = j;
                    return at;
                }};
    }
}

// A grow-only per-thread row buffer.
template <typename T>
T* row_scratch(int64_t n) {
    thread_local std::vector<T> buf;
    if (int64_t(buf.size()) < n) buf.resize(size_t(n));
    return buf.data();
}

// Rows of x (rows, d) l2-normalized into a fresh (rows, d) tensor (the normalize kernel).
Tensor normalized(const Tensor& x, double eps) {
    Tensor y = empty(x.shape(), x.dtype());
    int64_t rows = x.size(0), d = x.size(1);
    normalize(2.0, eps, op::view(x, {rows, d, 1}), op::view(y, {rows, d, 1}));
    return y;
}
void normalized_backward(const Tensor& x, const Tensor& g, double eps, const Tensor& gx) {
    int64_t rows = x.size(0), d = x.size(1);
    normalize_backward(2.0, eps, op::view(x, {rows, d, 1}), op::view(g, {rows, d, 1}),
                       op::view(gx, {rows, d, 1}));
}

// alpha y y^T for y (rows, d): (rows, rows), by the GEMM kernel (packing reads y^T in place).
Tensor gram(const Tensor& y, double alpha) {
    int64_t rows = y.size(0);
    Tensor s = empty({rows, rows}, y.dtype());
    gemm(op::unsqueeze(y, 0), op::unsqueeze(op::transpose(y, 0, 1), 0), op::unsqueeze(s, 0), alpha,
         0, GemmPrecision::full);
    return s;
}

// Rows [0, n) split over the threads when the work (n rows of `width`) is large enough.
template <typename F>
void for_rows(int64_t n, int64_t width, F f) {
#pragma omp parallel for schedule(static) if (n * width >= kParallelGrain)
    for (int64_t i = 0; i < n; ++i) f(i);
}

template <typename T>
T ordered_mean(const std::vector<acc_t<T>>& terms) {
    acc_t<T> s = 0;
    for (acc_t<T> t : terms) s += t;
    return T(s / acc_t<T>(terms.size()));
}

}  // namespace

void nt_xent(double temperature, const Tensor& z, const Tensor& loss, const Tensor& lse) {
    visit_float(z.dtype(), "nt_xent", [&]<typename T>() {
        const RowOps<T> ops = row_ops<T>();
        int64_t m = z.size(0), half = m / 2;
        Tensor s = gram(normalized(z, kNtXentEps), 1.0 / temperature);
        T* ps = s.data<T>();
        T* pl = lse.data<T>();
        std::vector<acc_t<T>> terms(static_cast<size_t>(m));
        for_rows(m, m, [&](int64_t i) {
            T* row = ps + i * m;
            row[i] = -std::numeric_limits<T>::infinity();  // excluded before the LSE
            T mx = ops.max(row, m);
            T l = mx + std::log(ops.exp_sum(row, row_scratch<T>(m), m, mx));
            pl[i] = l;
            terms[size_t(i)] = acc_t<T>(l) - acc_t<T>(row[(i + half) % m]);
        });
        loss.data<T>()[0] = ordered_mean<T>(terms);
    });
}

void nt_xent_backward(double temperature, const Tensor& z, const Tensor& lse, const Tensor& g,
                      const Tensor& gz) {
    visit_float(z.dtype(), "nt_xent_backward", [&]<typename T>() {
        const RowOps<T> ops = row_ops<T>();
        int64_t m = z.size(0), half = m / 2;
        Tensor zn = normalized(z, kNtXentEps);
        Tensor h = gram(zn, 1.0 / temperature);
        T* ph = h.data<T>();
        const T* pl = lse.data<T>();
        const T c = T(double(g.data<T>()[0]) / (double(m) * temperature));
        for_rows(m, m, [&](int64_t i) {
            T* row = ph + i * m;
            ops.sym_grad(row, pl, m, pl[i], c);
            row[(i + half) % m] -= T(2) * c;
            row[i] = T(0);
        });
        Tensor dzn = empty(z.shape(), z.dtype());
        gemm(op::unsqueeze(h, 0), op::unsqueeze(zn, 0), op::unsqueeze(dzn, 0), 1.0, 0.0,
             GemmPrecision::full);
        normalized_backward(z, dzn, kNtXentEps, gz);
    });
}

void koleo_loss(double eps, const Tensor& x, const Tensor& loss, const Tensor& nn) {
    visit_float(x.dtype(), "koleo_loss", [&]<typename T>() {
        using A = acc_t<T>;
        const RowOps<T> ops = row_ops<T>();
        int64_t b = x.size(0), dim = x.size(1);
        Tensor xh = normalized(x, eps);
        Tensor dots = gram(xh, 1.0);
        const T* px = xh.data<T>();
        T* pd = dots.data<T>();
        int64_t* pn = nn.data<int64_t>();
        std::vector<A> terms(static_cast<size_t>(b));
        for_rows(b, b + dim, [&](int64_t i) {
            T* row = pd + i * b;
            row[i] = T(-1);  // dinov2's trick: a row's own entry never wins (ties: below)
            int64_t j = ops.argmax(row, b);
            pn[i] = j;
            const T *xi = px + i * dim, *xj = px + j * dim;
            A sq = 0;
            for (int64_t k = 0; k < dim; ++k) {
                A u = A((xi[k] - xj[k]) + T(kPairwiseEps));
                sq += u * u;
            }
            terms[size_t(i)] = -std::log(std::sqrt(sq) + A(eps));
        });
        loss.data<T>()[0] = ordered_mean<T>(terms);
    });
}

void koleo_loss_backward(double eps, const Tensor& x, const Tensor& nn, const Tensor& g,
                         const Tensor& gx) {
    visit_float(x.dtype(), "koleo_loss_backward", [&]<typename T>() {
        using A = acc_t<T>;
        int64_t b = x.size(0), dim = x.size(1);
        const int64_t* pn = nn.data<int64_t>();
        for (int64_t i = 0; i < b; ++i)
            MARROW_CHECK(pn[i] >= 0 && pn[i] < b,
                         "koleo_loss_backward: neighbour index {} of row {} out of range [0, {})",
                         pn[i], i, b);
        Tensor xh = normalized(x, eps);
        Tensor dxh = empty(x.shape(), x.dtype());
        const T* px = xh.data<T>();
        T* pg = dxh.data<T>();
        const A gv = A(g.data<T>()[0]);
        std::vector<A> coef(static_cast<size_t>(b));
        for_rows(b, dim, [&](int64_t i) {
            const T *xi = px + i * dim, *xj = px + pn[i] * dim;
            T* gi = pg + i * dim;
            A sq = 0;
            for (int64_t k = 0; k < dim; ++k) {
                T u = (xi[k] - xj[k]) + T(kPairwiseEps);
                gi[k] = u;
                sq += A(u) * A(u);
            }
            A d = std::sqrt(sq);
            A a = d > 0 ? -gv / (A(b) * (d + A(eps)) * d) : A(0);  // torch: 0 where d = 0
            coef[size_t(i)] = a;
            for (int64_t k = 0; k < dim; ++k) gi[k] = T(a * A(gi[k]));
        });
        // Row nn(i) loses a_i u_i, in row order (u_i recomputed: row i now holds a_i u_i).
        for (int64_t i = 0; i < b; ++i) {
            const T *xi = px + i * dim, *xj = px + pn[i] * dim;
            T* gj = pg + pn[i] * dim;
            A a = coef[size_t(i)];
            for (int64_t k = 0; k < dim; ++k)
                gj[k] = T(A(gj[k]) - a * A((xi[k] - xj[k]) + T(kPairwiseEps)));
        }
        normalized_backward(x, dxh, eps, gx);
    });
}

}  // namespace marrow::cpu
