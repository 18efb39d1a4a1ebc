// Checked CUDA runtime calls (nvcc build): MARROW_CUDA_CHECK(cudaMemcpy(...)) throws a
// marrow::Error naming the call, the file and line, the op being run (the last kernel this
// thread dispatched: CUDA reports a faulting kernel at a later call) and CUDA's error.
#pragma once
#include <cuda_runtime.h>

#include "tensor/dispatch.h"
#include "tensor/error.h"

#define MARROW_CUDA_CHECK(call)                                                                \
    do {                                                                                       \
        cudaError_t marrow_err = (call);                                                       \
        if (marrow_err != cudaSuccess)                                                         \
            ::marrow::fail("CUDA call {} failed at {}:{} (op `{}`): {} ({})", #call, __FILE__, \
                           __LINE__, ::marrow::current_op(), cudaGetErrorString(marrow_err),   \
                           cudaGetErrorName(marrow_err));                                      \
    } while (0)
