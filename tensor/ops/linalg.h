// Matrix products (no autograd), all through the one GEMM kernel.
// Layers call the differentiable marrow::* ops instead (Note [Raw entry points], tensor.h).
#pragma once
#include "tensor/tensor.h"

namespace marrow::op {

Tensor bmm(const Tensor& a, const Tensor& b);  // (B, M, K) @ (B, K, N) -> (B, M, N)
Tensor mm(const Tensor& a, const Tensor& b);   // (M, K) @ (K, N) -> (M, N)
// beta * bias + alpha * (a @ b); bias broadcasts to (M, N).
Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta = 1,
             double alpha = 1);

}  // namespace marrow::op
