// The readable reference loops of the CPU Sinkhorn-Knopp kernel (tensor/cpu/sinkhorn.cpp), with
// the kernel's signature (tensor/kernels.h), so tests can check the production path against
// them. The registered kernel is cpu::sinkhorn.
#pragma once
#include "tensor/kernels.h"

namespace marrow::cpu {

SinkhornKernel sinkhorn_reference;

}  // namespace marrow::cpu
