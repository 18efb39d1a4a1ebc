// The x86 vector ISA the CPU kernels use: the best the processor supports, or lower when the
// environment asks (MARROW_CPU_ISA=avx2 or base), so every code path can be tested and
// benchmarked on one machine. Read once per process.
#pragma once

namespace marrow::cpu {

enum class Isa { base, avx2, avx512 };  // baseline x86-64 (SSE2), AVX2 + FMA, AVX-512 (F/DQ/VL/BW)
Isa cpu_isa();
const char* isa_name(Isa isa);
// AVX-512 BF16 (vcvtne2ps2bf16, vdpbf16ps) on top of cpu_isa() == avx512: the bf16 GEMM
// micro-kernel (tensor/cpu/gemm_bf16.cpp). False when MARROW_CPU_ISA asks for less.
bool cpu_has_avx512_bf16();

// The copy of a kernel for cpu_isa().
template <typename F>
F for_isa(F avx512, F avx2, F base) {
    switch (cpu_isa()) {
        case Isa::avx512:
            return avx512;
        case Isa::avx2:
            return avx2;
        case Isa::base:
            break;
    }
    return base;
}

// Target attributes for the per-ISA copies of a kernel. The AVX-512 copy asks for 512-bit
// vectors in loops the compiler vectorizes: g++ spells it prefer-vector-width=512 inside
// target(), clang rejects that (and would drop the attribute, compiling the copy as baseline
// x86-64) and has min_vector_width instead.
#define MARROW_TARGET_AVX2 [[gnu::target("avx2,fma")]]
#if defined(__clang__)
#define MARROW_TARGET_AVX512 \
    [[gnu::target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"), clang::min_vector_width(512)]]
#else
#define MARROW_TARGET_AVX512 \
    [[gnu::target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,prefer-vector-width=512")]]
#endif
#if defined(__clang__)
#define MARROW_TARGET_AVX512_BF16                                                  \
    [[gnu::target("avx512f,avx512dq,avx512vl,avx512bw,avx512bf16,avx2,fma,f16c"), \
      clang::min_vector_width(512)]]
#else
#define MARROW_TARGET_AVX512_BF16 \
    [[gnu::target("avx512f,avx512dq,avx512vl,avx512bw,avx512bf16,avx2,fma,f16c")]]
#endif

}  // namespace marrow::cpu
