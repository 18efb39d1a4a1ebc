// Helpers for formulas shared by CPU kernels and CUDA kernels (nvcc or the SIMT simulator):
// MARROW_HOST_DEVICE marks them callable on both sides, MARROW_MATH(fn) picks std::fn on the
// host and CUDA's global ::fn overloads in device code.
#pragma once
#include <cmath>

#ifndef MARROW_HOST_DEVICE
#if defined(__CUDACC__)
#define MARROW_HOST_DEVICE __host__ __device__
#else
#define MARROW_HOST_DEVICE
#endif
#endif

#if defined(__CUDA_ARCH__)
#define MARROW_MATH(fn) ::fn
#else
#define MARROW_MATH(fn) std::fn
#endif
