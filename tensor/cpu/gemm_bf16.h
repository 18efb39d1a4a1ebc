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

// ---- The AVX-512 BF16 micro-kernel for other kernels' block products (the fused attention,
// tensor/cpu/attention_products.h): operands packed once and reused, products serial on the
// calling thread. Only where gemm_bf16_native() holds.
// Packed layout: `lines` lines (rows of an A operand, columns of a B operand) in slivers of
// `width` lines (kBf16MR for A, kBf16NR for B), sliver s at dst + s * width * ceil(K / 2);
// inside it word p * width + x holds bf16(src(2p, x)) | bf16(src(2p + 1, x)) << 16 (zero past
// K and past the last line), src(k, x) = src[k * sk + x * sx]. Rounding: vcvtneps2bf16
// (nearest even, denormals to zero).
constexpr int64_t kBf16MR = 12, kBf16NR = 32;
int64_t bf16_packed_words(int64_t lines, int64_t K, int64_t width);
void bf16_pack(const float* src, int64_t sk, int64_t sx, int64_t K, int64_t lines, int64_t width,
               uint32_t* dst);
// c (M x N, row stride ldc) = alpha * A B + beta * c over `pairs` k pairs: A's slivers at a,
// a + a_ld, ... (a_ld: words between slivers, kBf16MR * ceil(K / 2) of its packing; a may
// point at a pair offset inside a sliver, as b), B's at b, b + b_ld, ... beta == 0 ignores c.
void bf16_gemm_packed(int64_t M, int64_t N, int64_t pairs, const uint32_t* a, int64_t a_ld,
                      const uint32_t* b, int64_t b_ld, float* c, int64_t ldc, float alpha,
                      float beta);
// dst[j] = round(src[j * stride]) to bf16 / f16 values (nearest even), j < n; the fallback's
// rounding, for kernels that round their own operands.
void round_to_precision(const float* src, int64_t stride, int64_t n, float* dst,
                        GemmPrecision precision);

// Whether bf16 GEMMs run the AVX-512 BF16 micro-kernel: the processor has it (and
// MARROW_CPU_ISA does not ask for less) and no test switched it off.
bool gemm_bf16_native();
// Test hook: false sends bf16 GEMMs to the rounding fallback (process-wide).
void set_gemm_bf16_native_allowed(bool allowed);

}  // namespace marrow::cpu
