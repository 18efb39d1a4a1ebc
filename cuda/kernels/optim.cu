// CUDA fused optimizer update: one launch per parameter, one thread per element (grid-stride),
// with the formula of tensor/math/optim_math.h that the CPU kernel runs too. The step's
// scalars travel in the launch arguments (OptimStepParams by value), so no device memory
// holds them and a schedule that changes lr between steps costs nothing. A multi-tensor
// version (one launch for all parameters, a table of pointers in device memory, as torch's
// _foreach kernels) is the next step when launch overhead shows up in a profile: a ResNet-18
// has 62 parameter tensors, so 62 launches of ~3-5 us each per step.
#include "cuda/cuda_kernels.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"
#include "tensor/math/optim_math.h"

namespace marrow::cuda {
namespace {

// Unused slots are null; their element is a register.
template <typename T>
__global__ void optim_step_kernel(OptimStepParams o, T* p, const T* g, T* s0, T* s1, T* s2,
                                  int64_t n) {
    MARROW_GRID_STRIDE(i, n) {
        T r0 = T(0), r1 = T(0), r2 = T(0);
        T& a = s0 ? s0[i] : r0;
        T& b = s1 ? s1[i] : r1;
        T& c = s2 ? s2[i] : r2;
        math::optim_step_element(o, p[i], g[i], a, b, c);
    }
}

template <typename T>
void launch_optim_step(const OptimStepParams& o, const Tensor& p, const Tensor& g, const Tensor& s0,
                       const Tensor& s1, const Tensor& s2, int64_t n) {
    bool sgd = o.kind == OptimStep::sgd;
    bool use0 = sgd ? o.momentum != 0 : true, use1 = !sgd, use2 = !sgd && o.amsgrad;
    auto slot = [](const Tensor& s, bool used) {
        return used ? static_cast<T*>(s.raw_data()) : static_cast<T*>(nullptr);
    };
    auto* k = &optim_step_kernel<T>;
    MARROW_LAUNCH(k, blocks_for(n), kThreads, 0, o, static_cast<T*>(p.raw_data()),
                  static_cast<const T*>(g.raw_data()), slot(s0, use0), slot(s1, use1),
                  slot(s2, use2), n);
}

}  // namespace

void optim_step(const OptimStepParams& o, const Tensor& p, const Tensor& g, const Tensor& s0,
                const Tensor& s1, const Tensor& s2) {
    int64_t n = p.numel();
    if (n == 0) return;
    if (p.dtype() == DType::f64)
        launch_optim_step<double>(o, p, g, s0, s1, s2, n);
    else
        launch_optim_step<float>(o, p, g, s0, s1, s2, n);
}

}  // namespace marrow::cuda
