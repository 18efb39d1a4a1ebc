// gradcheck: compares the autograd gradient of f at float64 inputs with central finite
// differences, element by element (torch.autograd.gradcheck). The check passes when
// |analytic - numeric| <= atol + rtol * |numeric| for every element; the result reports the
// worst element so a failure says where.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace marrow::autograd {

struct GradcheckOptions {
    double eps = 1e-6;
    double atol = 1e-5;
    double rtol = 1e-3;
};

struct GradcheckResult {
    bool ok = true;
    double max_abs_error = 0;
    std::string message;  // the worst mismatch: input, flat index, analytic vs numeric
};

// f maps the inputs to one output tensor; the scalar checked is sum(output * w) for a fixed
// random w, so every output element is exercised. Inputs must be float64; those with
// requires_grad are checked (they may be non-contiguous views: elements are perturbed
// through the view).
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, GradcheckOptions options = {});

}  // namespace marrow::autograd
