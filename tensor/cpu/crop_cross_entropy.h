// The readable reference loops of the CPU soft cross-entropy kernels
// (tensor/cpu/crop_cross_entropy.cpp), with the kernels' signatures (tensor/kernels.h), so
// tests can check the vectorized float32 path against them. The registered kernels are
// cpu::soft_cross_entropy and cpu::soft_cross_entropy_backward.
#pragma once
#include "tensor/kernels.h"

namespace marrow::cpu {

SoftCrossEntropyKernel soft_cross_entropy_reference;
SoftCrossEntropyBackwardKernel soft_cross_entropy_backward_reference;

}  // namespace marrow::cpu
