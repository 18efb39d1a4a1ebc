// CPU indexing kernels (index_select, index_add, gather, scatter_add), sort/topk and the
// Philox random fill. The kernels range-check the index values they use (the entry points only
// check metadata, so a CUDA index never comes to the host): a bad index is a marrow::Error
// naming the op, the value, the range and its position in the index. Accumulating kernels
// (index_add, scatter_add) run their sums in a fixed order: deterministic.
#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <string_view>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/loops.h"
#include "tensor/philox.h"

namespace marrow::cpu {
namespace {

// The coordinate of row-major element `flat` of `shape`, for messages.
Shape unravel(int64_t flat, const Shape& shape) {
    Shape coord(shape.size(), 0);
    for (size_t d = shape.size(); d-- > 0;) {
        coord[d] = flat % shape[d];
        flat /= shape[d];
    }
    return coord;
}

[[noreturn]] void fail_bad_index(std::string_view op, int64_t value, int64_t bound, int64_t flat,
                                 const Shape& index_shape) {
    fail("{}: index {} out of range [0, {}) at position {} of the index (shape {})", op, value,
         bound, unravel(flat, index_shape), index_shape);
}

// A scan of 2^20 indices (8 MB) takes 0.28 ms on one core: shorter ones are not worth a team.
constexpr int64_t kCheckGrain = int64_t(1) << 20;

// index_select / index_add read their 1-d index (n,) once per outer row: it is checked once,
// up front (also when the output is empty), in parallel for long indices. The smallest bad
// position wins (a min-reduction, so the message does not depend on the thread count) and
// nothing throws inside the region.
void check_index_1d(std::string_view op, const Tensor& index, int64_t bound) {
    const int64_t* idx = index.data<int64_t>();
    int64_t n = index.numel(), first = n;
#pragma omp parallel for reduction(min : first) schedule(static) if (n >= kCheckGrain)
    for (int64_t j = 0; j < n; ++j)
        if (idx[j] < 0 || idx[j] >= bound) first = std::min(first, j);
    if (first < n) fail_bad_index(op, idx[first], bound, first, index.shape());
}

}  // namespace

// x: (outer, D, inner), index: (n,) in [0, D), out: (outer, n, inner)
void index_select(const Tensor& x, const Tensor& index, const Tensor& out) {
    int64_t outer = x.size(0), d = x.size(1), inner = x.size(2), n = index.numel();
    check_index_1d("index_select", index, d);
    const int64_t* idx = index.data<int64_t>();
    size_t row_bytes = size_t(inner) * x.element_size();
    const char* px = static_cast<const char*>(x.raw_data());
    char* po = static_cast<char*>(out.raw_data());
#pragma omp parallel for collapse(2) schedule(static) if (outer * n * inner >= kParallelGrain)
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < n; ++j)
            std::memcpy(po + ((o * n + j) * inner) * int64_t(x.element_size()),
                        px + ((o * d + idx[j]) * inner) * int64_t(x.element_size()), row_bytes);
}

// src: (outer, n, inner), index: (n,) in [0, D), out: (outer, D, inner)
void index_add(const Tensor& src, const Tensor& index, const Tensor& out) {
    check_index_1d("index_add", index, out.size(1));
    visit_float(src.dtype(), "index_add", [&]<typename T>() {
        int64_t outer = out.size(0), d = out.size(1), inner = out.size(2), n = index.numel();
        const int64_t* idx = index.data<int64_t>();
        const T* ps = src.data<T>();
        T* po = out.data<T>();
#pragma omp parallel for schedule(static) if (outer * n * inner >= kParallelGrain)
        for (int64_t o = 0; o < outer; ++o)
            for (int64_t j = 0; j < n; ++j) {
                const T* s = ps + (o * n + j) * inner;
                T* t = po + (o * d + idx[j]) * inner;
                for (int64_t i = 0; i < inner; ++i) t[i] += s[i];
            }
    });
}

namespace {

// Visits every coordinate of `shape` in row-major order, passing the element offset of that
// coordinate in each of three strided tensors.
template <typename F>
void for_each_coord(const Shape& shape, const std::array<Shape, 3>& strides, F f) {
    int64_t total = shape_numel(shape);
    std::vector<int64_t> coord(shape.size(), 0);
    std::array<int64_t, 3> off{};
    for (int64_t e = 0; e < total; ++e) {
        f(off);
        for (size_t d = shape.size(); d-- > 0;) {
            if (++coord[d] < shape[d]) {
                for (size_t k = 0; k < 3; ++k) off[k] += strides[k][d];
                break;
            }
            for (size_t k = 0; k < 3; ++k) off[k] -= strides[k][d] * (shape[d] - 1);
            coord[d] = 0;
        }
    }
}

// x's strides with `dim` zeroed: the coordinate along dim comes from the index tensor.
// (A 0-d x has no strides: its one element is at offset 0.)
Shape strides_without(const Tensor& t, int64_t dim) {
    Shape s = t.strides();
    if (!s.empty()) s[size_t(dim)] = 0;
    return s;
}

}  // namespace

