// Kernel signatures for the dispatch table, and the op enums they switch on. Entry points in
// tensor/ops/ check arguments and allocate; kernels only compute. Shapes in comments are what
// the entry point guarantees.
#pragma once
#include <cstdint>
#include <vector>

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

// 2-d pooling over the last two dims (tensor/ops/pool.h; windows in tensor/math/pool_math.h).
enum class PoolKind { max, avg, adaptive_avg };
struct Pool2dParams {
    PoolKind kind = PoolKind::max;
    int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;  // max, avg
    int64_t h = 0, w = 0, oh = 0, ow = 0;  // input and output plane sizes
    bool count_include_pad = true;         // avg
    int64_t divisor_override = 0;          // avg: 0 = none
};

// F.interpolate (tensor/ops/interpolate.h; source mapping in tensor/math/interpolate_math.h).
// linear is the 3-d (N, C, L) mode, bilinear and bicubic the 4-d ones, nearest both.
enum class InterpolateMode { nearest, linear, bilinear, bicubic };
struct InterpolateAxis {  // one spatial dim
    int64_t in = 1, out = 1;
    double scale = 0;  // the scale factor mapping output to input coordinates; 0: none (in / out)
};
struct InterpolateParams {
    InterpolateMode mode = InterpolateMode::nearest;
    bool align_corners = false;
    InterpolateAxis h, w;  // 3-d inputs: h is a 1 -> 1 axis
};

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
// for a and b, c contiguous. beta == 0 ignores c's old contents (NaN included). `precision`
// (f32 only; f64 ignores it): bf16 / f16 round both operands to that format (nearest even)
// and multiply-accumulate exactly in f32: autocast's GEMM (Note [Mixed precision], autocast.h).
enum class GemmPrecision : uint8_t { full, bf16, f16 };
using GemmKernel = void(const Tensor& a, const Tensor& b, const Tensor& c, double alpha,
                        double beta, GemmPrecision precision);
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
// Batch normalization over x: (N, C, S) contiguous (S = the product of the spatial dims, 1
// for (N, C)); y like x; weight, bias, running_mean, running_var: (C,) contiguous or null;
// mean, invstd: (C,) contiguous outputs, the statistics y was normalized with (training: the
// batch's mean and 1 / sqrt(biased var + eps); eval: the running buffers'), which backward
// reads. Training also updates the running buffers given, in place:
// r = (1 - momentum) r + momentum stat, with the unbiased variance (n / (n - 1)). N S >= 1.
struct BatchNormParams {
    bool training = true;
    double momentum = 0.1;
    double eps = 1e-5;
};
using BatchNormKernel = void(const BatchNormParams&, const Tensor& x, const Tensor* weight,
                             const Tensor* bias, const Tensor* running_mean,
                             const Tensor* running_var, const Tensor& y, const Tensor& mean,
                             const Tensor& invstd);
// g = dL/dy: (N, C, S) contiguous; x like g, or null when only dx is wanted in eval mode;
// mean, invstd: the forward's (C,); weight (C,) or null (= 1). Outputs, null when not
// wanted: dx like g, dweight and dbias (C,). training: the statistics are functions of x.
using BatchNormBackwardKernel = void(bool training, const Tensor* x, const Tensor& g,
                                     const Tensor& mean, const Tensor& invstd,
                                     const Tensor* weight, const Tensor* dx,
                                     const Tensor* dweight, const Tensor* dbias);
// x: (planes, H, W) contiguous; out: (planes, OH, OW); indices (max only, else null): the
// same shape, int64 flat positions ih * W + iw of each maximum within its plane.
using Pool2dKernel = void(const Pool2dParams&, const Tensor& x, const Tensor& out,
                          const Tensor* indices);
// g: (planes, OH, OW), gx: (planes, H, W), all contiguous; gx is fully written (not added to).
using Pool2dBackwardKernel = void(const Pool2dParams&, const Tensor& g, const Tensor* indices,
                                  const Tensor& gx);
