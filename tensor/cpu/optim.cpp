// CPU fused optimizer update: one pass over a parameter, its gradient and its state, with the
// formula of tensor/math/optim_math.h. The composite update (a dozen elementwise ops, each a
// pass over memory) reads and writes each buffer several times; this reads each once and
// writes p and the state once. Split over the OpenMP threads above 32K elements like the
// elementwise loops; each element is independent, so results do not depend on the split.
//
// What keeps the loops vectorizable: which state slots exist is fixed per loop (a runtime
// "slot or scratch" choice per element is a reference select GCC does not vectorize); the
// flags are selects, if-converted under -fno-trapping-math (tensor/CMakeLists.txt); and the
// scalars are copied into the loop's closure, so stores through a double* cannot alias them
// (through a const reference GCC reloads them every element).
#include <omp.h>

#include <algorithm>

#include "tensor/cpu/cpu_kernels.h"
#include "tensor/cpu/isa.h"
#include "tensor/math/optim_math.h"

namespace marrow::cpu {

namespace {

// f(i) for i in [begin, end), compiled for AVX-512, AVX2 and baseline x86-64 and picked by
// cpu_isa() as the elementwise loops are (tensor/cpu/elementwise.h): Adam's square roots and
// divisions run 4 lanes wide on SSE2, 16 on AVX-512. ISO C++'s -ffp-contract=off keeps the
// three copies' results identical (no fused multiply-adds).
template <typename F>
[[gnu::always_inline]] inline void range_body(int64_t begin, int64_t end, const F& f) {
    for (int64_t i = begin; i < end; ++i) f(i);
}
template <typename F>
MARROW_TARGET_AVX512 void range_avx512(int64_t begin, int64_t end, const F& f) {
    range_body(begin, end, f);
}
template <typename F>
MARROW_TARGET_AVX2 void range_avx2(int64_t begin, int64_t end, const F& f) {
    range_body(begin, end, f);
}
template <typename F>
void range(int64_t begin, int64_t end, const F& f) {
    switch (cpu_isa()) {
        case Isa::avx512:
            return range_avx512(begin, end, f);
        case Isa::avx2:
            return range_avx2(begin, end, f);
        case Isa::base:
            break;
    }
    range_body(begin, end, f);
}

// fn(o, i): the element update; each loop has its state slots fixed at compile time. One
// contiguous chunk per thread.
template <typename Fn>
void optim_step_loop(const OptimStepParams& params, int64_t n, Fn fn) {
#pragma omp parallel if (n > 32768)
    {
        int threads = omp_get_num_threads(), t = omp_get_thread_num();
        int64_t chunk = (n + threads - 1) / threads;
        int64_t begin = std::min(n, t * chunk), end = std::min(n, begin + chunk);
        range(begin, end, [o = params, fn](int64_t i) { fn(o, i); });
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

void optim_step(const OptimStepParams& o, const std::vector<OptimTensors>& tensors) {
    for (const OptimTensors& t : tensors) {  // each tensor's loop is already parallel
        if (t.p.dtype() == DType::f64)
            optim_step_typed<double>(o, t.p, t.g, t.s0, t.s1, t.s2);
        else
            optim_step_typed<float>(o, t.p, t.g, t.s0, t.s1, t.s2);
    }
}

}  // namespace marrow::cpu
