// Declarations of the CPU kernels, generated from the kernel list (Note [The kernel list] in
// tensor/kernels.h, which also gives each signature); registered in tensor/cpu/register.cpp.
#pragma once
#include "tensor/kernels.h"

namespace marrow::cpu {

MARROW_DECLARE_KERNELS(COMPUTE)

}  // namespace marrow::cpu
