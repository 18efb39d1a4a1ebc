// The soft cross-entropies of the SSL losses with their backward (cross_entropy_crops for
// DINO / SwAV / DINOv2, soft_cross_entropy for iBOT), and sinkhorn_knopp (no gradient). The
// composed forms (log_softmax, mul, sum, mean: tests/ops/cases/crop_cross_entropy.cpp) are the
// reference and gradient oracle of the fused kernels; the PyTorch goldens transcribe
// DINOLoss.forward (facebookresearch/dino main_dino.py) and iBOTPatchLoss.forward_masked
// (facebookresearch/dinov2 dinov2/loss/ibot_patch_loss.py).
#include "tensor/ops/crop_cross_entropy.h"

#include "autograd/node.h"
#include "autograd/ops.h"
#include "tensor/ops/sinkhorn.h"

namespace marrow {

using autograd::Grads;
using autograd::record;
using autograd::SavedTensor;

namespace {

void check_constant(const char* op, const char* what, const Tensor& t, const Tensor& logits) {
    MARROW_CHECK(!t.requires_grad(),
                 "{}: the {} (shape {}) require grad, but they are constants of the loss "
                 "(upstream computes them under no_grad): detach them (logits shape {})",
                 op, what, t.shape(), logits.shape());
}

}  // namespace

// Backward. For one row with logits s (K), z = s / tau, target Q (the summed targets of its
// pairs), mass = sum_k Q_k and
//   l(s) = -sum_k Q_k log_softmax(z)_k = mass lse(z) - sum_k Q_k z_k,
// dlse(z)/dz_k = softmax(z)_k, so dl/dz_k = mass softmax(z)_k - Q_k and, by the chain rule
// through z = s / tau, dl/ds_k = (mass softmax(z)_k - Q_k) / tau.
// cross_entropy_crops: L = (1/(n_terms B)) sum_{v, b} sum_{j < T, j != v} l_jvb, and since l is
// linear in the target, the terms of row (v, b) are one l with Q = sum_{j<T, j != v} q_jb, so
//   dL/ds_vb = (mass_vb softmax(s_vb / tau) - sum_{j<T, j != v} q_jb) / (tau n_terms B),
// mass_vb = sum_k Q_vbk = c_v = #{j < T : j != v} when every target row sums to 1 (the kernels
// use the actual sum, so any non-negative targets are exact). soft_cross_entropy: L = sum_r w_r
// l_r, dL/ds_r = w_r (mass_r softmax(s_r / tau) - q_r) / tau. Both times the upstream g. The
// targets and weights are constants (an error if they require grad). Saved: targets, logits
// and the per-row lse (the kernels recompute softmax from it; PyTorch's composed form saves
// log_softmax per pair). Matches the gradients of DINOLoss / iBOTPatchLoss under autograd.
Tensor cross_entropy_crops(const Tensor& targets, const Tensor& student_logits,
                           double student_temperature) {
    const char* op = "cross_entropy_crops";
    check_constant(op, "targets", targets, student_logits);
    op::SoftCrossEntropyForward f =
        op::cross_entropy_crops(targets, student_logits, student_temperature);
    SavedTensor st(targets, op), ss(student_logits, op), slse(f.lse, op);
    return record(op, {student_logits}, f.loss, [=](const Grads& g) {
        return Grads{op::cross_entropy_crops_backward(*g[0], st.get(), ss.get(), slse.get(),
                                                      student_temperature)};
    });
}

Tensor soft_cross_entropy(const Tensor& targets, const Tensor& logits, const Tensor& row_weights,
                          double temperature) {
    const char* op = "soft_cross_entropy";
    check_constant(op, "targets", targets, logits);
    check_constant(op, "row weights", row_weights, logits);
    op::SoftCrossEntropyForward f =
        op::soft_cross_entropy(targets, logits, row_weights, temperature);
    SavedTensor st(targets, op), ss(logits, op), sw(row_weights, op), slse(f.lse, op);
    return record(op, {logits}, f.loss, [=](const Grads& g) {
        return Grads{op::soft_cross_entropy_backward(*g[0], st.get(), ss.get(), sw.get(),
                                                     slse.get(), temperature)};
    });
}

Tensor sinkhorn_knopp(const Tensor& scores, double epsilon, int64_t iterations) {
    return op::sinkhorn_knopp(scores, epsilon, iterations);  // a constant target: no node
}

}  // namespace marrow
