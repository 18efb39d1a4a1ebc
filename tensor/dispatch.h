// The one dispatch table: (OpId, DeviceType) -> kernel. Each backend fills its column from one
// explicit registration function (tensor/cpu/register.cpp, cuda/register.cu); there is no
// static self-registration. Looking up a missing entry throws "`<op>` has no <DEVICE>
// implementation". Kernel signatures are in tensor/kernels.h.
#pragma once
#include <string_view>

#include "tensor/device.h"

namespace marrow {

// clang-format off
#define MARROW_FORALL_KERNELS(X)                                                          \
    X(copy) X(fill) X(unary) X(unary_backward) X(binary) X(where) X(reduce) X(gemm)       \
    X(softmax) X(softmax_backward) X(cumsum) X(index_select) X(index_add) X(gather)        \
    X(scatter_add) X(sort) X(random) X(transfer) X(synchronize)
// clang-format on

enum class OpId {
#define MARROW_OPID_ENUM(name) name,
    MARROW_FORALL_KERNELS(MARROW_OPID_ENUM)
#undef MARROW_OPID_ENUM
        count
};

std::string_view op_name(OpId op);

using AnyKernel = void (*)();
void register_kernel(OpId op, DeviceType device, AnyKernel fn);
AnyKernel find_kernel(OpId op, DeviceType device);

// The op whose kernel this thread looked up last: CUDA error messages name it, since CUDA
// reports a failing kernel at a later call.
std::string_view current_op();
void set_current_op(OpId op);

// Typed lookup: `kernel<UnaryKernel>(OpId::unary, x.device())(...)`.
template <typename Fn>
Fn kernel(OpId op, Device device) {
    set_current_op(op);
    return reinterpret_cast<Fn>(find_kernel(op, device.type));
}
template <typename Fn>
void register_kernel(OpId op, DeviceType device, Fn fn) {
    register_kernel(op, device, reinterpret_cast<AnyKernel>(fn));
}

// Backend registration functions, called once by the table on first use. The CUDA one is
// defined by cuda/register.cpp when the build has a CUDA backend (nvcc or the SIMT
// simulator) and by cuda/no_cuda.cpp (registers nothing) otherwise.
void register_cpu_kernels();
void register_cuda_kernels();
// Runs the registrations if they have not run yet (allocators are set there too).
void ensure_backends();

}  // namespace marrow
