// The readable reference loops of the CPU batch_norm kernels (tensor/cpu/norm.cpp), with the
// kernels' signatures (tensor/kernels.h), so tests can check the vectorized float32 path
// against them. The registered kernels are cpu::batch_norm and cpu::batch_norm_backward.
#pragma once
#include "tensor/kernels.h"

namespace marrow::cpu {

BatchNormKernel batch_norm_reference;
BatchNormBackwardKernel batch_norm_backward_reference;

}  // namespace marrow::cpu
