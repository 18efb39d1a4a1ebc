// Scalar formulas of the binary ops, shared by the CPU and CUDA kernels. Arithmetic returns
// T; comparisons and logical ops return bool. maximum/minimum propagate NaN (PyTorch);
// integer division by zero yields 0 here because the entry point rejects it beforehand.
#pragma once
#include <type_traits>

#include "tensor/dtype.h"
#include "tensor/kernels.h"
#include "tensor/math/host_device.h"

namespace marrow::math {

template <BinaryOp Op>
struct Binary {
    template <typename T>
    MARROW_HOST_DEVICE static auto apply(T x, T y) {
        if constexpr (Op == BinaryOp::add)
            return T(x + y);
        else if constexpr (Op == BinaryOp::sub)
            return T(x - y);
        else if constexpr (Op == BinaryOp::mul)
            return T(x * y);
        else if constexpr (Op == BinaryOp::div) {
            if constexpr (std::is_integral_v<T>)
                return y == T(0) ? T(0) : T(x / y);
            else
                return T(x / y);
        } else if constexpr (Op == BinaryOp::pow)
            return T(MARROW_MATH(pow)(x, y));
        else if constexpr (Op == BinaryOp::maximum) {
            if constexpr (std::is_floating_point_v<T>)
                if (x != x || y != y) return x != x ? x : y;
            return x > y ? x : y;
        } else if constexpr (Op == BinaryOp::minimum) {
            if constexpr (std::is_floating_point_v<T>)
                if (x != x || y != y) return x != x ? x : y;
            return x < y ? x : y;
        } else if constexpr (Op == BinaryOp::eq)
            return bool(x == y);
        else if constexpr (Op == BinaryOp::ne)
            return bool(x != y);
        else if constexpr (Op == BinaryOp::lt)
            return bool(x < y);
        else if constexpr (Op == BinaryOp::le)
            return bool(x <= y);
        else if constexpr (Op == BinaryOp::gt)
            return bool(x > y);
        else if constexpr (Op == BinaryOp::ge)
            return bool(x >= y);
        else if constexpr (Op == BinaryOp::logical_and)
            return bool(x) && bool(y);
        else
            return bool(x) || bool(y);
    }
};

#define MARROW_FORALL_BINARY(X)                                                                   \
    X(add)                                                                                        \
    X(sub)                                                                                        \
    X(mul) X(div) X(pow) X(maximum) X(minimum) X(eq) X(ne) X(lt) X(le) X(gt) X(ge) X(logical_and) \
        X(logical_or)

// Calls fn.template operator()<Op>() with `op` as a compile-time constant (host side).
template <typename Fn>
void visit_binary(BinaryOp op, Fn&& fn) {
    switch (op) {
#define MARROW_BINARY_VISIT(name) \
    case BinaryOp::name:          \
        return fn.template operator()<BinaryOp::name>();
        MARROW_FORALL_BINARY(MARROW_BINARY_VISIT)
#undef MARROW_BINARY_VISIT
    }
}

// The host-side dispatch every backend's binary kernel uses: calls
// fn.template operator()<T, Op, R>() with the operand type T, the op and its result type R,
// after rejecting f16/bf16 (storage-only) and arithmetic on bool.
template <typename Fn>
void visit_binary_typed(DType dtype, BinaryOp op, Fn&& fn) {
    visit_dtype(dtype, [&]<typename T>() {
        if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
            fail("binary op on {}: f16/bf16 are storage dtypes, convert to f32 first", dtype);
        } else {
            visit_binary(op, [&]<BinaryOp Op>() {
                using R = decltype(Binary<Op>::apply(T(), T()));
                if constexpr (std::is_same_v<T, bool> && !std::is_same_v<R, bool>) {
                    fail(
                        "arithmetic on bool tensors is not supported; convert to an integer "
                        "dtype");
                } else {
                    fn.template operator()<T, Op, R>();
                }
            });
        }
    });
}

}  // namespace marrow::math
