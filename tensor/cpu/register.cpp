// The CPU column of the dispatch table: every compute kernel of the list (Note [The kernel
// list] in tensor/kernels.h).
#include "tensor/cpu/cpu_kernels.h"
#include "tensor/dispatch.h"

namespace marrow {

void register_cpu_kernels() {
#define MARROW_REGISTER_CPU(name, Signature) register_kernel<OpId::name>(DeviceType::cpu, cpu::name);
    MARROW_FORALL_COMPUTE_KERNELS(MARROW_REGISTER_CPU)
#undef MARROW_REGISTER_CPU
}

}  // namespace marrow
