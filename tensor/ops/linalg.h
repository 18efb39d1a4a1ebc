// Matrix products (no autograd), all through the one GEMM kernel.
// Layers call the differentiable marrow::* ops instead (Note [Raw entry points], tensor.h).
#pragma once
#include <optional>

#include "tensor/kernels.h"
#include "tensor/tensor.h"

namespace marrow::op {

// `precision`: the operands' rounding (Note [Mixed precision], tensor/autocast.h); by default
// this thread's autocast format for float32 operands, full precision otherwise.
using Precision = std::optional<GemmPrecision>;
Tensor bmm(const Tensor& a, const Tensor& b, Precision precision = {});  // (B,M,K)@(B,K,N)
Tensor mm(const Tensor& a, const Tensor& b, Precision precision = {});   // (M,K)@(K,N)
// beta * bias + alpha * (a @ b); bias broadcasts to (M, N).
Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta = 1,
             double alpha = 1, Precision precision = {});
// x rounded to bf16 / f16 values (nearest even), kept float32; x itself for `full`. What a
// GEMM does to its operands under autocast, as a tensor op (conv2d's autocast, test oracles).
Tensor round_operand(const Tensor& x, GemmPrecision precision);

}  // namespace marrow::op
