// CPU fused optimizer update: one pass over a parameter, its gradient and its state, with the
// formula of tensor/math/optim_math.h. The composite update (a dozen elementwise ops, each a
// pass over memory) reads and writes each buffer several times; this reads each once and
// writes p and the state once. Split over the OpenMP threads above 32K elements like the
// elementwise loops; each element is independent, so results do not depend on the split.
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/math/optim_math.h"

namespace marrow::cpu {

namespace {

template <typename T>
void optim_step_loop(const OptimStepParams& o, T* p, const T* g, T* s0, T* s1, T* s2, int64_t n) {
    // Unused slots point at a scratch element (never p: the formula writes p).
    T scratch0 = 0, scratch1 = 0, scratch2 = 0;
    bool has0 = s0 != nullptr, has1 = s1 != nullptr, has2 = s2 != nullptr;
#pragma omp parallel for if (n > 32768) firstprivate(scratch0, scratch1, scratch2)
    for (int64_t i = 0; i < n; ++i)
        math::optim_step_element(o, p[i], g[i], has0 ? s0[i] : scratch0, has1 ? s1[i] : scratch1,
                                 has2 ? s2[i] : scratch2);
}

}  // namespace

void optim_step(const OptimStepParams& o, const Tensor& p, const Tensor& g, const Tensor& s0,
                const Tensor& s1, const Tensor& s2) {
    bool sgd = o.kind == OptimStep::sgd;
    bool use0 = sgd ? o.momentum != 0 : true, use1 = !sgd, use2 = !sgd && o.amsgrad;
    auto run = [&]<typename T>() {
        auto slot = [&](const Tensor& s, bool used) { return used ? s.data<T>() : nullptr; };
        optim_step_loop<T>(o, p.data<T>(), g.data<T>(), slot(s0, use0), slot(s1, use1),
                           slot(s2, use2), p.numel());
    };
    if (p.dtype() == DType::f64)
        run.template operator()<double>();
    else
        run.template operator()<float>();
}

}  // namespace marrow::cpu
