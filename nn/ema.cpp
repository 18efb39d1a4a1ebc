// EMA teacher update; see ema.h. Reference: facebookresearch/dino main_dino.py
// (param_k.data.mul_(m).add_((1 - m) * param_q.detach().data)).
#include "nn/ema.h"

#include "autograd/grad_mode.h"
#include "autograd/ops.h"

namespace marrow::nn {

namespace {

void check_pairs(const std::vector<Tensor>& teacher, const std::vector<Tensor>& student,
                 const char* who) {
    MARROW_CHECK(teacher.size() == student.size(),
                 "{}: the teacher has {} tensors but the student {}", who, teacher.size(),
                 student.size());
    for (size_t i = 0; i < teacher.size(); ++i) {
        const Tensor &t = teacher[i], &s = student[i];
        MARROW_CHECK(t.shape() == s.shape() && t.dtype() == s.dtype() && t.device() == s.device(),
                     "{}: tensor {}: teacher {} ({}, {}) does not match student {} ({}, {})", who,
                     i, t.shape(), t.dtype(), t.device(), s.shape(), s.dtype(), s.device());
        MARROW_CHECK(!t.is_same(s), "{}: tensor {} is the same tensor in teacher and student", who,
                     i);
    }
}

}  // namespace

void ema_update_(const std::vector<Tensor>& teacher, const std::vector<Tensor>& student,
                 double momentum) {
    check_pairs(teacher, student, "ema_update_");
    MARROW_CHECK(momentum >= 0 && momentum <= 1, "ema_update_: momentum {} is outside [0, 1]",
                 momentum);
    autograd::NoGradGuard no_grad;
    for (size_t i = 0; i < teacher.size(); ++i) {
        mul_(teacher[i], momentum);
        add_(teacher[i], (1 - momentum) * student[i]);
    }
}

ModelEMA::ModelEMA(std::vector<Tensor> teacher, std::vector<Tensor> student)
    : teacher_(std::move(teacher)), student_(std::move(student)) {
    check_pairs(teacher_, student_, "ModelEMA");
}

void ModelEMA::update(double momentum) { ema_update_(teacher_, student_, momentum); }

}  // namespace marrow::nn
