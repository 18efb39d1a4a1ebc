// The one dispatch table: (OpId, DeviceType) -> kernel. The ids and signatures come from one
// list (Note [The kernel list] in tensor/kernels.h); each backend fills its column from one
// explicit registration function (tensor/cpu/register.cpp, cuda/register.cpp); there is no
// static self-registration. Looking up a missing entry throws "`<op>` has no <DEVICE>
// implementation", naming the user-facing op (`gelu`), not only its kernel family (`unary`).
#pragma once
#include <string_view>

#include "tensor/device.h"
#include "tensor/kernels.h"

namespace marrow {

enum class OpId {
#define MARROW_OPID_ENUM(name, Signature) name,
    MARROW_FORALL_KERNELS(MARROW_OPID_ENUM)
#undef MARROW_OPID_ENUM
        count
};

std::string_view op_name(OpId op);

// The signature of each kernel, from the list: KernelSignature<OpId::gemm> is GemmKernel.
template <OpId Op>
struct KernelTraits;
#define MARROW_KERNEL_TRAITS(name, Signature) \
    template <>                               \
    struct KernelTraits<OpId::name> {         \
        using type = Signature;               \
    };
MARROW_FORALL_KERNELS(MARROW_KERNEL_TRAITS)
#undef MARROW_KERNEL_TRAITS
template <OpId Op>
using KernelSignature = typename KernelTraits<Op>::type;

using AnyKernel = void (*)();
void register_any_kernel(OpId op, DeviceType device, AnyKernel fn);
// Throws "`<what>` has no <DEVICE> implementation" (what: the op's name, or the kernel's).
AnyKernel find_kernel(OpId op, DeviceType device, std::string_view what);

// The op whose kernel this thread looked up last: CUDA error messages name it, since CUDA
// reports a failing kernel at a later call. `what` must outlive the thread's next lookup
// (string literals and the *_name() functions' results do).
std::string_view current_op();
void set_current_op(std::string_view what);

// Typed lookup: `kernel<OpId::unary>(x.device(), unary_name(op))(op, params, x, out)`.
// `what` names the user-facing op in errors; by default the kernel's name.
template <OpId Op>
KernelSignature<Op>* kernel(Device device, std::string_view what = op_name(Op)) {
    set_current_op(what);
    return reinterpret_cast<KernelSignature<Op>*>(find_kernel(Op, device.type, what));
}
template <OpId Op>
void register_kernel(DeviceType device, KernelSignature<Op>* fn) {
    register_any_kernel(Op, device, reinterpret_cast<AnyKernel>(fn));
}

// Backend registration functions, called once by the table on first use. The CUDA one is
// defined by cuda/register.cpp when the build has a CUDA backend (nvcc or the SIMT
// simulator) and by cuda/no_cuda.cpp (registers nothing) otherwise.
void register_cpu_kernels();
void register_cuda_kernels();
// Runs the registrations if they have not run yet (allocators are set there too).
void ensure_backends();

}  // namespace marrow
