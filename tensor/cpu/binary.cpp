// CPU binary kernels: arithmetic on every numeric dtype except f16/bf16 (storage-only),
// comparisons to bool, logical and/or on bool, and where.
#include <cmath>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/elementwise.h"

namespace marrow::cpu {
namespace {

template <typename T>
inline T max_nan(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (a != a) return a;
        if (b != b) return b;
    }
    return a > b ? a : b;
}
template <typename T>
inline T min_nan(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (a != a) return a;
        if (b != b) return b;
    }
    return a < b ? a : b;
}

template <typename T>
void arithmetic(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
    switch (op) {
        case BinaryOp::add:
            return map2<T, T, T>(a, b, out, [](T x, T y) { return T(x + y); });
        case BinaryOp::sub:
            return map2<T, T, T>(a, b, out, [](T x, T y) { return T(x - y); });
        case BinaryOp::mul:
            return map2<T, T, T>(a, b, out, [](T x, T y) { return T(x * y); });
        case BinaryOp::div:
            if constexpr (std::is_integral_v<T>) {
                // The entry point rejects zero divisors; never trap inside the parallel loop.
                return map2<T, T, T>(a, b, out, [](T x, T y) { return y == 0 ? T(0) : T(x / y); });
            } else {
                return map2<T, T, T>(a, b, out, [](T x, T y) { return x / y; });
            }
        case BinaryOp::pow:
            return map2<T, T, T>(a, b, out, [](T x, T y) { return T(std::pow(x, y)); });
        case BinaryOp::maximum:
            return map2<T, T, T>(a, b, out, max_nan<T>);
        case BinaryOp::minimum:
            return map2<T, T, T>(a, b, out, min_nan<T>);
        default:
            break;
    }
}

template <typename T>
void compare(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
    switch (op) {
        case BinaryOp::eq:
            return map2<bool, T, T>(a, b, out, [](T x, T y) { return x == y; });
        case BinaryOp::ne:
            return map2<bool, T, T>(a, b, out, [](T x, T y) { return x != y; });
        case BinaryOp::lt:
            return map2<bool, T, T>(a, b, out, [](T x, T y) { return x < y; });
        case BinaryOp::le:
            return map2<bool, T, T>(a, b, out, [](T x, T y) { return x <= y; });
        case BinaryOp::gt:
            return map2<bool, T, T>(a, b, out, [](T x, T y) { return x > y; });
        case BinaryOp::ge:
            return map2<bool, T, T>(a, b, out, [](T x, T y) { return x >= y; });
        case BinaryOp::logical_and:
            return map2<bool, T, T>(a, b, out, [](T x, T y) { return bool(x) && bool(y); });
        case BinaryOp::logical_or:
            return map2<bool, T, T>(a, b, out, [](T x, T y) { return bool(x) || bool(y); });
        default:
            break;
    }
}

}  // namespace

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
    visit_dtype(a.dtype(), [&]<typename T>() {
        if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
            fail("binary op on {}: f16/bf16 are storage dtypes, convert to f32 first", a.dtype());
        } else if (is_comparison(op)) {
            compare<T>(op, a, b, out);
        } else if constexpr (std::is_same_v<T, bool>) {
            fail("arithmetic on bool tensors is not supported; convert to an integer dtype");
        } else {
            arithmetic<T>(op, a, b, out);
        }
    });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
    visit_dtype(a.dtype(), [&]<typename T>() {
        map3<T, bool, T, T>(cond, a, b, out, [](bool c, T x, T y) { return c ? x : y; });
    });
}

}  // namespace marrow::cpu
