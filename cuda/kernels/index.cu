// CUDA indexing kernels (index_select, index_add, gather, scatter_add), sort/topk for small
// rows, and the Philox random fill. The accumulating kernels are deterministic: each thread
// owns one output element and adds its contributions in the same order as the CPU kernel
// (so the results are the same bits), instead of racing with atomics.
//
// Index values are range-checked here, on the device, never by copying the index to the host:
// a bad index is not read through (its output is zero, its contribution dropped) and is
// reported in the device's error record, which the host raises at the next synchronisation
// point (Note [device-side index checks] in cuda/stream.h). Each index element is checked by
// exactly one thread, so a bad one costs one atomicCAS.
#include <algorithm>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"
#include "cuda/stream.h"
#include "tensor/dispatch.h"
#include "tensor/philox.h"

namespace marrow::cuda {
namespace {

constexpr int kMaxDims = 8;

// The first thread to find a bad index claims the record, fills it, and publishes it.
__device__ void report_bad_index(DeviceIndexError* err, OpId op, int64_t value, int64_t bound,
                                 int64_t position) {
    if (atomicCAS(&err->claimed, 0, 1) != 0) return;  // an earlier error is kept
    err->op = int32_t(op);
    err->value = value;
    err->bound = bound;
    err->position = position;
    __threadfence();  // the fields are visible before `ready`
    *static_cast<volatile int32_t*>(&err->ready) = 1;
}

__device__ __forceinline__ bool in_range(int64_t v, int64_t bound) { return v >= 0 && v < bound; }

// Checks a contiguous index of n values against [0, bound): for launches whose main kernel
// has no thread to do it (an empty output with a non-empty index).
__global__ void check_index_kernel(const int64_t* index, int64_t n, int64_t bound, OpId op,
                                   DeviceIndexError* err) {
    MARROW_GRID_STRIDE(j, n) {
        if (!in_range(index[j], bound)) report_bad_index(err, op, index[j], bound, j);
    }
}

// index_select / index_add: (outer, D, inner) and (outer, n, inner) contiguous views.
template <typename T>
__global__ void index_select_kernel(const T* x, const int64_t* index, T* out, int64_t d, int64_t n,
                                    int64_t inner, int64_t total, DeviceIndexError* err) {
    MARROW_GRID_STRIDE(e, total) {
        int64_t i = e % inner, j = (e / inner) % n, o = e / (inner * n);
        int64_t k = index[j];
        if (!in_range(k, d)) {
            if (o == 0 && i == 0) report_bad_index(err, OpId::index_select, k, d, j);
            out[e] = T{};
            continue;
        }
        out[e] = x[(o * d + k) * inner + i];
    }
}

template <typename T>
__global__ void index_add_kernel(const T* src, const int64_t* index, T* out, int64_t d, int64_t n,
                                 int64_t inner, int64_t total, DeviceIndexError* err) {
    MARROW_GRID_STRIDE(e, total) {  // e indexes out: (o, k, i)
        // index[j] is checked by thread j mod total; a bad one matches no k below.
        for (int64_t j = e; j < n; j += total)
            if (!in_range(index[j], d)) report_bad_index(err, OpId::index_add, index[j], d, j);
        int64_t i = e % inner, k = (e / inner) % d, o = e / (inner * d);
        T acc = out[e];
        for (int64_t j = 0; j < n; ++j)
            if (index[j] == k) acc += src[(o * n + j) * inner + i];
        out[e] = acc;
    }
}

// gather / scatter_add over N-d coordinates (row-major over `shape`).
struct Coords {
    int ndim;
    int64_t shape[kMaxDims];  // index's shape (gather), out's shape (scatter_add)
    int64_t index_shape[kMaxDims];
    int64_t a[kMaxDims];      // strides of x (gather) or out (scatter_add)
    int64_t index[kMaxDims];  // strides of index
    int64_t b[kMaxDims];      // strides of out (gather) or src (scatter_add)
};

// bound: x's size along dim. e is also the row-major position in index.
template <typename T>
__global__ void gather_kernel(const T* x, const int64_t* index, T* out, Coords c, int dim,
                              int64_t bound, int64_t total, DeviceIndexError* err) {
    MARROW_GRID_STRIDE(e, total) {
        int64_t rem = e, ox = 0, oi = 0, oo = 0;
        for (int d = c.ndim - 1; d >= 0; --d) {
            int64_t idx = rem % c.shape[d];
            rem /= c.shape[d];
            if (d != dim) ox += idx * c.a[d];
            oi += idx * c.index[d];
            oo += idx * c.b[d];
        }
        int64_t k = index[oi];
        if (!in_range(k, bound)) {
            report_bad_index(err, OpId::gather, k, bound, e);
            out[oo] = T{};
            continue;
        }
        out[oo] = x[ox + k * c.a[dim]];
    }
}

template <typename T>
__global__ void scatter_add_kernel(T* out, const int64_t* index, const T* src, Coords c, int dim,
                                   int64_t total, DeviceIndexError* err) {
    MARROW_GRID_STRIDE(e, total) {  // e indexes out (contiguous, shape c.shape)
        // pos: row-major position in index of (this coordinate, 0 along dim); pos_step: of dim.
        int64_t rem = e, oi = 0, os = 0, target = 0, pos = 0, row = 1, pos_step = 0;
        bool covered = true;
        for (int d = c.ndim - 1; d >= 0; --d) {
            int64_t idx = rem % c.shape[d];
            rem /= c.shape[d];
            if (d == dim) {
                target = idx;
                pos_step = row;
            } else {
                covered = covered && idx < c.index_shape[d];
                oi += idx * c.index[d];
                os += idx * c.b[d];
                pos += idx * row;
            }
            row *= c.index_shape[d];
        }
        if (!covered) continue;
        // The threads with target 0 check the index column they read (each column has one);
        // a bad index matches no target.
        int64_t bound = c.shape[dim];
        T acc = out[e];
        for (int64_t j = 0; j < c.index_shape[dim]; ++j) {
            int64_t k = index[oi + j * c.index[dim]];
            if (target == 0 && !in_range(k, bound))
                report_bad_index(err, OpId::scatter_add, k, bound, pos + j * pos_step);
            if (k == target) acc += src[os + j * c.b[dim]];
        }
        out[e] = acc;
    }
}

// Short rows, one thread per row: the k first elements in the order (value, then index);
// NaN is the largest value (PyTorch). Each step picks the smallest element after the
// previous pick: O(k n) work, no scratch memory.
template <typename T>
__device__ bool comes_before(T va, int64_t ia, T vb, int64_t ib, bool descending) {
    auto less = [](T a, T b) { return b != b ? a == a : a < b; };
    bool lt = descending ? less(vb, va) : less(va, vb);
    bool gt = descending ? less(va, vb) : less(vb, va);
    return lt || (!gt && ia < ib);
}

template <typename T>
__global__ void sort_rows_kernel(const T* x, int64_t rows, int64_t n, int64_t k, bool descending,
                                 T* values, int64_t* indices) {
    MARROW_GRID_STRIDE(r, rows) {
        const T* row = x + r * n;
        T last_v = T(0);
        int64_t last_i = -1;
        for (int64_t j = 0; j < k; ++j) {
            int64_t best = -1;
            for (int64_t i = 0; i < n; ++i) {
                if (last_i >= 0 && !comes_before(last_v, last_i, row[i], i, descending)) continue;
                if (best < 0 || comes_before(row[i], i, row[best], best, descending)) best = i;
            }
            values[r * k + j] = row[best];
            indices[r * k + j] = best;
            last_v = row[best];
            last_i = best;
        }
    }
}

// Long rows: one block per row. Each of the k steps is a block-wide reduction for the
// element that comes next after the previous pick (same order as above), so a row of n is
// O(k n / threads) per thread: topk with small k over long rows (kNN) stays cheap.
template <typename T>
__global__ void sort_rows_block_kernel(const T* x, int64_t n, int64_t k, bool descending, T* values,
                                       int64_t* indices) {
    __shared__ T best_v[kThreads];
    __shared__ int64_t best_i[kThreads];
    const T* row = x + int64_t(blockIdx.x) * n;
    int t = int(threadIdx.x);
    T last_v = T(0);
    int64_t last_i = -1;
    for (int64_t j = 0; j < k; ++j) {
        T cand_v = T(0);
        int64_t cand_i = -1;
        for (int64_t i = t; i < n; i += blockDim.x) {
            if (last_i >= 0 && !comes_before(last_v, last_i, row[i], i, descending)) continue;
            if (cand_i < 0 || comes_before(row[i], i, cand_v, cand_i, descending)) {
                cand_v = row[i];
                cand_i = i;
            }
        }
        best_v[t] = cand_v;
        best_i[t] = cand_i;
        __syncthreads();
        for (int s = kThreads / 2; s > 0; s /= 2) {
            if (t < s && best_i[t + s] >= 0 &&
                (best_i[t] < 0 ||
                 comes_before(best_v[t + s], best_i[t + s], best_v[t], best_i[t], descending))) {
                best_v[t] = best_v[t + s];
                best_i[t] = best_i[t + s];
            }
            __syncthreads();
        }
        last_v = best_v[0];
        last_i = best_i[0];
        if (t == 0) {
            values[int64_t(blockIdx.x) * k + j] = last_v;
            indices[int64_t(blockIdx.x) * k + j] = last_i;
        }
        __syncthreads();  // best_* are rewritten by the next step
    }
}

// Note [Philox stream]: block b of the draw holds elements 4b .. 4b+3.
template <typename T>
__global__ void random_kernel(RandomDist dist, uint64_t seed, uint64_t offset, T* out, int64_t n,
                              double a, double b) {
    int64_t blocks = (n + 3) / 4;
    MARROW_GRID_STRIDE(blk, blocks) {
        philox::Block bits = philox::generate(seed, offset + uint64_t(blk));
        for (int lane = 0; lane < 4 && blk * 4 + lane < n; ++lane)
            out[blk * 4 + lane] = philox::sample<T>(int(dist), bits, lane, a, b);
    }
}

Coords make_coords(const Shape& shape, const Tensor& a, const Tensor& index, const Tensor& b) {
    MARROW_CHECK(int(shape.size()) <= kMaxDims, "CUDA gather/scatter: {} dims (at most {})",
                 shape.size(), kMaxDims);
    Coords c{};
    if (shape.empty()) {  // 0-d: one element, as a 1-d op of size 1 (strides unused)
        c.ndim = 1;
        c.shape[0] = c.index_shape[0] = 1;
        return c;
    }
    c.ndim = int(shape.size());
    for (int d = 0; d < c.ndim; ++d) {
        c.shape[d] = shape[size_t(d)];
        c.index_shape[d] = index.size(d);
        c.a[d] = a.stride(d);
        c.index[d] = index.stride(d);
        c.b[d] = b.stride(d);
    }
    return c;
}

// Checks a launch's index when its main kernel runs no thread (empty output): the first
// `n` values of a contiguous index.
void check_index_only(const Tensor& index, int64_t n, int64_t bound, OpId op) {
    if (n == 0) return;
    DeviceIndexError* err = device_index_error(index.device().index);
    MARROW_LAUNCH(check_index_kernel, blocks_for(n), kThreads, 0,
                  static_cast<const int64_t*>(index.raw_data()), n, bound, op, err);
}

}  // namespace

void index_select(const Tensor& x, const Tensor& index, const Tensor& out) {
    int64_t total = out.numel();
    if (total == 0) return check_index_only(index, index.numel(), x.size(1), OpId::index_select);
    DeviceIndexError* err = device_index_error(x.device().index);
    visit_dtype(x.dtype(), [&]<typename T>() {
        auto* index_select_k = &index_select_kernel<T>;
        MARROW_LAUNCH(index_select_k, blocks_for(total), kThreads, 0, x.data_ptr<T>(),
                      index.data_ptr<int64_t>(), out.data_ptr<T>(), x.size(1), index.numel(), x.size(2),
                      total, err);
    });
}

void index_add(const Tensor& src, const Tensor& index, const Tensor& out) {
    int64_t total = out.numel();
    if (total == 0) return check_index_only(index, index.numel(), out.size(1), OpId::index_add);
    DeviceIndexError* err = device_index_error(out.device().index);
    visit_float(src.dtype(), "index_add", [&]<typename T>() {
        auto* index_add_k = &index_add_kernel<T>;
        MARROW_LAUNCH(index_add_k, blocks_for(total), kThreads, 0, src.data_ptr<T>(),
                      index.data_ptr<int64_t>(), out.data_ptr<T>(), out.size(1), index.numel(), out.size(2),
                      total, err);
    });
}

void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) {
    int64_t total = index.numel();
    if (total == 0) return;
    Coords c = make_coords(index.shape(), x, index, out);
    int64_t bound = x.dim() == 0 ? 1 : x.size(dim);
    DeviceIndexError* err = device_index_error(x.device().index);
    visit_dtype(x.dtype(), [&]<typename T>() {
        auto* gather_k = &gather_kernel<T>;
        MARROW_LAUNCH(gather_k, blocks_for(total), kThreads, 0, static_cast<const T*>(x.raw_data()),
                      static_cast<const int64_t*>(index.raw_data()),
                      static_cast<T*>(out.raw_data()), c, int(dim), bound, total, err);
    });
}

