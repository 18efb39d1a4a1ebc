// Contrastive-loss entry points (no autograd): SimCLR's NT-Xent and DINOv2's KoLeo, each one
// fused kernel per direction (tensor/cpu/contrastive.cpp, cuda/kernels/contrastive.cu). Layers
// and losses call the differentiable marrow::nt_xent / marrow::koleo_loss
// (autograd/functions/contrastive.cpp) instead (Note [Raw entry points], tensor.h).
#pragma once
#include "tensor/tensor.h"

namespace marrow::op {

// The NT-Xent loss (0-d, the mean over the 2N anchors) and lse (2N,), each row's log-sum-exp
// over j != i of S = zn zn^T / temperature, which nt_xent_backward reads. z: (2N, d).
struct NtXentForward {
    Tensor loss, lse;
};
NtXentForward nt_xent(const Tensor& z, double temperature);
// dL/dz from z, the forward's lse and g = dL/dloss (0-d, any value).
Tensor nt_xent_backward(const Tensor& z, const Tensor& lse, const Tensor& g, double temperature);

// The KoLeo loss (0-d) and nn (B,) int64, each row's nearest neighbour, which
// koleo_loss_backward reads. x: (B, D), B >= 2.
struct KoleoForward {
    Tensor loss, nn;
};
KoleoForward koleo_loss(const Tensor& x, double eps);
Tensor koleo_loss_backward(const Tensor& x, const Tensor& nn, const Tensor& g, double eps);

}  // namespace marrow::op
