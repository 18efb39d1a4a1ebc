// CUDA fused optimizer update, with the formula of tensor/math/optim_math.h that the CPU
// kernel runs too. The step's scalars travel in the launch arguments (OptimStepParams by
// value), so no device memory holds them and a schedule that changes lr between steps costs
// nothing.
//
// Note [Multi-tensor launch]
// One launch updates up to kMaxTensors parameters: their pointers, sizes and first blocks
// travel in the launch arguments too (a ~0.9 KB struct, under CUDA's 4 KB parameter limit:
// no device-side table, no copy before the launch). Block b finds its tensor k by a scan of
// first_block (at most 16 entries) and updates chunk b - first_block[k] of it, kChunk
// elements. A ResNet-18 step's 62 parameter tensors take 4 launches instead of 62 (of ~3-5 us
// each); torch's _foreach kernels (multi_tensor_apply) do the same.
#include "cuda/cuda_kernels.h"
#include "cuda/kernels/grid.h"
#include "cuda/launch.h"
#include "tensor/math/optim_math.h"

namespace marrow::cuda {
namespace {

constexpr int kMaxTensors = 16;
constexpr int64_t kChunk = int64_t(kThreads) * 16;  // elements per block

template <typename T>
struct TensorTable {
    T* p[kMaxTensors];
    const T* g[kMaxTensors];
    T* s0[kMaxTensors];  // null: the slot is unused (its element is a register)
    T* s1[kMaxTensors];
    T* s2[kMaxTensors];
    int64_t n[kMaxTensors];
    int first_block[kMaxTensors + 1];  // tensor k owns blocks [first_block[k], first_block[k+1])
    int count;
};

template <typename T>
__global__ void optim_step_kernel(OptimStepParams o, TensorTable<T> t) {
    int b = int(blockIdx.x), k = 0;
    while (k + 1 < t.count && b >= t.first_block[k + 1]) ++k;
    int64_t begin = int64_t(b - t.first_block[k]) * kChunk;
    int64_t end = begin + kChunk < t.n[k] ? begin + kChunk : t.n[k];
    T* p = t.p[k];
    const T* g = t.g[k];
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
        T r0 = T(0), r1 = T(0), r2 = T(0);
        T& a = t.s0[k] ? t.s0[k][i] : r0;
        T& c = t.s1[k] ? t.s1[k][i] : r1;
        T& d = t.s2[k] ? t.s2[k][i] : r2;
        math::optim_step_element(o, p[i], g[i], a, c, d);
    }
}

template <typename T>
void launch_optim_step(const OptimStepParams& o, const std::vector<OptimTensors>& tensors) {
    bool sgd = o.kind == OptimStep::sgd;
    bool use0 = sgd ? o.momentum != 0 : true, use1 = !sgd, use2 = !sgd && o.amsgrad;
    auto slot = [](const Tensor& s, bool used) {
        return used ? static_cast<T*>(s.raw_data()) : static_cast<T*>(nullptr);
    };
    TensorTable<T> table{};
    auto launch = [&] {
        if (table.count == 0) return;
        auto* k = &optim_step_kernel<T>;
        MARROW_LAUNCH(k, table.first_block[table.count], kThreads, 0, o, table);
        table = TensorTable<T>{};
    };
    for (const OptimTensors& t : tensors) {
        int64_t n = t.p.numel();
        if (n == 0) continue;
        int64_t blocks = (n + kChunk - 1) / kChunk;
        if (table.count == kMaxTensors || table.first_block[table.count] + blocks > (1 << 30))
            launch();
        int k = table.count++;
        table.p[k] = static_cast<T*>(t.p.raw_data());
        table.g[k] = static_cast<const T*>(t.g.raw_data());
        table.s0[k] = slot(t.s0, use0);
        table.s1[k] = slot(t.s1, use1);
        table.s2[k] = slot(t.s2, use2);
        table.n[k] = n;
        table.first_block[k + 1] = table.first_block[k] + int(blocks);
    }
    launch();
}

}  // namespace

void optim_step(const OptimStepParams& o, const std::vector<OptimTensors>& tensors) {
    if (tensors.empty()) return;
    if (tensors.front().p.dtype() == DType::f64)
        launch_optim_step<double>(o, tensors);
    else
        launch_optim_step<float>(o, tensors);
}

}  // namespace marrow::cuda
