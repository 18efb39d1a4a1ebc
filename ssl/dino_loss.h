// DINO's and iBOT's losses as modules: the math is in the fused ops (cross_entropy_crops,
// soft_cross_entropy, sinkhorn_knopp in autograd/ops.h); these hold the state between steps
// (the centers, saved in checkpoints as upstream's "center" buffers) and make the teacher's
// targets.
//
//   DinoLoss loss(K, {.centering = Centering::center});
//   Tensor l = loss.forward(student_out /*(V B, K)*/, teacher_out /*(2 B, K)*/, 2, T_t, 0.1);
//   // the center moved: c <- 0.9 c + 0.1 mean(teacher_out) (after the loss, as upstream)
#pragma once
#include <cstdint>
#include <optional>

#include "nn/module.h"
#include "ssl/config.h"

namespace marrow::ssl {

struct TargetOptions {
    Centering centering = Centering::center;
    double center_momentum = 0.9;
    int64_t sinkhorn_iterations = 3;
};

// The teacher's targets from its logits t (rows, K), no gradient:
//   center:          softmax((t - c) / T), then c <- m c + (1 - m) mean_rows(t)   (DINO)
//   sinkhorn_knopp:  Sinkhorn-Knopp of t with epsilon T over all rows           (DINOv2 6.4)
//   none:            softmax(t / T)                          (the collapse test's broken one)
// `center` is the (1, K) buffer updated in place.
Tensor teacher_targets(const Tensor& teacher_logits, Tensor& center, double teacher_temp,
                       const TargetOptions& options);

// DINOLoss of facebookresearch/dino (spec 5.2), with DINOv2's centering choices.
class DinoLoss : public nn::Module {
public:
    DinoLoss(int64_t out_dim, TargetOptions options);
    // student_out (V B, K) in crop order, teacher_out (T B, K) of the T global crops
    // (T = 2): the mean over every (teacher j, student v != j) pair of
    // mean_b[-sum_k q_j log_softmax(s_v / student_temp)]. The targets used are kept in
    // last_targets() (T B, K) for the monitors.
    Tensor forward(const Tensor& student_out, const Tensor& teacher_out, int64_t teacher_crops,
                   double teacher_temp, double student_temp);
    const std::optional<Tensor>& last_targets() const { return last_targets_; }
    Tensor center;  // (1, K)

private:
    TargetOptions options_;
    std::optional<Tensor> last_targets_;
};

// iBOTPatchLoss of dinov2 (spec 6.3) on the masked patches only:
//   L = -(1/n_images) sum_i (1/max(|m_i|, 1)) sum_{p in m_i} sum_k q_pk lsm(s_p / tau)_k
// student_patch, teacher_patch: (M, K) logits of the M masked patches (image order);
// weights (M) = 1 / (max(|m_i|, 1) n_images) per patch of image i (ssl/masking.h gives
// them). The patch center is (1, 1, K) as upstream's and moves by the mean over the M rows.
class IbotPatchLoss : public nn::Module {
public:
    IbotPatchLoss(int64_t out_dim, TargetOptions options);
    Tensor forward(const Tensor& student_patch, const Tensor& teacher_patch,
                   const Tensor& weights, double teacher_temp, double student_temp);
    Tensor center;  // (1, 1, K)

private:
    TargetOptions options_;
};

}  // namespace marrow::ssl
