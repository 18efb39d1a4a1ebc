// sinkhorn_knopp entry point: argument checks (messages name the op and the shape), a
// contiguous input for the kernel (tensor/kernels.h: SinkhornKernel).
#include "tensor/ops/sinkhorn.h"

#include <cmath>

#include "tensor/dispatch.h"
#include "tensor/factory.h"
#include "tensor/kernels.h"
#include "tensor/ops/copy.h"
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
    // The sum is finite exactly when every score is (short of scores ~1e34, whose exp(s / eps)
    // no formulation survives). One value comes back to the host (a sync on CUDA), the price
    // of a clear error instead of a NaN target.
    double probe = reduce(ReduceOp::sum, x, {}, false).item();
    MARROW_CHECK(std::isfinite(probe),
                 "{}: scores (shape {}) hold a non-finite value (inf or NaN) or sum past the "
                 "float range",
                 op, scores.shape());
    Tensor q = empty(x.shape(), x.dtype(), x.device());
    kernel<OpId::sinkhorn>(x.device(), op)(x, epsilon, iterations, q);
    return q;
}

}  // namespace marrow::op
