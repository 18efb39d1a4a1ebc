#include "tensor/ops/linalg.h"

#include "tensor/autocast.h"
#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/kernels.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/view.h"

namespace marrow::op {

static void check_operands(std::string_view op, const Tensor& a, const Tensor& b, int64_t rank) {
    check_same_device(op, a, b);
    check_same_dtype(op, a, b);
    MARROW_CHECK(a.dim() == rank && b.dim() == rank,
                 "{}: expected {}-d operands, got shapes {} and {}", op, rank, a.shape(),
                 b.shape());
    MARROW_CHECK(a.size(-1) == b.size(-2), "{}: shapes {} and {} cannot be multiplied ({} != {})",
                 op, a.shape(), b.shape(), a.size(-1), b.size(-2));
}

Tensor bmm(const Tensor& a, const Tensor& b, Precision precision) {
    check_operands("bmm", a, b, 3);
    MARROW_CHECK(a.size(0) == b.size(0), "bmm: batch sizes differ: shapes {} and {}", a.shape(),
                 b.shape());
    Tensor c = empty({a.size(0), a.size(1), b.size(2)}, a.dtype(), a.device());
    kernel<OpId::gemm>(a.device())(a, b, c, 1.0, 0.0, gemm_precision(a.dtype(), precision));
    return c;
}

Tensor mm(const Tensor& a, const Tensor& b, Precision precision) {
    check_operands("mm", a, b, 2);
    Tensor c = empty({a.size(0), b.size(1)}, a.dtype(), a.device());
    kernel<OpId::gemm>(a.device())(unsqueeze(a, 0), unsqueeze(b, 0), unsqueeze(c, 0), 1.0, 0.0,
                                   gemm_precision(a.dtype(), precision));
    return c;
}

Tensor addmm(const Tensor& bias, const Tensor& a, const Tensor& b, double beta, double alpha,
             Precision precision) {
    check_operands("addmm", a, b, 2);
    check_same_dtype("addmm", bias, a);
    Shape shape{a.size(0), b.size(1)};
    Tensor c = empty(shape, a.dtype(), a.device());
    copy_(c, bias);  // broadcasts; names both shapes on mismatch
    kernel<OpId::gemm>(a.device())(unsqueeze(a, 0), unsqueeze(b, 0), unsqueeze(c, 0), alpha,
                                   beta, gemm_precision(a.dtype(), precision));
    return c;
}

Tensor round_operand(const Tensor& x, GemmPrecision precision) {
    if (precision == GemmPrecision::full) return x;
    MARROW_CHECK(x.dtype() == DType::f32, "round_operand: {} rounding of a {} tensor (shape {})",
                 gemm_precision_name(precision), x.dtype(), x.shape());
    return to_dtype(to_dtype(x, precision == GemmPrecision::bf16 ? DType::bf16 : DType::f16),
                    DType::f32);
}

}  // namespace marrow::op
