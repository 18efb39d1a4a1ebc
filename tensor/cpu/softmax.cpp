// CPU softmax / log_softmax (forward, backward) and cumsum over the middle dim D of an
// (outer, D, inner) contiguous tensor. inner == 1 is the common "last dim" case with
// contiguous rows (float32: the vectorized kernels of tensor/cpu/vec_softmax.cpp); inner > 1
// walks D with a vector of `inner` running values. Maxima, sums and running sums are kept in
// acc_t<T> (Note [Accumulator type]).
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/vec_kernels.h"
#include "tensor/math/accumulate.h"

namespace marrow::cpu {
namespace {

struct Geometry {
    int64_t outer, d, inner;
};
Geometry geometry(const Tensor& t) { return {t.size(0), t.size(1), t.size(2)}; }

template <typename T>
void softmax_slab(bool log, const T* x, T* y, Geometry g) {
    using Acc = acc_t<T>;
    std::vector<Acc> mx(static_cast<size_t>(g.inner), -std::numeric_limits<Acc>::infinity());
    std::vector<Acc> sum(static_cast<size_t>(g.inner), Acc(0));
    for (int64_t k = 0; k < g.d; ++k)
        for (int64_t i = 0; i < g.inner; ++i) {
            Acc v = Acc(x[k * g.inner + i]);
            mx[size_t(i)] = (v > mx[size_t(i)] || v != v) ? v : mx[size_t(i)];
        }
    for (int64_t i = 0; i < g.inner; ++i)  // a row of all -inf gives NaN, as in PyTorch
        if (std::isinf(mx[size_t(i)]) && mx[size_t(i)] < 0) mx[size_t(i)] = 0;
    for (int64_t k = 0; k < g.d; ++k)
        for (int64_t i = 0; i < g.inner; ++i) {
            Acc e = std::exp(Acc(x[k * g.inner + i]) - mx[size_t(i)]);
            sum[size_t(i)] += e;
            if constexpr (std::is_same_v<T, Acc>)  // keep e in y; a narrower T would round it
                if (!log) y[k * g.inner + i] = e;
        }
    for (int64_t k = 0; k < g.d; ++k)
        for (int64_t i = 0; i < g.inner; ++i) {
            int64_t at = k * g.inner + i;
            Acc v = Acc(x[at]) - mx[size_t(i)];
            if (log)
                y[at] = T(v - std::log(sum[size_t(i)]));
            else if constexpr (std::is_same_v<T, Acc>)
                y[at] = y[at] / sum[size_t(i)];
            else
                y[at] = T(std::exp(v) / sum[size_t(i)]);
        }
}

// softmax:     gx = y * (g - sum_k g_k y_k)          (Jacobian diag(y) - y y^T)
// log_softmax: gx = g - exp(y) * sum_k g_k           (Jacobian I - 1 softmax^T)
template <typename T>
void softmax_backward_slab(bool log, const T* y, const T* g, T* gx, Geometry geo) {
    using Acc = acc_t<T>;
    std::vector<Acc> dot(static_cast<size_t>(geo.inner), Acc(0));
    for (int64_t k = 0; k < geo.d; ++k)
        for (int64_t i = 0; i < geo.inner; ++i) {
            int64_t at = k * geo.inner + i;
            dot[size_t(i)] += log ? Acc(g[at]) : Acc(g[at]) * Acc(y[at]);
        }
    for (int64_t k = 0; k < geo.d; ++k)
        for (int64_t i = 0; i < geo.inner; ++i) {
            int64_t at = k * geo.inner + i;
            Acc yv = Acc(y[at]), gv = Acc(g[at]), dv = dot[size_t(i)];
            gx[at] = T(log ? gv - std::exp(yv) * dv : yv * (gv - dv));
        }
}

template <typename F>
void for_each_slab(Geometry g, F f) {
#pragma omp parallel for schedule(static) if (g.outer * g.d * g.inner >= kParallelGrain)
    for (int64_t o = 0; o < g.outer; ++o) f(o * g.d * g.inner);
}

}  // namespace

void softmax(bool log, const Tensor& x, const Tensor& y) {
    visit_float(x.dtype(), log ? "log_softmax" : "softmax", [&]<typename T>() {
        Geometry g = geometry(x);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        if constexpr (std::is_same_v<T, float>) {
            if (g.inner == 1) {  // contiguous rows: the vectorized kernel, rows split by thread
                SoftmaxRows rows = fast_softmax_rows();
                return for_each_slab(g, [&](int64_t at) { rows(log, px + at, py + at, 1, g.d); });
            }
        }
        for_each_slab(g, [&](int64_t at) { softmax_slab(log, px + at, py + at, g); });
    });
}

void softmax_backward(bool log, const Tensor& y, const Tensor& g, const Tensor& gx) {
    visit_float(y.dtype(), log ? "log_softmax_backward" : "softmax_backward", [&]<typename T>() {
        Geometry geo = geometry(y);
        const T* py = y.data<T>();
        const T* pg = g.data<T>();
        T* pgx = gx.data<T>();
        if constexpr (std::is_same_v<T, float>) {
            if (geo.inner == 1) {
                SoftmaxBackwardRows rows = fast_softmax_backward_rows();
                return for_each_slab(
                    geo, [&](int64_t at) { rows(log, py + at, pg + at, pgx + at, 1, geo.d); });
            }
        }
        for_each_slab(
            geo, [&](int64_t at) { softmax_backward_slab(log, py + at, pg + at, pgx + at, geo); });
    });
}

// Running sums in acc_t<T>: float for float32 (PyTorch's CPU kernel uses double there, its CUDA
// kernel float; Note [Accumulator type]).
void cumsum(const Tensor& x, const Tensor& y) {
    visit_float(x.dtype(), "cumsum", [&]<typename T>() {
        using Acc = acc_t<T>;
        Geometry g = geometry(x);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        for_each_slab(g, [&](int64_t at) {
            std::vector<Acc> acc(static_cast<size_t>(g.inner), Acc(0));
            for (int64_t k = 0; k < g.d; ++k)
                for (int64_t i = 0; i < g.inner; ++i) {
                    acc[size_t(i)] += Acc(px[at + k * g.inner + i]);
                    py[at + k * g.inner + i] = T(acc[size_t(i)]);
                }
        });
    });
}

}  // namespace marrow::cpu
