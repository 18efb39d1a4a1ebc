// CUDA elementwise kernels: unary (forward, backward), binary, where, copy/cast and fill.
// The scalar formulas come from tensor/math/ (the same code the CPU kernels run). Two paths:
// contiguous operands use a grid-stride loop over flat indices (float32 unary and binary ops
// move 16 bytes per load when all pointers are 16-byte aligned); strided or broadcast operands
// map each flat index to per-operand offsets through a coalesced Geometry.
#include <algorithm>

#include "cuda/cuda_kernels.h"
#include "cuda/kernels/geometry.h"
#include "cuda/kernels/grid.h"
#include "cuda/kernels/vec.h"
#include "cuda/launch.h"
#include "tensor/math/binary_math.h"
#include "tensor/math/convert.h"
#include "tensor/math/unary_math.h"

namespace marrow::cuda {
namespace {

// ---- unary
template <UnaryOp Op, typename T>
__global__ void unary_kernel(const T* x, T* y, Geometry<2> g, int64_t n, T a, T b) {
    MARROW_GRID_STRIDE(i, n) {
        int64_t off[2];
        g.offsets(i, off);
        y[off[0]] = math::Unary<Op>::forward(x[off[1]], a, b);
    }
}

template <UnaryOp Op>
__global__ void unary_vec4_kernel(const float* x, float* y, int64_t n, float a, float b) {
    int64_t n4 = n / 4;
    MARROW_GRID_STRIDE(i, n4) {
        float4 v = load4(x + 4 * i);
        v.x = math::Unary<Op>::forward(v.x, a, b);
        v.y = math::Unary<Op>::forward(v.y, a, b);
        v.z = math::Unary<Op>::forward(v.z, a, b);
        v.w = math::Unary<Op>::forward(v.w, a, b);
        store4(y + 4 * i, v);
    }
    MARROW_GRID_STRIDE(i, n - 4 * n4) {
        y[4 * n4 + i] = math::Unary<Op>::forward(x[4 * n4 + i], a, b);
    }
}

template <UnaryOp Op, typename T>
__global__ void unary_backward_kernel(const T* saved, const T* g, T* gx, Geometry<3> geo, int64_t n,
                                      T a, T b) {
    MARROW_GRID_STRIDE(i, n) {
        int64_t off[3];
        geo.offsets(i, off);
        gx[off[0]] = math::Unary<Op>::backward(saved[off[1]], g[off[2]], a, b);
    }
}

// ---- binary
template <BinaryOp Op, typename T, typename R>
__global__ void binary_kernel(const T* a, const T* b, R* out, Geometry<3> g, int64_t n) {
    MARROW_GRID_STRIDE(i, n) {
        int64_t off[3];
        g.offsets(i, off);
        out[off[0]] = math::Binary<Op>::apply(a[off[1]], b[off[2]]);
    }
}

template <BinaryOp Op>
__global__ void binary_vec4_kernel(const float* a, const float* b, float* out, int64_t n) {
    int64_t n4 = n / 4;
    MARROW_GRID_STRIDE(i, n4) {
        float4 u = load4(a + 4 * i), v = load4(b + 4 * i);
        u.x = math::Binary<Op>::apply(u.x, v.x);
        u.y = math::Binary<Op>::apply(u.y, v.y);
        u.z = math::Binary<Op>::apply(u.z, v.z);
        u.w = math::Binary<Op>::apply(u.w, v.w);
        store4(out + 4 * i, u);
    }
    MARROW_GRID_STRIDE(i, n - 4 * n4) {
        out[4 * n4 + i] = math::Binary<Op>::apply(a[4 * n4 + i], b[4 * n4 + i]);
    }
}

template <typename T>
__global__ void where_kernel(const bool* c, const T* a, const T* b, T* out, Geometry<4> g,
                             int64_t n) {
    MARROW_GRID_STRIDE(i, n) {
        int64_t off[4];
        g.offsets(i, off);
        out[off[0]] = c[off[1]] ? a[off[2]] : b[off[3]];
    }
}

// ---- copy / cast and fill
template <typename D, typename S>
__global__ void copy_kernel(const S* src, D* dst, Geometry<2> g, int64_t n) {
    MARROW_GRID_STRIDE(i, n) {
        int64_t off[2];
        g.offsets(i, off);
        dst[off[0]] = math::convert<D>(src[off[1]]);
    }
}

// Same-dtype contiguous copies move 16-byte words whatever the element type.
__global__ void copy16_kernel(const float* src, float* dst, int64_t n4) {
    MARROW_GRID_STRIDE(i, n4) { store4(dst + 4 * i, load4(src + 4 * i)); }
}

template <typename T>
__global__ void fill_kernel(T* dst, Geometry<1> g, int64_t n, T value) {
    MARROW_GRID_STRIDE(i, n) {
        int64_t off[1];
        g.offsets(i, off);
        dst[off[0]] = value;
    }
}

template <typename T>
const T* in(const Tensor& t) {
    return static_cast<const T*>(t.raw_data());
}
template <typename T>
T* out(const Tensor& t) {
    return static_cast<T*>(t.raw_data());
}

}  // namespace

void unary(UnaryOp op, const UnaryParams& p, const Tensor& x, const Tensor& y) {
    int64_t n = y.numel();
    if (n == 0) return;
    Geometry<2> g = make_geometry<2>({&y, &x});
    visit_float(x.dtype(), unary_name(op), [&]<typename T>() {
        math::visit_unary(op, [&]<UnaryOp Op>() {
            if constexpr (std::is_same_v<T, float>) {
                if (g.contiguous && aligned16(x.raw_data()) && aligned16(y.raw_data())) {
                    auto* unary_vec4 = &unary_vec4_kernel<Op>;
                    MARROW_LAUNCH(unary_vec4, blocks_for((n + 3) / 4), kThreads, 0, in<float>(x),
                                  out<float>(y), n, float(p.a), float(p.b));
                    return;
                }
            }
            auto* unary_strided = &unary_kernel<Op, T>;
            MARROW_LAUNCH(unary_strided, blocks_for(n), kThreads, 0, in<T>(x), out<T>(y), g, n,
                          T(p.a), T(p.b));
        });
    });
}

void unary_backward(UnaryOp op, const UnaryParams& p, const Tensor& saved, const Tensor& g,
                    const Tensor& gx) {
    int64_t n = gx.numel();
    if (n == 0) return;
    Geometry<3> geo = make_geometry<3>({&gx, &saved, &g});
    visit_float(saved.dtype(), unary_name(op), [&]<typename T>() {
        math::visit_unary(op, [&]<UnaryOp Op>() {
            auto* unary_backward = &unary_backward_kernel<Op, T>;
            MARROW_LAUNCH(unary_backward, blocks_for(n), kThreads, 0, in<T>(saved), in<T>(g),
                          out<T>(gx), geo, n, T(p.a), T(p.b));
        });
    });
}

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& o) {
    int64_t n = o.numel();
    if (n == 0) return;
    Geometry<3> g = make_geometry<3>({&o, &a, &b});
    math::visit_binary_typed(a.dtype(), op, [&]<typename T, BinaryOp Op, typename R>() {
        if constexpr (std::is_same_v<T, float> && std::is_same_v<R, float>) {
            if (g.contiguous && aligned16(a.raw_data()) && aligned16(b.raw_data()) &&
                aligned16(o.raw_data())) {
                auto* binary_vec4 = &binary_vec4_kernel<Op>;
                MARROW_LAUNCH(binary_vec4, blocks_for((n + 3) / 4), kThreads, 0, in<float>(a),
                              in<float>(b), out<float>(o), n);
                return;
            }
        }
        auto* binary_strided = &binary_kernel<Op, T, R>;
        MARROW_LAUNCH(binary_strided, blocks_for(n), kThreads, 0, in<T>(a), in<T>(b), out<R>(o), g,
                      n);
    });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& o) {
    int64_t n = o.numel();
    if (n == 0) return;
    Geometry<4> g = make_geometry<4>({&o, &cond, &a, &b});
    visit_dtype(a.dtype(), [&]<typename T>() {
        auto* where_k = &where_kernel<T>;
        MARROW_LAUNCH(where_k, blocks_for(n), kThreads, 0, in<bool>(cond), in<T>(a), in<T>(b),
                      out<T>(o), g, n);
    });
}

