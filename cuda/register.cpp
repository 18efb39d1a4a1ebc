// The CUDA column of the dispatch table: one explicit line per kernel, plus the device
// allocator. An op without a line throws "`<op>` has no CUDA implementation". Vendor
// providers are opt-in per run (MARROW_KERNELS=vendor: cuBLAS for GEMM, nvcc builds only).
#include <cstdlib>
#include <string_view>

#include "cuda/cuda_kernels.h"
#include "tensor/dispatch.h"

namespace marrow {

void register_cuda_kernels() {
    constexpr DeviceType dev = DeviceType::cuda;
    set_device_runtime(dev, cuda::device_runtime());
    register_kernel<TransferKernel>(OpId::transfer, dev, cuda::transfer);
    register_kernel<SynchronizeKernel>(OpId::synchronize, dev, cuda::synchronize);
    register_kernel<CopyKernel>(OpId::copy, dev, cuda::copy);
    register_kernel<FillKernel>(OpId::fill, dev, cuda::fill);
    register_kernel<UnaryKernel>(OpId::unary, dev, cuda::unary);
    register_kernel<UnaryBackwardKernel>(OpId::unary_backward, dev, cuda::unary_backward);
    register_kernel<BinaryKernel>(OpId::binary, dev, cuda::binary);
    register_kernel<WhereKernel>(OpId::where, dev, cuda::where);
    register_kernel<ReduceKernel>(OpId::reduce, dev, cuda::reduce);
#if defined(MARROW_CUDA_NVCC)
    const char* provider = std::getenv("MARROW_KERNELS");
    bool vendor = provider && std::string_view(provider) == "vendor";
    register_kernel<GemmKernel>(OpId::gemm, dev, vendor ? cuda::gemm_cublas : cuda::gemm);
#else
    register_kernel<GemmKernel>(OpId::gemm, dev, cuda::gemm);
#endif
    register_kernel<SoftmaxKernel>(OpId::softmax, dev, cuda::softmax);
    register_kernel<SoftmaxBackwardKernel>(OpId::softmax_backward, dev, cuda::softmax_backward);
    register_kernel<CumsumKernel>(OpId::cumsum, dev, cuda::cumsum);
    register_kernel<IndexSelectKernel>(OpId::index_select, dev, cuda::index_select);
    register_kernel<IndexAddKernel>(OpId::index_add, dev, cuda::index_add);
    register_kernel<GatherKernel>(OpId::gather, dev, cuda::gather);
    register_kernel<ScatterAddKernel>(OpId::scatter_add, dev, cuda::scatter_add);
    register_kernel<SortKernel>(OpId::sort, dev, cuda::sort);
    register_kernel<RandomKernel>(OpId::random, dev, cuda::random);
}

}  // namespace marrow
