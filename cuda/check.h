// Checked CUDA runtime calls (nvcc build): MARROW_CUDA_CHECK(cudaMemcpy(...)) throws a
// marrow::Error naming the call, the file and line, and CUDA's error string.
#pragma once
#include <cuda_runtime.h>

#include "tensor/error.h"

#define MARROW_CUDA_CHECK(call)                                                                \
    do {                                                                                       \
        cudaError_t marrow_err = (call);                                                       \
        if (marrow_err != cudaSuccess)                                                         \
            ::marrow::fail("CUDA call {} failed at {}:{}: {} ({})", #call, __FILE__, __LINE__, \
                           cudaGetErrorString(marrow_err), cudaGetErrorName(marrow_err));      \
    } while (0)
