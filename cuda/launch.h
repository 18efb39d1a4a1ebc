// The one way to launch a kernel (call sites never write <<<>>>), so the same .cu source
// builds for nvcc and for the SIMT simulator (MARROW_CUDA_SIM):
//   MARROW_LAUNCH(kernel, grid, block, shared_bytes, args...);
// Also defines MARROW_DYNAMIC_SHARED(T, name) for nvcc (the simulator's is in sim.h).
#pragma once

#if defined(MARROW_CUDA_SIM)
#include "cuda/sim/scheduler.h"

#define MARROW_LAUNCH(kernel, grid, block, shared_bytes, ...)             \
    ::marrow::sim::launch(#kernel, dim3(grid), dim3(block), shared_bytes, \
                          [&] { kernel(__VA_ARGS__); })
#else
#include <cuda_runtime.h>

#include "cuda/stream.h"
#include "tensor/dispatch.h"
#include "tensor/error.h"

#define MARROW_DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#define MARROW_LAUNCH(kernel, grid, block, shared_bytes, ...)                           \
    do {                                                                                \
        kernel<<<grid, block, shared_bytes,                                             \
                 static_cast<cudaStream_t>(::marrow::cuda::current_stream_handle())>>>( \
            __VA_ARGS__);                                                               \
        cudaError_t marrow_launch_err = cudaGetLastError();                             \
        if (marrow_launch_err != cudaSuccess)                                           \
            ::marrow::fail("launch of `{}` (op `{}`) failed at {}:{}: {}", #kernel,     \
                           ::marrow::current_op(), __FILE__, __LINE__,                  \
                           cudaGetErrorString(marrow_launch_err));                      \
    } while (0)
#endif
