#include "ssl/dino_loss.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tensor/error.h"
#include "tensor/factory.h"

namespace marrow::ssl {

Tensor teacher_targets(const Tensor& teacher_logits, Tensor& center, double teacher_temp,
                       const TargetOptions& o) {
    autograd::NoGradGuard no_grad;
    // Upstream takes the teacher's softmax in float32 (teacher_output.float()).
    Tensor t = teacher_logits.dtype() == DType::f64 ? teacher_logits
                                                    : to(teacher_logits, DType::f32);
    const int64_t k = t.size(-1);
    Tensor rows = reshape(t, {-1, k});
    if (o.centering == Centering::none) return softmax(rows / teacher_temp, 1);
    if (o.centering == Centering::sinkhorn_knopp)
        return sinkhorn_knopp(rows, teacher_temp, o.sinkhorn_iterations);
    Tensor q = softmax((rows - reshape(center, {1, k})) / teacher_temp, 1);
    // c <- m c + (1 - m) mean(t): after the targets are made, from the raw logits.
    Tensor batch_center = reshape(mean(rows, {0}, true), center.shape());
    mul_(center, o.center_momentum);
    add_(center, to(batch_center, center.dtype()), 1 - o.center_momentum);
    return q;
}

DinoLoss::DinoLoss(int64_t out_dim, TargetOptions options)
    : nn::Module("DINOLoss"), center(register_buffer("center", zeros({1, out_dim}))),
      options_(options) {}

Tensor DinoLoss::forward(const Tensor& student_out, const Tensor& teacher_out,
                         int64_t teacher_crops, double teacher_temp, double student_temp) {
    MARROW_CHECK(student_out.dim() == 2 && teacher_out.dim() == 2 &&
                     student_out.size(1) == teacher_out.size(1) &&
                     teacher_out.size(0) % teacher_crops == 0,
                 "DINOLoss: student output {} and teacher output {} must be (V B, K) and "
                 "({} B, K)",
                 student_out.shape(), teacher_out.shape(), teacher_crops);
    const int64_t k = student_out.size(1), b = teacher_out.size(0) / teacher_crops;
    MARROW_CHECK(student_out.size(0) % b == 0,
                 "DINOLoss: student output {} is not a whole number of crops of {} rows",
                 student_out.shape(), b);
    last_targets_ = teacher_targets(teacher_out, center, teacher_temp, options_);
    return cross_entropy_crops(reshape(*last_targets_, {teacher_crops, b, k}),
                               reshape(student_out, {-1, b, k}), student_temp);
}

IbotPatchLoss::IbotPatchLoss(int64_t out_dim, TargetOptions options)
    : nn::Module("iBOTPatchLoss"), center(register_buffer("center", zeros({1, 1, out_dim}))),
      options_(options) {}

Tensor IbotPatchLoss::forward(const Tensor& student_patch, const Tensor& teacher_patch,
                              const Tensor& weights, double teacher_temp, double student_temp) {
    MARROW_CHECK(student_patch.dim() == 2 && student_patch.shape() == teacher_patch.shape() &&
                     weights.dim() == 1 && weights.size(0) == student_patch.size(0),
                 "iBOTPatchLoss: student {}, teacher {} and weights {} must be (M, K), (M, K) "
                 "and (M)",
                 student_patch.shape(), teacher_patch.shape(), weights.shape());
    Tensor q = teacher_targets(teacher_patch, center, teacher_temp, options_);
    return soft_cross_entropy(q, student_patch, weights, student_temp);
}

}  // namespace marrow::ssl