// out[c] = x[c with c[dim] := index[c]]   (out and index share a shape; a 0-d x has D = 1)
// The loop is serial, so a bad index throws where it is read (e: its row-major position).
void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) {
    int64_t bound = x.dim() == 0 ? 1 : x.size(dim), sd = x.dim() == 0 ? 0 : x.stride(dim);
    visit_dtype(x.dtype(), [&]<typename T>() {
        const T* px = static_cast<const T*>(x.raw_data());
        const int64_t* pi = static_cast<const int64_t*>(index.raw_data());
        T* po = static_cast<T*>(out.raw_data());
        int64_t e = 0;
        for_each_coord(index.shape(), {strides_without(x, dim), index.strides(), out.strides()},
                       [&](const auto& o) {
                           int64_t k = pi[o[1]];
                           if (k < 0 || k >= bound)
                               fail_bad_index("gather", k, bound, e, index.shape());
                           po[o[2]] = px[o[0] + k * sd];
                           ++e;
                       });
    });
}

// out[c with c[dim] := index[c]] += src[c]   (over the coordinates c of index; in order)
void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
    int64_t bound = out.dim() == 0 ? 1 : out.size(dim), sd = out.dim() == 0 ? 0 : out.stride(dim);
    visit_float(out.dtype(), "scatter_add", [&]<typename T>() {
        T* po = static_cast<T*>(out.raw_data());
        const int64_t* pi = static_cast<const int64_t*>(index.raw_data());
        const T* ps = static_cast<const T*>(src.raw_data());
        int64_t e = 0;
        for_each_coord(index.shape(), {strides_without(out, dim), index.strides(), src.strides()},
                       [&](const auto& o) {
                           int64_t k = pi[o[1]];
                           if (k < 0 || k >= bound)
                               fail_bad_index("scatter_add", k, bound, e, index.shape());
                           po[o[0] + k * sd] += ps[o[2]];
                           ++e;
                       });
    });
}

// Rows of x sorted (first k kept). NaN sorts as the largest value, like PyTorch.
void sort(const Tensor& x, int64_t k, bool descending, bool stable, const Tensor& values,
          const Tensor& indices) {
    visit_float(x.dtype(), "sort", [&]<typename T>() {
        int64_t rows = x.size(0), n = x.size(1);
        const T* px = x.data<T>();
        T* pv = values.data<T>();
        int64_t* pi = indices.data<int64_t>();
        // A local copy: clang cannot reach the enclosing function's parameter from a lambda
        // inside the OpenMP region of this (template) lambda.
        const bool desc = descending;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelGrain)
        for (int64_t r = 0; r < rows; ++r) {
            const T* row = px + r * n;
            std::vector<int64_t> order(static_cast<size_t>(n));
            std::iota(order.begin(), order.end(), 0);
            auto less = [row](int64_t a, int64_t b) {  // total order with NaN largest
                T va = row[a], vb = row[b];
                if (vb != vb) return va == va;
                return va < vb;
            };
            auto cmp = [&less, desc](int64_t a, int64_t b) {
                bool lt = desc ? less(b, a) : less(a, b);
                if (lt) return true;
                bool gt = desc ? less(a, b) : less(b, a);
                return !gt && a < b;  // ties keep index order: stable and deterministic
            };
            (void)stable;  // every sort here is stable (ties by index)
            if (k < n)
                std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
            else
                std::sort(order.begin(), order.end(), cmp);
            for (int64_t j = 0; j < k; ++j) {
                pv[r * k + j] = row[order[size_t(j)]];
                pi[r * k + j] = order[size_t(j)];
            }
        }
    });
}

void random(RandomDist dist, uint64_t seed, uint64_t offset, const Tensor& out, double a,
            double b) {
    int64_t n = out.numel(), blocks = (n + 3) / 4;
    visit_dtype(out.dtype(), [&]<typename T>() {
        T* po = static_cast<T*>(out.raw_data());
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
        for (int64_t blk = 0; blk < blocks; ++blk) {
            philox::Block bits = philox::generate(seed, offset + uint64_t(blk));
            for (int lane = 0; lane < 4 && blk * 4 + lane < n; ++lane)
                po[blk * 4 + lane] = philox::sample<T>(int(dist), bits, lane, a, b);
        }
    });
}

}  // namespace marrow::cpu
