// The tensor-core tile op every CUDA kernel uses (ARCHITECTURE.md: tensor-core instructions
// sit behind small device functions): one warp computes
//   D (16 x 8, f32) = A (16 x 16) @ B (16 x 8) + C (16 x 8, f32),   A, B bf16 or f16,
// PTX `mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32` (sm_80 and later) for
// nvcc, and a lane-exact emulation on the SIMT simulator: the same fragments in the same lanes
// give the same D, so a kernel's fragment bookkeeping is tested without a GPU.
//
// Fragments (PTX ISA, "Matrix fragments for mma.m16n8k16 with floating point type"): lane
// = 4 g + t (g = lane / 4 in 0..7, t = lane % 4). A 32-bit register packs two 16-bit values,
// the lower column (A) or row (B) in the low half:
//   a[0] = A[g][2t, 2t+1]      a[1] = A[g+8][2t, 2t+1]
//   a[2] = A[g][2t+8, 2t+9]    a[3] = A[g+8][2t+8, 2t+9]
//   b[0] = B[2t, 2t+1][g]      b[1] = B[2t+8, 2t+9][g]
//   c[0], c[1] = C[g][2t, 2t+1]          c[2], c[3] = C[g+8][2t, 2t+1]   (d likewise)
// so a row-major A tile and a column-major B tile (B^T row-major: n rows of k) in shared
// memory give every register as one aligned 32-bit load (load_pair).
//
// Arithmetic: the products of bf16/f16 values are exact in float; the emulation sums the 16
// products and c in double and rounds once to float. Tensor cores add in float with their own
// alignment and truncation (Fasi et al., "Numerical behavior of NVIDIA tensor cores", 2021),
// so GPU and simulator may differ in the last bits of a sum (tolerance, never layout).
// Every lane of the warp must execute the call together (mma.sync.aligned; the simulator
// reports a partial warp as an error).
#pragma once
#include <cstdint>
#include <cstring>

#include "tensor/dtype.h"
#include "tensor/kernels.h"

#include "cuda/launch.h"

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error "cuda/kernels/mma.h needs sm_80 or later (mma.sync m16n8k16 with bf16)"
#endif

namespace marrow::cuda {

// The 16-bit operand bits of v in precision P (bf16 or f16), rounded to nearest even.
template <GemmPrecision P>
__device__ inline uint16_t operand_bits(float v) {
    static_assert(P != GemmPrecision::full, "tensor-core operands are bf16 or f16");
    if constexpr (P == GemmPrecision::bf16)
        return BFloat16(v).bits;
    else
        return Half::from_float(v);
}

template <GemmPrecision P>
__device__ inline float operand_value(uint16_t bits) {
    if constexpr (P == GemmPrecision::bf16)
        return std::bit_cast<float>(uint32_t(bits) << 16);
    else
        return Half::to_float(bits);
}

// The register holding p[0] (low half) and p[1]; p 4-byte aligned.
__device__ inline uint32_t load_pair(const uint16_t* p) {
#if defined(MARROW_CUDA_SIM)
    uint32_t r;
    std::memcpy(&r, p, sizeof r);
    return r;
#else
    return *reinterpret_cast<const uint32_t*>(p);
#endif
}

#if defined(MARROW_CUDA_SIM)
namespace mma_sim {

struct Lane {
    const uint32_t* a;
    const uint32_t* b;
    const float* c;
    float d[4];
};

template <GemmPrecision P>
float half_of(uint32_t reg, int hi) {
    return operand_value<P>(uint16_t(hi ? reg >> 16 : reg & 0xffffu));
}

// Gathers A, B, C from the 32 lanes' fragments, multiplies, scatters D (layout above).
template <GemmPrecision P>
void m16n8k16(void* const lanes[32]) {
    float A[16][16], B[16][8], C[16][8];
    for (int lane = 0; lane < 32; ++lane) {
        const Lane& l = *static_cast<const Lane*>(lanes[lane]);
        int g = lane / 4, t = lane % 4;
        for (int h = 0; h < 2; ++h) {
            A[g][2 * t + h] = half_of<P>(l.a[0], h);
            A[g + 8][2 * t + h] = half_of<P>(l.a[1], h);
            A[g][2 * t + 8 + h] = half_of<P>(l.a[2], h);
            A[g + 8][2 * t + 8 + h] = half_of<P>(l.a[3], h);
            B[2 * t + h][g] = half_of<P>(l.b[0], h);
            B[2 * t + 8 + h][g] = half_of<P>(l.b[1], h);
            C[g][2 * t + h] = l.c[h];
            C[g + 8][2 * t + h] = l.c[2 + h];
        }
    }
    for (int lane = 0; lane < 32; ++lane) {
        Lane& l = *static_cast<Lane*>(lanes[lane]);
        int g = lane / 4, t = lane % 4;
        for (int i = 0; i < 4; ++i) {
            int row = g + 8 * (i / 2), col = 2 * t + i % 2;
            double sum = C[row][col];
            for (int k = 0; k < 16; ++k) sum += double(A[row][k]) * double(B[k][col]);
            l.d[i] = float(sum);
        }
    }
}

}  // namespace mma_sim
#endif

// d = A @ B + c for the warp (fragments above); d may alias c.
template <GemmPrecision P>
__device__ inline void mma_16816(float d[4], const uint32_t a[4], const uint32_t b[2],
                                 const float c[4]) {
    static_assert(P != GemmPrecision::full, "tensor-core operands are bf16 or f16");
#if defined(MARROW_CUDA_SIM)
    mma_sim::Lane lane{a, b, c, {}};
    ::marrow::sim::warp_collective(&lane, &mma_sim::m16n8k16<P>, __FILE__, __LINE__);
    for (int i = 0; i < 4; ++i) d[i] = lane.d[i];
#else
    if constexpr (P == GemmPrecision::bf16)
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
            "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
            : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]),
              "f"(c[1]), "f"(c[2]), "f"(c[3]));
    else
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
            "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
            : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]),
              "f"(c[1]), "f"(c[2]), "f"(c[3]));
#endif
}

}  // namespace marrow::cuda
