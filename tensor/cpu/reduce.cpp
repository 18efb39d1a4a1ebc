// CPU reductions over the rows of an (M, R) contiguous matrix. Every reduction is built from
// two row primitives: a sum of f(x) (16 independent accumulators, so the compiler vectorizes
// it and rounding error grows like a blocked sum) and a first-occurrence arg-max/min that
// propagates NaN like PyTorch. Rows run in parallel; a few long rows are instead cut into
// per-thread chunks whose partial results are combined in a fixed order (deterministic).
// Everything is computed in acc_t<T> (Note [Accumulator type]): loads convert, the result is
// stored as T once.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/loops.h"
#include "tensor/cpu/vec_kernels.h"
#include "tensor/math/accumulate.h"

namespace marrow::cpu {
namespace {

// sum_i f(x_i), f: acc_t<T> -> acc_t<T>.
template <typename T, typename F>
acc_t<T> row_sum(const T* x, int64_t n, F f) {
    using Acc = acc_t<T>;
    constexpr int kLanes = 16;
    Acc acc[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int l = 0; l < kLanes; ++l) acc[l] += f(Acc(x[i + l]));
    Acc tail = 0;
    for (; i < n; ++i) tail += f(Acc(x[i]));
    for (int w = kLanes / 2; w > 0; w /= 2)
        for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
    return acc[0] + tail;
}

template <typename Acc>
struct ArgResult {
    Acc value;
    int64_t index;
};

template <typename T>
ArgResult<acc_t<T>> row_arg(const T* x, int64_t n, bool want_max, int64_t base) {
    using Acc = acc_t<T>;
    if constexpr (std::is_same_v<T, float>) {  // the vectorized kernel (tensor/cpu/vec_reduce.cpp)
        static const RowArgFn fast = fast_row_arg();
        RowArg r = fast(x, n, want_max);
        return {Acc(r.value), base + r.index};
    }
    Acc best = Acc(x[0]);
    int64_t at = 0;
    if (best != best) return {best, base};
    for (int64_t i = 1; i < n; ++i) {
        Acc v = Acc(x[i]);
        if (v != v) return {v, base + i};
        if (want_max ? v > best : v < best) {
            best = v;
            at = i;
        }
    }
    return {best, base + at};
}

// Splits [0, n) into `parts` chunks and reduces each with `chunk_fn(begin, len)`; then
// folds the partials left to right with `combine`.
template <typename R, typename ChunkFn, typename Combine>
R chunked(int64_t n, int parts, ChunkFn chunk_fn, Combine combine) {
    std::vector<R> partial(static_cast<size_t>(parts));
    int64_t step = (n + parts - 1) / parts;
#pragma omp parallel for schedule(static) num_threads(parts)
    for (int p = 0; p < parts; ++p) {
        int64_t begin = std::min<int64_t>(n, p * step), end = std::min<int64_t>(n, begin + step);
        partial[size_t(p)] = chunk_fn(begin, end - begin);
    }
    R result = partial[0];
    for (int p = 1; p < parts; ++p) result = combine(result, partial[size_t(p)]);
    return result;
}

template <typename T>
class RowReducer {
    using Acc = acc_t<T>;
    using Arg = ArgResult<Acc>;

public:
    RowReducer(int64_t n, int parts) : n_(n), parts_(parts) {}

    template <typename F>
    Acc sum(const T* x, F f) const {
        if (parts_ == 1) return row_sum(x, n_, f);
        return chunked<Acc>(
            n_, parts_,
            [&](int64_t b, int64_t len) { return len ? row_sum(x + b, len, f) : Acc(0); },
            [](Acc a, Acc b) { return a + b; });
    }

    Arg arg(const T* x, bool want_max) const {
        if (parts_ == 1) return row_arg(x, n_, want_max, 0);
        return chunked<Arg>(
            n_, parts_,
            [&](int64_t b, int64_t len) {
                return len ? row_arg(x + b, len, want_max, b)
                           : Arg{std::numeric_limits<Acc>::quiet_NaN(), -1};
            },
            [want_max](Arg a, Arg b) {
                if (b.index < 0 || a.value != a.value) return a;
                if (b.value != b.value) return b;
                return (want_max ? b.value > a.value : b.value < a.value) ? b : a;
            });
    }

