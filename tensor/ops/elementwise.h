// Elementwise entry points (no autograd): unary ops and their backward, binary ops with
// broadcasting (tensor or scalar right operand), where, and in-place updates for optimizers.
// Layers call the differentiable marrow::* ops instead (Note [Raw entry points], tensor.h).
#pragma once
#include "tensor/kernels.h"

namespace marrow::op {

Tensor unary(UnaryOp op, const Tensor& x, UnaryParams params = {});
// dL/dx from g = dL/dy and the one tensor the op saves: x or y = f(x), per unary_saves(op)
// (an op that saves nothing, such as neg, takes any tensor of g's shape, e.g. g).
Tensor unary_backward(UnaryOp op, const Tensor& saved, const Tensor& g, UnaryParams params = {});
// Both operands must share a dtype; comparisons and logical ops return bool.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor binary(BinaryOp op, const Tensor& a, double b);  // b takes a's dtype
// a = a (op) b in place (b broadcast to a's shape); bumps a's version.
void binary_(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

}  // namespace marrow::op
