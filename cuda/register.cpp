// The CUDA column of the dispatch table: every kernel of the list (Note [The kernel list] in
// tensor/kernels.h), plus the device allocator. Vendor providers are opt-in per run
// (MARROW_KERNELS=vendor: cuBLAS for GEMM, nvcc builds only).
#include <cstdlib>
#include <string_view>

#include "cuda/cuda_kernels.h"
#include "tensor/dispatch.h"

namespace marrow {

void register_cuda_kernels() {
    constexpr DeviceType dev = DeviceType::cuda;
    set_device_runtime(dev, cuda::device_runtime());
#define MARROW_REGISTER_CUDA(name, Signature) register_kernel<OpId::name>(dev, cuda::name);
    MARROW_FORALL_KERNELS(MARROW_REGISTER_CUDA)
#undef MARROW_REGISTER_CUDA
#if defined(MARROW_CUDA_NVCC)
    const char* provider = std::getenv("MARROW_KERNELS");
    if (provider && std::string_view(provider) == "vendor")
        register_kernel<OpId::gemm>(dev, cuda::gemm_cublas);
#endif
}

}  // namespace marrow
