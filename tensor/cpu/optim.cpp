// CPU fused optimizer update: one pass over a parameter, its gradient and its state, with the
// formula of tensor/math/optim_math.h. The composite update (a dozen elementwise ops, each a
// pass over memory) reads and writes each buffer several times; this reads each once and
// writes p and the state once. Split over the OpenMP threads above 32K elements like the
// elementwise loops; each element is independent, so results do not depend on the split.
//
// What keeps the loops vectorizable: which state slots exist is fixed per loop (a runtime
// "slot or scratch" choice per element is a reference select GCC does not vectorize); the
// flags are selects, if-converted under -fno-trapping-math (tensor/CMakeLists.txt); and the
// scalars are copied into a local struct, so stores through a double* cannot alias them
// (through a const reference GCC reloads them every element).
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/math/optim_math.h"

namespace marrow::cpu {

namespace {

// Fn(o, i): the element update; each loop has its state slots fixed at compile time.
template <typename Fn>
void optim_step_loop(const OptimStepParams& params, int64_t n, Fn fn) {
#pragma omp parallel if (n > 32768)
    {
        const OptimStepParams o = params;
#pragma omp for
        for (int64_t i = 0; i < n; ++i) fn(o, i);
    }
}

template <typename T>
void optim_step_typed(const OptimStepParams& o, const Tensor& p, const Tensor& g, const Tensor& s0,
                      const Tensor& s1, const Tensor& s2) {
    T* __restrict pp = p.data<T>();
    const T* __restrict gp = g.data<T>();
    int64_t n = p.numel();
    if (o.kind == OptimStep::sgd && o.momentum == 0) {
        optim_step_loop(o, n, [=](const OptimStepParams& q, int64_t i) {
            T unused = T(0);
            math::sgd_step_element<false>(q, pp[i], gp[i], unused);
        });
    } else if (o.kind == OptimStep::sgd) {
        T* __restrict b = s0.data<T>();
        optim_step_loop(o, n, [=](const OptimStepParams& q, int64_t i) {
            math::sgd_step_element<true>(q, pp[i], gp[i], b[i]);
        });
    } else {
        T* __restrict m = s0.data<T>();
        T* __restrict v = s1.data<T>();
        if (o.amsgrad) {
            T* __restrict vmax = s2.data<T>();
            optim_step_loop(o, n, [=](const OptimStepParams& q, int64_t i) {
                math::adam_step_element<true>(q, pp[i], gp[i], m[i], v[i], vmax[i]);
            });
        } else {
            optim_step_loop(o, n, [=](const OptimStepParams& q, int64_t i) {
                T unused = T(0);
                math::adam_step_element<false>(q, pp[i], gp[i], m[i], v[i], unused);
            });
        }
    }
}

}  // namespace

void optim_step(const OptimStepParams& o, const Tensor& p, const Tensor& g, const Tensor& s0,
                const Tensor& s1, const Tensor& s2) {
    if (p.dtype() == DType::f64)
        optim_step_typed<double>(o, p, g, s0, s1, s2);
    else
        optim_step_typed<float>(o, p, g, s0, s1, s2);
}

}  // namespace marrow::cpu
