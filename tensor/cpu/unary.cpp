// CPU unary kernels (forward and backward): the formulas of tensor/math/unary_math.h, one
// loop instantiation per op so each loop body is branch-free and vectorizable.
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/elementwise.h"
#include "tensor/math/unary_math.h"

namespace marrow::cpu {

void unary(UnaryOp op, const UnaryParams& p, const Tensor& x, const Tensor& out) {
    visit_float(x.dtype(), unary_name(op), [&]<typename T>() {
        const T a = T(p.a), b = T(p.b);
        math::visit_unary(op, [&]<UnaryOp Op>() {
            map1<T, T>(x, out, [a, b](T v) { return math::Unary<Op>::forward(v, a, b); });
        });
    });
}

void unary_backward(UnaryOp op, const UnaryParams& p, const Tensor& x, const Tensor& y,
                    const Tensor& g, const Tensor& gx) {
    visit_float(x.dtype(), unary_name(op), [&]<typename T>() {
        const T a = T(p.a), b = T(p.b);
        math::visit_unary(op, [&]<UnaryOp Op>() {
            map3<T, T, T, T>(x, y, g, gx, [a, b](T xv, T yv, T gv) {
                return math::Unary<Op>::backward(xv, yv, gv, a, b);
            });
        });
    });
}

}  // namespace marrow::cpu