// out = x * mask / (1 - p) with the mask of draw (seed, offset) (pool::dropout_threshold);
// x and out contiguous, same shape; 0 < p < 1. Backward is the same kernel applied to g.
using DropoutKernel = void(uint64_t seed, uint64_t offset, double p, const Tensor& x,
                           const Tensor& out);
// x: (planes, h.in, w.in) -> out: (planes, h.out, w.out), contiguous, f32/f64.
using InterpolateKernel = void(const InterpolateParams&, const Tensor& x, const Tensor& out);
// g: (planes, h.out, w.out) -> gx: (planes, h.in, w.in), contiguous; gx is overwritten.
using InterpolateBackwardKernel = void(const InterpolateParams&, const Tensor& g,
                                       const Tensor& gx);
// x, y: (outer, D, inner) contiguous; y = x / max(||x||_p over D, eps) (F.normalize).
using NormalizeKernel = void(double p, double eps, const Tensor& x, const Tensor& y);
// gx = dL/dx from x and g = dL/dy, all (outer, D, inner) contiguous.
using NormalizeBackwardKernel = void(double p, double eps, const Tensor& x, const Tensor& g,
                                     const Tensor& gx);
// Layer normalization of x: (M, N) contiguous, each row over its N values (the leading dims
// flattened into M rows): y = (x - mean) rstd weight + bias with the row's mean and
// rstd = 1 / sqrt(biased var + eps). weight, bias: (N,) contiguous or null; y like x; mean,
// rstd: (M,) contiguous outputs, which backward reads. M, N >= 1.
using LayerNormKernel = void(double eps, const Tensor& x, const Tensor* weight, const Tensor* bias,
                             const Tensor& y, const Tensor& mean, const Tensor& rstd);
// g = dL/dy and x: (M, N) contiguous; mean, rstd: the forward's (M,); weight (N,) or null (= 1).
// x, mean and rstd are null only when dbias (which reads g alone) is the one gradient wanted.
// Outputs, null when not wanted (at least one given): dx like g, dweight and dbias (N,), all
// overwritten. dweight and dbias are sums over rows in a fixed order (no atomics).
using LayerNormBackwardKernel = void(const Tensor* x, const Tensor& g, const Tensor* mean,
                                     const Tensor* rstd, const Tensor* weight, const Tensor* dx,
                                     const Tensor* dweight, const Tensor* dbias);
// Philox stream (seed, offset): out contiguous; uniform [a, b), normal (mean a, std b),
// randint [a, b).
using RandomKernel = void(RandomDist, uint64_t seed, uint64_t offset, const Tensor& out, double a,
                          double b);
// Convolution geometry, resolved by the entry point (tensor/ops/conv.cpp): x (n, c, h, w),
// weight (o, c / groups, kh, kw), y (n, o, ho, wo), all contiguous. pad_h / pad_w are the
// top / left padding; the bottom / right padding is whatever ho / wo imply (PyTorch's
// padding="same" puts an odd total's extra row / column there). Input row of output row r
// and kernel row i: r * stride_h - pad_h + i * dil_h (out of range: zero).
struct Conv2dGeometry {
    int64_t n, c, h, w, o, kh, kw, ho, wo;
    int64_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups;
    bool relu;  // forward only: y = max(0, y), fused (Conv2dParams::relu)
};
// y = conv2d(x, weight) (+ bias: (o,) contiguous, or null), then max(0, y) when g.relu.
using Conv2dKernel = void(const Conv2dGeometry&, const Tensor& x, const Tensor& weight,
                          const Tensor* bias, const Tensor& y);
// gx = dL/dx from gy = dL/dy (n, o, ho, wo) and the weight; gx (n, c, h, w) is overwritten.
using Conv2dBackwardInputKernel = void(const Conv2dGeometry&, const Tensor& gy,
                                       const Tensor& weight, const Tensor& gx);
// gw = dL/dweight from x and gy; gw (o, c / groups, kh, kw) is overwritten.
using Conv2dBackwardWeightKernel = void(const Conv2dGeometry&, const Tensor& x, const Tensor& gy,
                                        const Tensor& gw);
