// The readable reference loops of the CPU layer_norm kernels (tensor/cpu/layer_norm.cpp), with
// the kernels' signatures (tensor/kernels.h), so tests can check the vectorized path against
// them. The registered kernels are cpu::layer_norm and cpu::layer_norm_backward.
#pragma once
#include "tensor/kernels.h"

namespace marrow::cpu {

LayerNormKernel layer_norm_reference;
LayerNormBackwardKernel layer_norm_backward_reference;

}  // namespace marrow::cpu
