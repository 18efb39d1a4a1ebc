// The tensor-core forward of scaled_dot_product_attention under autocast
// (cuda/kernels/attention_mma.cu), called by attention.cu's forward entry point.
#pragma once
#include "tensor/kernels.h"
#include "tensor/tensor.h"

namespace marrow::cuda {

// float32 operands under a bf16 / f16 precision, E and Ev <= 128.
bool attention_mma_supported(const AttentionParams& p, DType dtype);
// As AttentionKernel (tensor/kernels.h), on tensor cores; needs attention_mma_supported.
void attention_forward_mma(const AttentionParams& p, const Tensor& q, const Tensor& k,
                           const Tensor& v, const Tensor* mask, const Tensor& out,
                           const Tensor& lse);

}  // namespace marrow::cuda