// One parameter of a fused optimizer update: p, g and the state slots s0..s2 contiguous, same
// shape, dtype (f32 or f64) and device; slots the step does not use are p and left alone.
struct OptimTensors {
    Tensor p, g, s0, s1, s2;
};
// One fused optimizer update (tensor/math/optim_math.h) of parameters that share the step's
// scalars, all of one dtype and device: p and the used slots are updated in place. CUDA runs
// them as multi-tensor launches (Note [Multi-tensor launch], cuda/kernels/optim.cu).
using OptimStepKernel = void(const OptimStepParams&, const std::vector<OptimTensors>& tensors);
// Scaled dot-product attention (tensor/ops/attention.h; Note [Fused attention] in
// tensor/cpu/attention.cpp). q (batch, L, E), k (batch, S, E), v (batch, S, Ev), out (batch,
// L, Ev) contiguous; lse (batch, L) contiguous, the per-row log-sum-exp of the scores, which
// backward reads. The mask (bool: true takes part; or additive, q's dtype) is read at
// mask.data_ptr() + (b / mask_inner) mask_so + (b % mask_inner) mask_si + i mask_sr +
// j mask_sc (broadcast dims have stride 0). Dropout (p > 0) keeps score (b, i, j) by the
// dropout op's rule at element (b L + i) S + j of the draw (seed, offset).
struct AttentionParams {
    int64_t batch = 0, L = 0, S = 0, E = 0, Ev = 0;
    double scale = 1;
    bool causal = false;  // key j takes part in query i's row when j <= i (top-left aligned)
    int64_t mask_inner = 1, mask_so = 0, mask_si = 0, mask_sr = 0, mask_sc = 0;
    double dropout_p = 0;
    uint64_t seed = 0, offset = 0;
    // bf16 / f16: the block products round their operands to it, float32 sums (float32 only;
    // Note [Fused attention] under autocast, tensor/cpu/attention.cpp).
    GemmPrecision precision = GemmPrecision::full;
};
using AttentionKernel = void(const AttentionParams&, const Tensor& q, const Tensor& k,
                             const Tensor& v, const Tensor* mask, const Tensor& out,
                             const Tensor& lse);
// g = dL/dout (batch, L, Ev) contiguous; outputs (null when not wanted) dq, dk, dv like q, k,
// v, and dmask (batch, L, S) contiguous (the scores' gradient, for an additive mask).
using AttentionBackwardKernel = void(const AttentionParams&, const Tensor& q, const Tensor& k,
                                     const Tensor& v, const Tensor* mask, const Tensor& out,
                                     const Tensor& lse, const Tensor& g, const Tensor* dq,
                                     const Tensor* dk, const Tensor* dv, const Tensor* dmask);
// Contrastive losses (tensor/ops/contrastive.h; Note [Contrastive losses] in
// tensor/cpu/contrastive.cpp). NT-Xent: z (2N, d) contiguous, N >= 1, d >= 1; loss 0-d; lse
// (2N,): each row's log-sum-exp of S = zn zn^T / temperature over j != i (zn: rows of z
// l2-normalized, eps 1e-12), which backward reads. g: dL/dloss, 0-d; gz like z, overwritten.
using NtXentKernel = void(double temperature, const Tensor& z, const Tensor& loss,
                          const Tensor& lse);
using NtXentBackwardKernel = void(double temperature, const Tensor& z, const Tensor& lse,
                                  const Tensor& g, const Tensor& gz);
// KoLeo (dinov2's KoLeoLoss): x (B, D) contiguous, B >= 2, D >= 1; loss 0-d; nn (B,) int64,
// each row's nearest neighbour (Gram argmax, diagonal -1), which backward reads.
using KoleoKernel = void(double eps, const Tensor& x, const Tensor& loss, const Tensor& nn);
using KoleoBackwardKernel = void(double eps, const Tensor& x, const Tensor& nn, const Tensor& g,
                                 const Tensor& gx);
