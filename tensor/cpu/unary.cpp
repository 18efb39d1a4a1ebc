// CPU unary kernels (forward and backward): the formulas of tensor/math/unary_math.h, one
// loop instantiation per op so each loop body is branch-free and vectorizable. Float32 ops
// whose formula calls libm (exp, log, tanh, sigmoid, silu, gelu) use the vectorized kernels
// of tensor/cpu/vec_kernels.h instead; float64 keeps libm.
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/elementwise.h"
#include "tensor/cpu/vec_kernels.h"
#include "tensor/math/unary_math.h"

namespace marrow::cpu {

void unary(UnaryOp op, const UnaryParams& p, const Tensor& x, const Tensor& out) {
    visit_float(x.dtype(), unary_name(op), [&]<typename T>() {
        if constexpr (std::is_same_v<T, float>) {
            if (UnaryRun run = fast_unary(op)) return map1_run<float>(x, out, run);
        }
        const T a = T(p.a), b = T(p.b);
        math::visit_unary(op, [&]<UnaryOp Op>() {
            map1<T, T>(x, out, [a, b](T v) { return math::Unary<Op>::forward(v, a, b); });
        });
    });
}

void unary_backward(UnaryOp op, const UnaryParams& p, const Tensor& saved, const Tensor& g,
                    const Tensor& gx) {
    visit_float(saved.dtype(), unary_name(op), [&]<typename T>() {
        if constexpr (std::is_same_v<T, float>) {
            if (UnaryBackwardRun run = fast_unary_backward(op))
                return map2_run<float>(saved, g, gx, run);
        }
        const T a = T(p.a), b = T(p.b);
        math::visit_unary(op, [&]<UnaryOp Op>() {
            map2<T, T, T>(saved, g, gx, [a, b](T sv, T gv) {
                return math::Unary<Op>::backward(sv, gv, a, b);
            });
        });
    });
}

}  // namespace marrow::cpu