    // float32 only (the vectorized kernel); the float64 path stays two scalar passes.
    RowLse logsumexp(const float* x) const {
        static const RowLseFn fast = fast_row_logsumexp();
        if (parts_ == 1) return fast(x, n_);
        return chunked<RowLse>(
            n_, parts_,
            [&](int64_t b, int64_t len) {
                return len ? fast(x + b, len)
                           : RowLse{-std::numeric_limits<float>::infinity(), 0.0f};
            },
            [](RowLse a, RowLse b) {  // rescale both partial sums to the larger maximum
                if (a.max != a.max || b.max != b.max) return a.max != a.max ? a : b;
                float m = std::max(a.max, b.max);
                if (std::isinf(m)) return RowLse{m, 0.0f};
                return RowLse{m, a.sum * std::exp(a.max - m) + b.sum * std::exp(b.max - m)};
            });
    }

private:
    int64_t n_;
    int parts_;
};

template <typename T>
void reduce_rows(ReduceOp op, const ReduceParams& p, const T* x, int64_t rows, int64_t n, T* values,
                 int64_t* indices) {
    bool split_rows = rows * n >= kParallelGrain && rows < omp_get_max_threads();
    using Acc = acc_t<T>;
    RowReducer<T> r(n, split_rows ? omp_get_max_threads() : 1);
    auto one_row = [&](int64_t m) {
        const T* row = x + m * n;
        Acc out = 0;
        switch (op) {
            case ReduceOp::sum:
                out = r.sum(row, [](Acc v) { return v; });
                break;
            case ReduceOp::mean:
                out = r.sum(row, [](Acc v) { return v; }) / Acc(n);
                break;
            case ReduceOp::var: {
                Acc mean = r.sum(row, [](Acc v) { return v; }) / Acc(n);
                Acc ss = r.sum(row, [mean](Acc v) { return (v - mean) * (v - mean); });
                out = ss / Acc(std::max<double>(double(n) - p.correction, 0.0));
                break;
            }
            case ReduceOp::max:
            case ReduceOp::min: {
                auto a = r.arg(row, op == ReduceOp::max);
                out = a.value;
                if (indices) indices[m] = a.index;
                break;
            }
            case ReduceOp::logsumexp: {
                if constexpr (std::is_same_v<T, float>) {
                    RowLse l = r.logsumexp(row);
                    out = std::isfinite(l.max) ? l.max + std::log(l.sum) : l.max;
                    break;
                }
                Acc mx = r.arg(row, true).value;
                if (std::isinf(mx) || mx != mx) {  // +inf, all -inf, or NaN: the max is the answer
                    out = mx;
                    break;
                }
                out = mx + std::log(r.sum(row, [mx](Acc v) { return std::exp(v - mx); }));
                break;
            }
            case ReduceOp::norm: {
                Acc pp = Acc(p.p);
                if (p.p == 2)
                    out = std::sqrt(r.sum(row, [](Acc v) { return v * v; }));
                else if (p.p == 1)
                    out = r.sum(row, [](Acc v) { return std::abs(v); });
                else
                    out = std::pow(r.sum(row, [pp](Acc v) { return std::pow(std::abs(v), pp); }),
                                   Acc(1) / pp);
                break;
            }
        }
        values[m] = T(out);
    };
    if (split_rows || rows * n < kParallelGrain) {
        for (int64_t m = 0; m < rows; ++m) one_row(m);
    } else {
#pragma omp parallel for schedule(static)
        for (int64_t m = 0; m < rows; ++m) one_row(m);
    }
}

// Sum (or mean) over R columns of an (R x M) row-major block: out[m] = sum_r x[r][m]. Blocks
// of kBlock columns keep their sums in registers while the R rows stream past (one load per
// element; an accumulator array in memory costs a load and a store more); threads split the
// blocks.
template <typename T>
void reduce_columns(bool mean, const T* x, int64_t m, int64_t r, T* out) {
    using Acc = acc_t<T>;
    constexpr int64_t kBlock = 64 / int64_t(sizeof(Acc)) * 4;  // 4 zmm (or 8 ymm) of sums
    int64_t blocks = (m + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (m * r >= kParallelGrain && blocks > 1)
    for (int64_t c = 0; c < blocks; ++c) {
        int64_t begin = c * kBlock, width = std::min(kBlock, m - begin);
        Acc acc[kBlock] = {};
        if (width == kBlock) {
            for (int64_t i = 0; i < r; ++i) {
                const T* row = x + i * m + begin;
                for (int64_t j = 0; j < kBlock; ++j) acc[j] += Acc(row[j]);
            }
        } else {
            for (int64_t i = 0; i < r; ++i) {
                const T* row = x + i * m + begin;
                for (int64_t j = 0; j < width; ++j) acc[j] += Acc(row[j]);
            }
        }
        for (int64_t j = 0; j < width; ++j) out[begin + j] = T(mean ? acc[j] / Acc(r) : acc[j]);
    }
}

}  // namespace

void reduce(ReduceOp op, const ReduceParams& p, const Tensor& x, const Tensor& values,
            const Tensor* indices) {
    visit_float(x.dtype(), "reduce", [&]<typename T>() {
        if (x.size(1) > 1 && x.stride(1) != 1) {  // column layout, strides (1, M): kernels.h
            reduce_columns<T>(op == ReduceOp::mean, x.data<T>(), x.size(0), x.size(1),
                              values.data<T>());
            return;
        }
        reduce_rows<T>(op, p, x.data<T>(), x.size(0), x.size(1), values.data<T>(),
                       indices ? indices->data<int64_t>() : nullptr);
    });
}

}  // namespace marrow::cpu
