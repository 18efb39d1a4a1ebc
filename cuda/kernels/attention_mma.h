// The tensor-core forward and backward of scaled_dot_product_attention under autocast
// (cuda/kernels/attention_mma.cu), called by attention.cu's entry points.
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

// Backward on tensor cores (float32 under bf16 / f16, E and Ev <= 64), from D = rowsum(dO o
// out) (d, (batch, L) float32); outputs as AttentionBackwardKernel's.
bool attention_mma_backward_supported(const AttentionParams& p, DType dtype);
void attention_backward_mma(const AttentionParams& p, const Tensor& q, const Tensor& k,
                            const Tensor& v, const Tensor* mask, const Tensor& lse, const Tensor& d,
                            const Tensor& g, const Tensor* dq, const Tensor* dk, const Tensor* dv,
                            const Tensor* dmask);

}  // namespace marrow::cuda