// Sinkhorn-Knopp and the soft cross-entropies of the SSL losses (issue 15; tensor/ops/sinkhorn.h,
// tensor/ops/crop_cross_entropy.h). scores, q: (B, K) contiguous, f32/f64; q = SwAV's
// distributed_sinkhorn(scores) at world size 1, computed in the log domain.
using SinkhornKernel = void(const Tensor& scores, double epsilon, int64_t iterations,
                            const Tensor& q);
// crops: targets (t, b, k), logits (v, b, k); row (vi, bi) of the logits is paired with the sum
// of the target rows (j, bi), j < t, j != vi. Otherwise (rows): targets, logits (b, k), row r
// with target row r and weight weights[r]. All contiguous, one dtype. The per-row loss is
// scale w_r sum_k Q_rk (lse_r - z_rk), z = logits inv_tau, lse_r = logsumexp_k z_rk.
struct SoftCrossEntropyParams {
    int64_t t = 1, v = 1, b = 0, k = 0;
    double inv_tau = 1, scale = 1;
    bool crops = true;
};
// row_loss, lse: (v b) contiguous, overwritten; weights (b) or null (crops).
using SoftCrossEntropyKernel = void(const SoftCrossEntropyParams&, const Tensor& targets,
                                    const Tensor& logits, const Tensor* weights,
                                    const Tensor& row_loss, const Tensor& lse);
// g: the 0-d upstream gradient (read on the device, no sync); dlogits like logits:
//   dlogits_rk = g scale w_r inv_tau (sum_k' Q_rk' softmax(z_r)_k - Q_rk).
using SoftCrossEntropyBackwardKernel = void(const SoftCrossEntropyParams&, const Tensor& targets,
                                            const Tensor& logits, const Tensor* weights,
                                            const Tensor& lse, const Tensor& g,
                                            const Tensor& dlogits);
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
    X(random, RandomKernel) X(optim_step, OptimStepKernel)                                 \
    X(conv2d, Conv2dKernel) X(conv2d_backward_input, Conv2dBackwardInputKernel)            \
    X(conv2d_backward_weight, Conv2dBackwardWeightKernel)                                  \
    X(batch_norm, BatchNormKernel) X(batch_norm_backward, BatchNormBackwardKernel)           \
    X(pool2d, Pool2dKernel) X(pool2d_backward, Pool2dBackwardKernel) X(dropout, DropoutKernel)  \
    X(normalize, NormalizeKernel) X(normalize_backward, NormalizeBackwardKernel)           \
    X(layer_norm, LayerNormKernel) X(layer_norm_backward, LayerNormBackwardKernel)         \
    X(interpolate, InterpolateKernel) X(interpolate_backward, InterpolateBackwardKernel)   \
    X(attention, AttentionKernel) X(attention_backward, AttentionBackwardKernel)           \
    X(nt_xent, NtXentKernel) X(nt_xent_backward, NtXentBackwardKernel)                     \
    X(koleo_loss, KoleoKernel) X(koleo_loss_backward, KoleoBackwardKernel)                 \
    X(sinkhorn, SinkhornKernel) X(soft_cross_entropy, SoftCrossEntropyKernel)              \
    X(soft_cross_entropy_backward, SoftCrossEntropyBackwardKernel)
#define MARROW_FORALL_DEVICE_KERNELS(X) \
    X(transfer, TransferKernel) X(synchronize, SynchronizeKernel)
#define MARROW_FORALL_KERNELS(X) MARROW_FORALL_COMPUTE_KERNELS(X) MARROW_FORALL_DEVICE_KERNELS(X)
// clang-format on

// Declares one backend's kernels inside its namespace: `MARROW_DECLARE_KERNELS(COMPUTE)`.
#define MARROW_DECLARE_KERNEL(name, Signature) Signature name;
#define MARROW_DECLARE_KERNELS(LIST) MARROW_FORALL_##LIST##_KERNELS(MARROW_DECLARE_KERNEL)

}  // namespace marrow
