#include "autograd/gradcheck.h"

#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "tensor/ops/copy.h"

namespace marrow::autograd {
namespace {

// Element `flat` (row-major over the view's shape) of a strided float64 view.
double& element(const Tensor& t, int64_t flat) {
    int64_t offset = 0;
    for (int64_t d = t.dim() - 1; d >= 0; --d) {
        offset += (flat % t.size(d)) * t.stride(d);
        flat /= t.size(d);
    }
    return static_cast<double*>(t.raw_data())[offset];
}

double weighted_sum(const Tensor& y, const Tensor& w) {
    Tensor yc = op::contiguous(y);
    const double* py = yc.data<double>();
    const double* pw = w.data<double>();
    double s = 0;
    for (int64_t i = 0; i < yc.numel(); ++i) s += py[i] * pw[i];
    return s;
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, GradcheckOptions options) {
    for (const Tensor& t : inputs)
        MARROW_CHECK(t.dtype() == DType::f64 || !t.requires_grad(),
                     "gradcheck: inputs requiring grad must be float64, got {}", t.dtype());
    Generator gen(1234);
    Tensor y = f(inputs);
    MARROW_CHECK(y.dtype() == DType::f64, "gradcheck: output must be float64, got {}", y.dtype());
    Tensor w = rand(y.shape(), DType::f64, Device::cpu(), gen) + 0.5;
    w = op::contiguous(detach(w));

    for (const Tensor& t : inputs)
        if (t.requires_grad()) t.zero_grad();
    if (y.requires_grad()) y.backward(w);

    GradcheckResult result;
    double worst_excess = -std::numeric_limits<double>::infinity();
    NoGradGuard no_grad;
    for (size_t k = 0; k < inputs.size(); ++k) {
        const Tensor& x = inputs[k];
        if (!x.requires_grad()) continue;
        Tensor analytic = x.has_grad() ? op::contiguous(x.grad()) : zeros(x.shape(), DType::f64);
        for (int64_t i = 0; i < x.numel(); ++i) {
            double& v = element(x, i);
            double saved = v;
            v = saved + options.eps;
            double plus = weighted_sum(f(inputs), w);
            v = saved - options.eps;
            double minus = weighted_sum(f(inputs), w);
            v = saved;
            double numeric = (plus - minus) / (2 * options.eps);
            double a = analytic.data<double>()[i];
            double err = std::abs(a - numeric);
            double excess = err - (options.atol + options.rtol * std::abs(numeric));
            result.max_abs_error = std::max(result.max_abs_error, err);
            if (!(excess <= 0)) result.ok = false;  // NaN counts as a failure
            if (!(excess <= worst_excess)) {  // the message describes the worst element
                worst_excess = excess;
                result.message = fmt::format("input {} element {}: analytic {:.10g} vs numeric "
                                             "{:.10g} (abs error {:.3g})",
                                             k, i, a, numeric, err);
            }
        }
    }
    return result;
}

}  // namespace marrow::autograd
