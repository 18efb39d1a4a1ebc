// 16-byte vector loads and stores for the memory-bound kernels. On the GPU a float4 access
// is one 128-bit transaction; in the simulator it is a memcpy (no aliasing games on the host).
#pragma once
#include <cstdint>
#include <cstring>

#include "cuda/launch.h"
#include "tensor/math/host_device.h"

namespace marrow::cuda {

MARROW_HOST_DEVICE inline float4 load4(const float* p) {
#if defined(MARROW_CUDA_SIM)
    float4 v;
    std::memcpy(&v, p, sizeof v);
    return v;
#else
    return *reinterpret_cast<const float4*>(p);
#endif
}

MARROW_HOST_DEVICE inline void store4(float* p, float4 v) {
#if defined(MARROW_CUDA_SIM)
    std::memcpy(p, &v, sizeof v);
#else
    *reinterpret_cast<float4*>(p) = v;
#endif
}

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace marrow::cuda
