// Vectorized float32 kernels built on tensor/cpu/vec_math.h, compiled for AVX-512, AVX2+FMA
// and baseline x86-64; each getter returns the copy for cpu_isa(). Unary ops whose scalar form
// calls libm (exp, log, tanh, sigmoid, silu, gelu, gelu_tanh: tensor/cpu/vec_unary.cpp; null
// means no fast path, the generic loop over tensor/math/unary_math.h runs instead) and softmax
// over contiguous rows (tensor/cpu/vec_softmax.cpp).
#pragma once
#include <cstdint>

#include "tensor/kernels.h"

namespace marrow::cpu {

// y[0..n) = f(x[0..n)), contiguous.
using UnaryRun = void (*)(const float* x, float* y, int64_t n);
// gx[0..n) = f'(x) g from the saved x, contiguous (only ops that save x have one).
using UnaryBackwardRun = void (*)(const float* x, const float* g, float* gx, int64_t n);

UnaryRun fast_unary(UnaryOp op);
// erf alone (no tensor op yet; gelu uses it), for the accuracy tests.
UnaryRun fast_erf();
UnaryBackwardRun fast_unary_backward(UnaryOp op);

// softmax / log_softmax of each row of x (rows, d), contiguous, into y; and the backward
// gx from y and g. Rows are independent (callers split them across threads).
using SoftmaxRows = void (*)(bool log, const float* x, float* y, int64_t rows, int64_t d);
using SoftmaxBackwardRows = void (*)(bool log, const float* y, const float* g, float* gx,
                                     int64_t rows, int64_t d);
SoftmaxRows fast_softmax_rows();
SoftmaxBackwardRows fast_softmax_backward_rows();

// log sum exp of a contiguous row as (max, sum of exp(x - max)); max is NaN when the row holds
// one. Partial rows combine with combine_lse; the result is max + log(sum) when max is finite,
// else max (all -inf, +inf or NaN), as PyTorch.
struct RowLse {
    float max, sum;
};
using RowLseFn = RowLse (*)(const float* x, int64_t n);
RowLseFn fast_row_logsumexp();

// The first maximum (or minimum) of a contiguous row and its index; NaN wins (first NaN), as
// PyTorch's max/argmax (tensor/cpu/vec_reduce.cpp).
struct RowArg {
    float value;
    int64_t index;
};
using RowArgFn = RowArg (*)(const float* x, int64_t n, bool want_max);
RowArgFn fast_row_arg();

}  // namespace marrow::cpu
