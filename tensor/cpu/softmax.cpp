// CPU softmax / log_softmax (forward, backward) and cumsum over the middle dim D of an
// (outer, D, inner) contiguous tensor. inner == 1 is the common "last dim" case with
// contiguous rows (float32: the vectorized kernels of tensor/cpu/vec_softmax.cpp); inner > 1
// walks D with a vector of `inner` running values.
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/vec_kernels.h"

namespace marrow::cpu {
namespace {

struct Geometry {
    int64_t outer, d, inner;
};
Geometry geometry(const Tensor& t) { return {t.size(0), t.size(1), t.size(2)}; }

template <typename T>
void softmax_slab(bool log, const T* x, T* y, Geometry g) {
    std::vector<T> mx(static_cast<size_t>(g.inner), -std::numeric_limits<T>::infinity());
    std::vector<T> sum(static_cast<size_t>(g.inner), T(0));
    for (int64_t k = 0; k < g.d; ++k)
        for (int64_t i = 0; i < g.inner; ++i) {
            T v = x[k * g.inner + i];
            mx[size_t(i)] = (v > mx[size_t(i)] || v != v) ? v : mx[size_t(i)];
        }
    for (int64_t i = 0; i < g.inner; ++i)  // a row of all -inf gives NaN, as in PyTorch
        if (std::isinf(mx[size_t(i)]) && mx[size_t(i)] < 0) mx[size_t(i)] = 0;
    for (int64_t k = 0; k < g.d; ++k)
        for (int64_t i = 0; i < g.inner; ++i) {
            T e = std::exp(x[k * g.inner + i] - mx[size_t(i)]);
            sum[size_t(i)] += e;
            if (!log) y[k * g.inner + i] = e;
        }
    for (int64_t k = 0; k < g.d; ++k)
        for (int64_t i = 0; i < g.inner; ++i) {
            int64_t at = k * g.inner + i;
            if (log)
                y[at] = x[at] - mx[size_t(i)] - std::log(sum[size_t(i)]);
            else
                y[at] = y[at] / sum[size_t(i)];
        }
}

// softmax:     gx = y * (g - sum_k g_k y_k)          (Jacobian diag(y) - y y^T)
// log_softmax: gx = g - exp(y) * sum_k g_k           (Jacobian I - 1 softmax^T)
template <typename T>
void softmax_backward_slab(bool log, const T* y, const T* g, T* gx, Geometry geo) {
    std::vector<T> dot(static_cast<size_t>(geo.inner), T(0));
    for (int64_t k = 0; k < geo.d; ++k)
        for (int64_t i = 0; i < geo.inner; ++i) {
            int64_t at = k * geo.inner + i;
            dot[size_t(i)] += log ? g[at] : g[at] * y[at];
        }
    for (int64_t k = 0; k < geo.d; ++k)
        for (int64_t i = 0; i < geo.inner; ++i) {
            int64_t at = k * geo.inner + i;
            gx[at] =
                log ? g[at] - std::exp(y[at]) * dot[size_t(i)] : y[at] * (g[at] - dot[size_t(i)]);
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

// Running sums accumulate in double (PyTorch's CPU accumulate type for float).
void cumsum(const Tensor& x, const Tensor& y) {
    visit_float(x.dtype(), "cumsum", [&]<typename T>() {
        Geometry g = geometry(x);
        const T* px = x.data<T>();
        T* py = y.data<T>();
        for_each_slab(g, [&](int64_t at) {
            std::vector<double> acc(static_cast<size_t>(g.inner), 0.0);
            for (int64_t k = 0; k < g.d; ++k)
                for (int64_t i = 0; i < g.inner; ++i) {
                    acc[size_t(i)] += double(px[at + k * g.inner + i]);
                    py[at + k * g.inner + i] = T(acc[size_t(i)]);
                }
        });
    });
}

}  // namespace marrow::cpu
