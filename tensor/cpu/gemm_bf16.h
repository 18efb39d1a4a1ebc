// The CPU GEMM with bf16 / f16 operands and float32 accumulation (autocast's GEMM, Note
// [Mixed precision] in tensor/autocast.h), tensor/cpu/gemm_bf16.cpp. cpu::gemm calls it for
// float32 tensors when the precision is not `full`.
#pragma once
#include "tensor/kernels.h"

namespace marrow::cpu {

// c = alpha * round(a) @ round(b) + beta * c, a: (B, M, K), b: (B, K, N) float32 with any
// strides, c: (B, M, N) contiguous; round() to bf16 or f16, nearest even. bf16 runs the
// AVX-512 BF16 micro-kernel (vdpbf16ps) where the processor has it, otherwise, and for f16,
// the float32 GEMM on operands rounded to bf16 / f16 values (the same products; sums in
// another order).
void gemm_low_precision(const Tensor& a, const Tensor& b, const Tensor& c, double alpha,
                        double beta, GemmPrecision precision);

// Whether bf16 GEMMs run the AVX-512 BF16 micro-kernel: the processor has it (and
// MARROW_CPU_ISA does not ask for less) and no test switched it off.
bool gemm_bf16_native();
// Test hook: false sends bf16 GEMMs to the rounding fallback (process-wide).
void set_gemm_bf16_native_allowed(bool allowed);

}  // namespace marrow::cpu
