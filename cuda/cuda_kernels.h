// Host launchers of the CUDA kernels, generated from the kernel list (Note [The kernel list]
// in tensor/kernels.h, which also gives each signature); registered in cuda/register.cpp.
#pragma once
#include "tensor/kernels.h"
#include "tensor/storage.h"

namespace marrow::cuda {

MARROW_DECLARE_KERNELS(COMPUTE)
MARROW_DECLARE_KERNELS(DEVICE)
// The vendor provider (nvcc builds): MARROW_KERNELS=vendor selects it.
GemmKernel gemm_cublas;

// Device query and the caching allocator over device memory (host memory in the simulator).
// With no device, device_name(0) says why (no driver, no GPU).
DeviceRuntime device_runtime();

}  // namespace marrow::cuda