void copy(const Tensor& src, const Tensor& dst) {
    int64_t n = dst.numel();
    if (n == 0) return;
    Geometry<2> g = make_geometry<2>({&dst, &src});
    size_t bytes = size_t(n) * src.element_size();
    if (src.dtype() == dst.dtype() && g.contiguous && bytes % 16 == 0 &&
        aligned16(src.raw_data()) && aligned16(dst.raw_data())) {
        auto* copy16 = &copy16_kernel;
        int64_t n4 = int64_t(bytes / 16);
        MARROW_LAUNCH(copy16, blocks_for(n4), kThreads, 0,
                      static_cast<const float*>(src.raw_data()),
                      static_cast<float*>(dst.raw_data()), n4);
        return;
    }
    visit_dtype(src.dtype(), [&]<typename S>() {
        visit_dtype(dst.dtype(), [&]<typename D>() {
            auto* copy_k = &copy_kernel<D, S>;
            MARROW_LAUNCH(copy_k, blocks_for(n), kThreads, 0, in<S>(src), out<D>(dst), g, n);
        });
    });
}

void fill(const Tensor& dst, double value) {
    int64_t n = dst.numel();
    if (n == 0) return;
    Geometry<1> g = make_geometry<1>({&dst});
    visit_dtype(dst.dtype(), [&]<typename T>() {
        auto* fill_k = &fill_kernel<T>;
        MARROW_LAUNCH(fill_k, blocks_for(n), kThreads, 0, out<T>(dst), g, n,
                      math::convert<T>(value));
    });
}

}  // namespace marrow::cuda
