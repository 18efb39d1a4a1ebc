// Kernel signatures for the dispatch table, and the op enums they switch on. Entry points in
// tensor/ops/ check arguments and allocate; kernels only compute. Shapes in comments are what
// the entry point guarantees.
#pragma once
#include <cstdint>

#include "tensor/math/optim_math.h"
#include "tensor/tensor.h"

namespace marrow {

#define MARROW_FORALL_UNARY(X)                                                               \
    X(neg)                                                                                   \
    X(abs)                                                                                   \
    X(sign)                                                                                  \
    X(exp) X(log) X(log1p) X(sqrt) X(rsqrt) X(sin) X(cos) X(tanh) X(sigmoid) X(relu) X(gelu) \
        X(gelu_tanh) X(silu) X(softplus) X(clamp) X(pow_scalar) X(reciprocal)

enum class UnaryOp {
#define MARROW_UNARY_ENUM(name) name,
    MARROW_FORALL_UNARY(MARROW_UNARY_ENUM)
#undef MARROW_UNARY_ENUM
};
std::string_view unary_name(UnaryOp op);
// What a unary op's backward reads: its input x or its output y = f(x). An op saves only
// that one tensor for backward (the formulas in tensor/math/unary_math.h can only see it).
enum class UnarySaves { input, output, nothing };
UnarySaves unary_saves(UnaryOp op);

// clamp: [a, b]; pow_scalar: exponent a; softplus: beta a, threshold b.
struct UnaryParams {
    double a = 0;
    double b = 0;
};

enum class BinaryOp {
    add,
    sub,
    mul,
    div,
    pow,
    maximum,
    minimum,
    eq,
    ne,
    lt,
    le,
    gt,
    ge,
    logical_and,
    logical_or
};
inline bool is_comparison(BinaryOp op) { return op >= BinaryOp::eq; }
std::string_view binary_name(BinaryOp op);

enum class ReduceOp { sum, mean, var, max, min, logsumexp, norm };
// var: correction (0 or 1); norm: p.
struct ReduceParams {
    double correction = 1;
    double p = 2;
};

enum class RandomDist { uniform = 0, normal = 1, randint = 2 };  // philox::sample's kinds

// Kernel signatures, as function types: `CopyKernel* fn` is a pointer to one, and
// `CopyKernel copy;` declares a backend's kernel (tensor/cpu/cpu_kernels.h, cuda/cuda_kernels.h).
using CopyKernel = void(const Tensor& src, const Tensor& dst);  // same shape, any dtypes
using FillKernel = void(const Tensor& dst, double value);
using UnaryKernel = void(UnaryOp, const UnaryParams&, const Tensor& x, const Tensor& out);
// gx = dL/dx = f'(x) g from the one tensor the op saved (`saved`: x or y = f(x), as
// unary_saves(op) says) and g = dL/dy, all the same shape.
using UnaryBackwardKernel = void(UnaryOp, const UnaryParams&, const Tensor& saved, const Tensor& g,
                                 const Tensor& gx);
// a, b: views already broadcast to out's shape (stride 0 on expanded dims).
using BinaryKernel = void(BinaryOp, const Tensor& a, const Tensor& b, const Tensor& out);
using WhereKernel = void(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
// x: (M, R), either contiguous rows, or (for sum and mean only) columns with strides (1, M);
// values: (M,) contiguous; indices: (M,) int64 for max/min, or null.
using ReduceKernel = void(ReduceOp, const ReduceParams&, const Tensor& x, const Tensor& values,
                          const Tensor* indices);
// c = alpha * a @ b + beta * c with a: (B, M, K), b: (B, K, N), c: (B, M, N); any strides
// for a and b, c contiguous. beta == 0 ignores c's old contents (NaN included).
using GemmKernel = void(const Tensor& a, const Tensor& b, const Tensor& c, double alpha,
                        double beta);
// x, y: (outer, D, inner) contiguous; softmax (or log_softmax when `log`) over D.
using SoftmaxKernel = void(bool log, const Tensor& x, const Tensor& y);
using SoftmaxBackwardKernel = void(bool log, const Tensor& y, const Tensor& g, const Tensor& gx);
using CumsumKernel = void(const Tensor& x, const Tensor& y);  // (outer, D, inner)
// x: (outer, D, inner), index: (n,) int64 in [0, D), out: (outer, n, inner). All contiguous.
using IndexSelectKernel = void(const Tensor& x, const Tensor& index, const Tensor& out);
// out: (outer, D, inner) += src: (outer, n, inner) at index. All contiguous.
using IndexAddKernel = void(const Tensor& src, const Tensor& index, const Tensor& out);
// out[i][j][k] = x[i][index[i][j][k]][k] (for dim 1 of the 3-d views); index int64.
using GatherKernel = void(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out);
// out[...index...] += src (in place on out), PyTorch scatter_add semantics.
using ScatterAddKernel = void(const Tensor& out, int64_t dim, const Tensor& index,
                              const Tensor& src);
// x: (M, R) contiguous; the first k of each row sorted; values (M, k), indices (M, k) int64.
using SortKernel = void(const Tensor& x, int64_t k, bool descending, bool stable,
                        const Tensor& values, const Tensor& indices);
// Philox stream (seed, offset): out contiguous; uniform [a, b), normal (mean a, std b),
// randint [a, b).
using RandomKernel = void(RandomDist, uint64_t seed, uint64_t offset, const Tensor& out, double a,
                          double b);
// One fused optimizer update of a parameter (tensor/math/optim_math.h): p, g and the state
// slots s0..s2 contiguous, same shape, dtype (f32 or f64) and device; slots the step does not
// use are passed as p and left alone. p and the used slots are updated in place.
using OptimStepKernel = void(const OptimStepParams&, const Tensor& p, const Tensor& g,
                             const Tensor& s0, const Tensor& s1, const Tensor& s2);
// src, dst: contiguous, same shape and dtype, on different devices (one of them the CPU);
// registered in the column of the non-CPU device.
using TransferKernel = void(const Tensor& src, const Tensor& dst);
// Waits until all work queued on the device has finished (and reports its errors).
using SynchronizeKernel = void(int device_index);

// Note [The kernel list]
// The one list of kernels: (id, signature). It generates the OpId enum and its names
// (tensor/dispatch.h), the typed lookup `kernel<OpId::softmax>(device)` (a kernel called
// with the wrong arguments does not compile), each backend's declarations (namespace cpu /
// cuda: `void softmax(bool log, const Tensor& x, const Tensor& y);`) and each backend's
// registration table. Compute kernels: every backend implements all of them (a missing
// definition is a link error). Device kernels: only accelerators (the CPU has no transfer).
// clang-format off
#define MARROW_FORALL_COMPUTE_KERNELS(X)                                                   \
    X(copy, CopyKernel) X(fill, FillKernel)                                                \
    X(unary, UnaryKernel) X(unary_backward, UnaryBackwardKernel)                           \
    X(binary, BinaryKernel) X(where, WhereKernel) X(reduce, ReduceKernel)                  \
    X(gemm, GemmKernel) X(softmax, SoftmaxKernel) X(softmax_backward, SoftmaxBackwardKernel) \
    X(cumsum, CumsumKernel) X(index_select, IndexSelectKernel) X(index_add, IndexAddKernel) \
    X(gather, GatherKernel) X(scatter_add, ScatterAddKernel) X(sort, SortKernel)           \
    X(random, RandomKernel) X(optim_step, OptimStepKernel)
#define MARROW_FORALL_DEVICE_KERNELS(X) \
    X(transfer, TransferKernel) X(synchronize, SynchronizeKernel)
#define MARROW_FORALL_KERNELS(X) MARROW_FORALL_COMPUTE_KERNELS(X) MARROW_FORALL_DEVICE_KERNELS(X)
// clang-format on

// Declares one backend's kernels inside its namespace: `MARROW_DECLARE_KERNELS(COMPUTE)`.
#define MARROW_DECLARE_KERNEL(name, Signature) Signature name;
#define MARROW_DECLARE_KERNELS(LIST) MARROW_FORALL_##LIST##_KERNELS(MARROW_DECLARE_KERNEL)

}  // namespace marrow
