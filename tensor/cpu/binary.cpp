// CPU binary kernels: the formulas of tensor/math/binary_math.h on every numeric dtype except
// f16/bf16 (storage-only); comparisons to bool, logical and/or on bool; and where.
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/elementwise.h"
#include "tensor/math/binary_math.h"

namespace marrow::cpu {

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
    math::visit_binary_typed(a.dtype(), op, [&]<typename T, BinaryOp Op, typename R>() {
        // A lambda, not the function pointer: map2's loops must inline it to vectorize.
        map2<R, T, T>(a, b, out, [](T x, T y) { return math::Binary<Op>::apply(x, y); });
    });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
    visit_dtype(a.dtype(), [&]<typename T>() {
        map3<T, bool, T, T>(cond, a, b, out, [](bool c, T x, T y) { return c ? x : y; });
    });
}

}  // namespace marrow::cpu
