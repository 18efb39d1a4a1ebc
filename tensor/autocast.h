// The autocast state (thread-local): which low-precision format, if any, the GEMM family
// (mm, bmm, addmm, matmul, linear) and conv2d round their float32 operands to. Users set it
// with autograd::AutocastGuard (autograd/autocast.h); the raw entry points read it here, so
// every caller of the GEMM entry point gets it.
//
// Note [Mixed precision]
// "Compute in bf16, store in fp32": inside an autocast scope a float32 GEMM rounds both
// operands to bf16 (or f16), nearest even as PyTorch's .bfloat16(), multiplies them exactly
// (a bf16 x bf16 product fits in a float) and accumulates in float32. Inputs and outputs
// stay float32 tensors, so nothing else in the framework changes; unlike PyTorch's autocast
// the activations saved for backward are therefore float32, not bf16 (memory is not halved):
// marrow's f16/bf16 are storage formats without arithmetic, and a bf16 activation would need
// every elementwise op in both precisions. A node recorded under autocast keeps its
// precision for its backward GEMMs (captured at record time, as PyTorch's autocast records
// bf16 ops), whether or not backward runs inside the scope. float64 operands are never
// rounded (gradcheck), nor are norms, softmax, losses and reductions (float32 as always).
// scaled_dot_product_attention is a lower-precision op too (as in PyTorch's autocast): its
// fused kernels round the operands of each of their block products (Q K^T, P V and the
// backward's three) and keep the softmax statistics in float32 (Note [Fused attention],
// tensor/cpu/attention.cpp).
#pragma once
#include <optional>

#include "tensor/dtype.h"
#include "tensor/kernels.h"

namespace marrow {

// The autocast format of this thread: bf16 or f16, nullopt outside any autocast scope.
std::optional<DType> autocast_dtype();
// Sets it (bf16, f16 or nullopt; anything else is an error). AutocastGuard is the RAII form.
void set_autocast_dtype(std::optional<DType> dtype);

// The precision a GEMM on `dtype` operands gets: the explicit one when given (a backward
// replaying its forward's), else this thread's autocast format; always full for non-float32.
GemmPrecision gemm_precision(DType dtype, std::optional<GemmPrecision> explicit_precision = {});
std::string_view gemm_precision_name(GemmPrecision precision);

}  // namespace marrow
