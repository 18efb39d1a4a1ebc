// Vectorized float32 kernels for the unary ops whose scalar form calls libm (exp, log, tanh,
// sigmoid, silu, gelu, gelu_tanh), built on tensor/cpu/vec_math.h and compiled for AVX-512,
// AVX2+FMA and baseline x86-64; the copy for cpu_isa() is returned. Null: no fast path (the
// generic loop over tensor/math/unary_math.h runs instead).
#pragma once
#include <cstdint>

#include "tensor/kernels.h"

namespace marrow::cpu {

// y[0..n) = f(x[0..n)), contiguous.
using UnaryRun = void (*)(const float* x, float* y, int64_t n);
// gx[0..n) = f'(x) g (given y = f(x)), contiguous.
using UnaryBackwardRun = void (*)(const float* x, const float* y, const float* g, float* gx,
                                  int64_t n);

UnaryRun fast_unary(UnaryOp op);
// erf alone (no tensor op yet; gelu uses it), for the accuracy tests.
UnaryRun fast_erf();
UnaryBackwardRun fast_unary_backward(UnaryOp op);

}  // namespace marrow::cpu
