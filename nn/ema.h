// Exponential moving average of parameters: DINO's teacher update (ssl_mil_spec.md 0.8),
//   teacher = m teacher + (1 - m) student,
// applied to parameters only (not batch-norm buffers), after the optimizer step, with m from a
// schedule (WarmupCosine(0.996, 1.0, total) in DINO). In place, under no-grad.
//
//   nn::ModelEMA ema(teacher.parameters(), student.parameters());
//   ... opt.step(); ema.update(momentum.at(it));
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace marrow::nn {

// One EMA step over matching lists (same length; pairwise same shape, dtype and device).
// DINO's order of operations: t.mul_(m).add_((1 - m) * s).
void ema_update_(const std::vector<Tensor>& teacher, const std::vector<Tensor>& student,
                 double momentum);

class ModelEMA {
public:
    // Checks the pairing once; the teacher's tensors are updated in place on each update().
    ModelEMA(std::vector<Tensor> teacher, std::vector<Tensor> student);
    void update(double momentum);
    const std::vector<Tensor>& teacher() const { return teacher_; }

private:
    std::vector<Tensor> teacher_, student_;
};

}  // namespace marrow::nn