void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
    int64_t total = out.numel();
    if (index.numel() == 0) return;
    // An empty out with a non-empty index has size 0 along dim (the index is no larger on the
    // other dims): every value is out of range, the first one is reported.
    if (total == 0) return check_index_only(index, 1, 0, OpId::scatter_add);
    Coords c = make_coords(out.shape(), out, index, src);
    DeviceIndexError* err = device_index_error(out.device().index);
    visit_float(out.dtype(), "scatter_add", [&]<typename T>() {
        auto* scatter_add_k = &scatter_add_kernel<T>;
        MARROW_LAUNCH(scatter_add_k, blocks_for(total), kThreads, 0,
                      static_cast<T*>(out.raw_data()),
                      static_cast<const int64_t*>(index.raw_data()),
                      static_cast<const T*>(src.raw_data()), c, int(dim), total, err);
    });
}

void sort(const Tensor& x, int64_t k, bool descending, bool, const Tensor& values,
          const Tensor& indices) {
    int64_t rows = x.size(0), n = x.size(1);
    if (rows == 0 || k == 0) return;
    visit_float(x.dtype(), "sort", [&]<typename T>() {
        if (n > 64 && rows <= 2147483647) {  // long rows: a block per row
            auto* sort_rows_block = &sort_rows_block_kernel<T>;
            MARROW_LAUNCH(sort_rows_block, unsigned(rows), kThreads, 0, x.data_ptr<T>(), n, k,
                          descending, values.data_ptr<T>(), indices.data_ptr<int64_t>());
            return;
        }
        auto* sort_rows = &sort_rows_kernel<T>;
        MARROW_LAUNCH(sort_rows, blocks_for(rows), kThreads, 0, x.data_ptr<T>(), rows, n, k, descending,
                      values.data_ptr<T>(), indices.data_ptr<int64_t>());
    });
}

void random(RandomDist dist, uint64_t seed, uint64_t offset, const Tensor& out, double a,
            double b) {
    int64_t n = out.numel();
    if (n == 0) return;
    visit_dtype(out.dtype(), [&]<typename T>() {
        if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16> ||
                      std::is_same_v<T, bool>) {
            fail("random: dtype {} is not supported on CUDA", out.dtype());
        } else {
            auto* random_k = &random_kernel<T>;
            MARROW_LAUNCH(random_k, blocks_for((n + 3) / 4), kThreads, 0, dist, seed, offset,
                          static_cast<T*>(out.raw_data()), n, a, b);
        }
    });
}

}  // namespace marrow::cuda
