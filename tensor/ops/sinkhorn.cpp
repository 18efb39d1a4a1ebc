// sinkhorn_knopp entry point: argument checks (messages name the op and the shape), a
// contiguous input for the kernel (tensor/kernels.h: SinkhornKernel).
#include "tensor/ops/sinkhorn.h"

#include <cmath>

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/kernels.h"
#include "tensor/ops/copy.h"
#include "tensor/ops/elementwise.h"
#include "tensor/ops/reduce.h"

namespace marrow::op {

Tensor sinkhorn_knopp(const Tensor& scores, double epsilon, int64_t iterations) {
    const char* op = "sinkhorn_knopp";
    MARROW_CHECK(scores.dim() == 2, "{}: expected 2-D scores (samples, prototypes), got shape {}",
                 op, scores.shape());
    MARROW_CHECK(scores.numel() > 0, "{}: expected non-empty scores, got shape {}", op,
                 scores.shape());
    MARROW_CHECK(scores.dtype() == DType::f32 || scores.dtype() == DType::f64,
                 "{}: expected float32 or float64 scores, got {} (shape {}); upstream runs it "
                 "on scores.float()",
                 op, scores.dtype(), scores.shape());
    MARROW_CHECK(std::isfinite(epsilon) && epsilon > 0,
                 "{}: epsilon must be a positive number, got {} (scores shape {})", op, epsilon,
                 scores.shape());
    MARROW_CHECK(iterations >= 1, "{}: iterations must be >= 1, got {} (scores shape {})", op,
                 iterations, scores.shape());
    Tensor x = contiguous(scores);
    // x - x is 0 for finite scores and NaN for inf / NaN, so the sum is NaN exactly when a
    // score is not finite (a plain sum could overflow on finite scores). One value comes back
    // to the host (a sync on CUDA), the price of a clear error instead of a NaN target.
    double probe = reduce(ReduceOp::sum, binary(BinaryOp::sub, x, x), {}, false).item();
    MARROW_CHECK(probe == 0, "{}: scores (shape {}) hold a non-finite value (inf or NaN)", op,
                 scores.shape());
    Tensor q = empty(x.shape(), x.dtype(), x.device());
    kernel<OpId::sinkhorn>(x.device(), op)(x, epsilon, iterations, q);
    return q;
}

}  // namespace marrow::op
