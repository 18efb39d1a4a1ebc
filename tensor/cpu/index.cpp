// CPU indexing kernels (index_select, index_add, gather, scatter_add), sort/topk and the
// Philox random fill. Index values were range-checked by the entry points. Accumulating
// kernels (index_add, scatter_add) run their sums in a fixed order: deterministic.
#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <vector>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/loops.h"
#include "tensor/philox.h"

namespace marrow::cpu {

void index_select(const Tensor& x, const Tensor& index, const Tensor& out) {
    int64_t outer = x.size(0), d = x.size(1), inner = x.size(2), n = index.numel();
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

void index_add(const Tensor& src, const Tensor& index, const Tensor& out) {
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
Shape strides_without(const Tensor& t, int64_t dim) {
    Shape s = t.strides();
    s[size_t(dim)] = 0;
    return s;
}

}  // namespace

// out[c] = x[c with c[dim] := index[c]]   (out and index share a shape)
void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) {
    visit_dtype(x.dtype(), [&]<typename T>() {
        const T* px = static_cast<const T*>(x.raw_data());
        const int64_t* pi = static_cast<const int64_t*>(index.raw_data());
        T* po = static_cast<T*>(out.raw_data());
        int64_t sd = x.stride(dim);
        for_each_coord(index.shape(), {strides_without(x, dim), index.strides(), out.strides()},
                       [&](const auto& o) { po[o[2]] = px[o[0] + pi[o[1]] * sd]; });
    });
}

// out[c with c[dim] := index[c]] += src[c]   (over the coordinates c of index; in order)
void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
    visit_float(out.dtype(), "scatter_add", [&]<typename T>() {
        T* po = static_cast<T*>(out.raw_data());
        const int64_t* pi = static_cast<const int64_t*>(index.raw_data());
        const T* ps = static_cast<const T*>(src.raw_data());
        int64_t sd = out.stride(dim);
        for_each_coord(index.shape(), {strides_without(out, dim), index.strides(), src.strides()},
                       [&](const auto& o) { po[o[0] + pi[o[1]] * sd] += ps[o[2]]; });
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
            auto cmp = [&](int64_t a, int64_t b) {
                bool lt = descending ? less(b, a) : less(a, b);
                if (lt) return true;
                bool gt = descending ? less(a, b) : less(b, a);
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
